"""Which store implementation a run uses: the Rust core or the pure-Python reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["STORES", "Backend", "BackendError", "backend"]

StoreName = Literal["rust", "reference"]
STORES: tuple[str, ...] = ("rust", "reference")


class BackendError(RuntimeError):
    """The requested store cannot be loaded."""


@dataclass(frozen=True)
class Backend:
    """A store factory and the ``Plan`` class that goes with it (plans are not interchangeable)."""

    name: str
    new_store: Callable[[], Any]
    plan_cls: Any


def backend(name: str) -> Backend:
    """``rust`` (``dnsrace.RecordStore``) or ``reference`` (``dnsrace.reference.PyRecordStore``)."""
    if name == "rust":
        try:
            from dnsrace import _core
        except ImportError as exc:
            raise BackendError(
                f"the Rust store is not built ({exc}); run `make build` or use --store reference"
            ) from None
        return Backend("rust", _core.RecordStore, _core.Plan)
    if name == "reference":
        from dnsrace import reference

        return Backend("reference", reference.PyRecordStore, reference.Plan)
    raise BackendError(f"unknown store {name!r} (one of {', '.join(STORES)})")
