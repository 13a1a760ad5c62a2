"""dnsrace: reproduce, measure and prevent the planner/enactor DNS race of October 2025.

``RecordStore`` and ``Plan`` come from the Rust core (``dnsrace._core``); ``PyRecordStore``
(``dnsrace.reference``) is the pure-Python oracle with the same API and semantics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dnsrace._types import (
    NONE,
    DeleteResult,
    EndpointState,
    FlipCounts,
    FlipResult,
    Outcome,
    StoreStats,
)
from dnsrace.errors import (
    DanglingAlias,
    DnsraceError,
    InternalError,
    InvalidAddress,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    InvalidToken,
    InvalidWeight,
    LeaseError,
    LeaseHeld,
    LeaseLost,
    OutOfMemory,
    SnapshotError,
    TooLarge,
    UnknownEndpoint,
    UnknownPlan,
)

if TYPE_CHECKING:
    from dnsrace._core import Plan, RecordStore

__version__ = "0.1.0"

__all__ = [
    "NONE",
    "DanglingAlias",
    "DeleteResult",
    "DnsraceError",
    "EndpointState",
    "FlipCounts",
    "FlipResult",
    "InternalError",
    "InvalidAddress",
    "InvalidArgument",
    "InvalidGeneration",
    "InvalidName",
    "InvalidToken",
    "InvalidWeight",
    "LeaseError",
    "LeaseHeld",
    "LeaseLost",
    "OutOfMemory",
    "Outcome",
    "Plan",
    "RecordStore",
    "SnapshotError",
    "StoreStats",
    "TooLarge",
    "UnknownEndpoint",
    "UnknownPlan",
]


def __getattr__(name: str) -> Any:
    # The native classes load on first use, so the pure-Python parts (reference store,
    # scenario parsing) import even where the extension has not been built.
    if name in ("RecordStore", "Plan"):
        from dnsrace import _core

        return getattr(_core, name)
    raise AttributeError(f"module 'dnsrace' has no attribute {name!r}")
