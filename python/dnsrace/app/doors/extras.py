"""Optional parts: a command that needs one that is not installed says which extra to install
(one line, exit status 2), before it does any work."""

from __future__ import annotations

import importlib

from dnsrace.app.doors.inputs import InputError

__all__ = ["EXTRAS", "MissingExtra", "require"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "etcd": ("grpc", "aetcd"),
    "numpy": ("numpy",),
    "plot": ("matplotlib",),
    # The simulator and its CLI (pyproject.toml's sim extra).
    "sim": ("uvloop", "rich", "orjson", "pydantic"),
    # Campaigns on a Ray cluster (pyproject.toml's cluster extra; explore --executor ray).
    "cluster": ("ray",),
}
"""The modules each extra of pyproject.toml provides."""


class MissingExtra(InputError):
    """An optional part that is not installed; the message names the extra."""


def require(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Import the modules of ``extra`` (or the ``modules`` of it that are needed) or raise
    :class:`MissingExtra` naming the extra (``what`` says which command or option needs it)."""
    for module in EXTRAS[extra] if modules is None else modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(
                f"{what} needs the '{extra}' extra ({module} is not installed): "
                f"pip install 'dnsrace[{extra}]'"
            ) from None
