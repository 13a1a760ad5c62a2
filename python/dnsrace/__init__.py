"""dnsrace: reproduce, measure and prevent the planner/enactor DNS race of October 2025.

``RecordStore`` and ``Plan`` come from the Rust core (``dnsrace._core``); ``PyRecordStore``
(``dnsrace.reference``) is the pure-Python oracle with the same API and semantics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dnsrace import errors
from dnsrace._types import (
    NONE,
    DeleteResult,
    EndpointState,
    FlipCounts,
    FlipResult,
    Outcome,
    StoreStats,
)

# Every error class, as errors.__all__ lists them (one list of the public errors).
from dnsrace.errors import *  # noqa: F403

if TYPE_CHECKING:
    from dnsrace._core import Plan, RecordStore

__version__ = "0.1.0"

__all__ = [
    "NONE",
    "DeleteResult",
    "EndpointState",
    "FlipCounts",
    "FlipResult",
    "Outcome",
    "Plan",
    "RecordStore",
    "StoreStats",
]
__all__ += errors.__all__


def __getattr__(name: str) -> Any:
    # The native classes load on first use, so the pure-Python parts (reference store,
    # scenario parsing) import even where the extension has not been built.
    if name in ("RecordStore", "Plan"):
        from dnsrace import _core

        return getattr(_core, name)
    raise AttributeError(f"module 'dnsrace' has no attribute {name!r}")
