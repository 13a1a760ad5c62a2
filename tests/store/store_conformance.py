"""The conformance suite's shared cases: the same tests run against the Rust store, the Python
reference and the etcd store (``dnsrace.backends.Store``), in the ``test_conformance_*`` files.

Written from the contract (``dnsrace/_core.pyi`` and the design brief), not from either
implementation. ``any_store`` (see tests/conftest.py) is a (store factory, Plan class, name)
triple; a test that makes a store runs on all three stores, one that only builds plans on the
two plan classes. Where the etcd store differs by design, ``ETCD_BY_DESIGN`` in tests/conftest.py
says so, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dnsrace import UnknownEndpoint

MAX = 2**63 - 1
NAMES = ["a.example", "b.example", "c.example"]
T1 = [("10.0.0.1", 10), ("10.0.0.2", 20)]
T2 = [("10.0.1.1", 1)]
T3 = [("2001:db8::1", 5), ("192.0.2.1", 7), ("10.9.9.9", 0)]

STATS_KEYS = {
    "endpoints",
    "plans",
    "trees",
    "target_sets",
    "records_live",
    "flips_applied",
    "stale_flips",
    "outdated_rejections",
    "fenced_rejections",
    "missing_rejections",
    "dangling_rejections",
    "empty_answers",
    "dangling_aliases",
    "dangling_rollbacks",
    "lease_conflicts",
    "leases_granted",
}


def new_store(any_store: Any, n: int = 3, gens: tuple[int, ...] = ()) -> Any:
    """A store with ``n`` endpoints and, for each of ``gens``, a plan giving every endpoint T1."""
    store = any_store.Store()
    store.add_endpoints(NAMES[:n])
    for g in gens:
        store.put_plan(any_store.Plan(g, dict.fromkeys(NAMES[:n], T1)))
    return store


def stats_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def assert_stats(store: Any, **expected: int) -> None:
    """The store's counters named in ``expected`` have those values (the others are not read)."""
    stats = store.stats()
    named = {k: stats[k] for k in expected}
    assert named == expected, named


def assert_unknown_endpoints_refused(call: Callable[[object], object]) -> None:
    """``call(endpoint)`` raises UnknownEndpoint for an id past the last (3 of 3 endpoints) and
    for a valid name that was never added."""
    for unknown in (3, "zz.example"):
        with pytest.raises(UnknownEndpoint):
            call(unknown)
