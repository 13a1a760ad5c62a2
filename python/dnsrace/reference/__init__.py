"""Pure-Python reference store: the oracle of the differential tests and the benchmark baseline.

``PyRecordStore`` and ``Plan`` implement exactly the API and semantics of the Rust classes
``dnsrace.RecordStore`` and ``dnsrace.Plan`` (see ``dnsrace/_core.pyi``) with plain Python
containers. The argument rules are ``dnsrace._rules`` (shared with the etcd store), the plan is
``dnsrace._plan``; here: the store's state (``_state``), its leases (``_leases``), snapshots
and the rest that is not the store's behaviour (``_persist``), and the front (``store``).

This package does not import ``dnsrace._core``; it works where the extension is not built.
"""

from __future__ import annotations

from dnsrace._plan import Plan
from dnsrace._rules import canonical_address, canonical_name
from dnsrace._types import Answer, Endpoint, Endpoints, Ints, Mode, Output, Target
from dnsrace.reference.store import PyRecordStore

__all__ = [
    "Answer",
    "Endpoint",
    "Endpoints",
    "Ints",
    "Mode",
    "Output",
    "Plan",
    "PyRecordStore",
    "Target",
    "canonical_address",
    "canonical_name",
]
