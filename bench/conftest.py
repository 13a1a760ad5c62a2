"""Fixtures of the benchmark suite: one large store per implementation, built once per session.

Size: ``DNSRACE_BENCH_ENDPOINTS`` endpoints (default 500,000) with 4 targets each.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import pytest

import dnsrace
from dnsrace.reference import Plan as RefPlan
from dnsrace.reference import PyRecordStore
from dnsrace.sim.workload import build_store

ENDPOINTS = int(os.environ.get("DNSRACE_BENCH_ENDPOINTS", "500000"))
IMPLS = {"rust": (dnsrace.RecordStore, dnsrace.Plan), "py": (PyRecordStore, RefPlan)}


class BenchStore(NamedTuple):
    name: str
    store: Any
    plan_cls: Any
    ids: list[int]


@pytest.fixture(scope="session", params=list(IMPLS))
def impl(request: pytest.FixtureRequest) -> BenchStore:
    """A store of each implementation with plans 1 and 2 stored (none flipped)."""
    store_cls, plan_cls = IMPLS[request.param]
    store, ids = build_store(store_cls, plan_cls, ENDPOINTS, 2)
    return BenchStore(request.param, store, plan_cls, ids)
