"""The stores a simulation can drive, and the protocol they share.

:class:`Store` (declared once, with its documentation, in ``dnsrace/_api.pyi``) is the
structural type of every call the simulator makes (the planner, the
enactors, the operator, the clients and the checker's observation reads). The embedded stores
implement it: the Rust core (``embedded`` or ``rust``, :class:`dnsrace.RecordStore`, the
default) and the pure-Python reference (``reference``, :class:`dnsrace.reference.PyRecordStore`).
The distributed store, :class:`dnsrace.backends.etcd.EtcdStore` (``etcd://HOST:PORT,...``),
implements the same protocol on an etcd v3 cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from dnsrace._api import Store

__all__ = ["STORES", "Backend", "BackendError", "Store", "backend"]

StoreName = Literal["embedded", "rust", "reference"]
STORES: tuple[str, ...] = ("embedded", "rust", "reference", "etcd://HOST:PORT[,...][/NAMESPACE]")


class BackendError(RuntimeError):
    """The requested store cannot be loaded."""


@dataclass(frozen=True)
class Backend:
    """A store factory and the ``Plan`` class that goes with it (plans are not interchangeable)."""

    name: str
    new_store: Callable[[], Store]
    plan_cls: Any
    #: A store that records a history of this capacity (docs/guide/checker.md); ``None`` for
    #: stores that cannot (only the Rust core records histories).
    new_recording_store: Callable[[int], Store] | None = None


def backend(name: str, *, lease_clock: str = "caller") -> Backend:
    """``embedded``/``rust`` (``dnsrace.RecordStore``), ``reference``
    (``dnsrace.reference.PyRecordStore``) or ``etcd://...`` (an :class:`EtcdStore`; each new
    store empties the URL's namespace first, so every run starts clean).

    A malformed ``etcd://`` URL raises ``InvalidArgument``; an unreachable cluster raises
    ``StoreUnavailable`` when the first store is made.
    """
    if name.startswith("etcd://"):
        from dnsrace.backends.etcd import EtcdStore, LeaseClock, parse_etcd_url
        from dnsrace.reference import Plan

        url = parse_etcd_url(name)
        clock: LeaseClock = "etcd" if lease_clock == "etcd" else "caller"

        def new_store() -> Store:
            return EtcdStore(url, reset=True, lease_clock=clock)

        return Backend(str(url), new_store, Plan)
    if name in ("rust", "embedded"):
        try:
            from dnsrace import _core
        except ImportError as exc:
            raise BackendError(
                f"the Rust store is not built ({exc}); run `make build` or use --store reference"
            ) from None

        def recording(capacity: int) -> Store:
            return _core.RecordStore(history=capacity)

        return Backend("rust", _core.RecordStore, _core.Plan, recording)
    if name == "reference":
        from dnsrace import reference

        return Backend("reference", reference.PyRecordStore, reference.Plan)
    raise BackendError(f"unknown store {name!r} (one of {', '.join(STORES)})")
