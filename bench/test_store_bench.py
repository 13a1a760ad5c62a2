"""Micro benchmarks of the record store at production scale, Rust core vs the Python reference.

Each benchmark's group holds both implementations (``[rust]`` and ``[py]``) measured in this
same run; ``python -m bench.benchreport results/bench.json`` prints the ratios.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

import dnsrace
from bench.conftest import ENDPOINTS, BenchStore
from dnsrace.sim.workload import shared_plan

MODES = ["lww", "if_newer", "exact", "fenced"]


def _each_round(ids: Any, call: Callable[[int, int], object]) -> Callable[[], object]:
    """A single call per benchmark round: ``call(round, endpoint)``, the endpoint striding
    over ``ids`` by a prime, so that consecutive rounds are not neighbours."""
    n = len(ids)
    rounds = itertools.count()

    def one() -> object:
        i = next(rounds)
        return call(i, (i * 7919) % n)

    return one


@pytest.mark.parametrize("mode", MODES)
def test_flip_many(benchmark: Any, impl: BenchStore, mode: str) -> None:
    """flip_many over every endpoint. Generations alternate 1, 2, 1, ... so that under
    ``if_newer`` half the calls apply everywhere and half are refused everywhere."""
    store = impl.store
    benchmark.group = f"flip_many[{mode}] x{ENDPOINTS}"
    gens = itertools.cycle([2, 1])
    if mode == "exact":
        # Expected versions are read outside the timed call so every call applies.
        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (None, next(gens), "exact"), {"expected_versions": store.versions()}

        counts = benchmark.pedantic(store.flip_many, setup=setup, rounds=8, iterations=1)
    elif mode == "fenced":
        token = store.acquire_lease(0, "bench", 1e9, 0.0)
        counts = benchmark(lambda: store.flip_many(None, next(gens), "lww", fence=token))
    else:
        counts = benchmark(lambda: store.flip_many(None, next(gens), mode))
    assert sum(counts) == ENDPOINTS


def test_flip_many_baseline_loop(benchmark: Any) -> None:
    """The yardstick: a plain Rust loop doing the same work (tree check, if_newer compare,
    alias/rollback/version update on a 56-byte record per endpoint) over dense arrays, without
    locks, shards or Python argument handling."""
    benchmark.group = f"flip_many[if_newer] x{ENDPOINTS}"
    loop = dnsrace._core._testing.BaselineFlipLoop(ENDPOINTS)
    gens = itertools.cycle([2, 1])
    benchmark(lambda: loop.flip(next(gens)))


def test_flip_single(benchmark: Any, impl: BenchStore) -> None:
    """One flip by id from Python: the per-call cost a simulation pays."""
    store = impl.store
    benchmark.group = "flip single (by id)"
    benchmark(_each_round(impl.ids, lambda i, e: store.flip(e, 1 + (i & 1), "lww")))


def test_resolve_many(benchmark: Any, impl: BenchStore) -> None:
    store = impl.store
    benchmark.group = f"resolve_many x{ENDPOINTS}"
    store.flip_many(None, 2, "lww")
    answers = benchmark.pedantic(store.resolve_many, rounds=5, iterations=1)
    assert len(answers) == ENDPOINTS and all(len(a) == 4 for a in answers[:100])


def test_put_plan(benchmark: Any, impl: BenchStore) -> None:
    """put_plan of a fresh generation for every endpoint (64 shared LB groups)."""
    store, plan_cls, ids = impl.store, impl.plan_cls, impl.ids
    benchmark.group = f"put_plan x{ENDPOINTS}"
    gens = itertools.count(100)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        g = next(gens)
        store.delete_plans([g - 1], safe=True)
        return (shared_plan(plan_cls, g, ids),), {}

    benchmark.pedantic(store.put_plan, setup=setup, rounds=4, iterations=1)


def test_lease_acquire(benchmark: Any, impl: BenchStore) -> None:
    store = impl.store
    benchmark.group = "acquire_lease single"
    benchmark(_each_round(impl.ids, lambda i, e: store.acquire_lease(e, "bench", 5.0, float(i))))


def test_lease_renew(benchmark: Any, impl: BenchStore) -> None:
    store = impl.store
    benchmark.group = "renew_lease single"
    # A time far beyond every lease the other benchmarks took, so the endpoint is free.
    start = 1e12
    token = store.acquire_lease(1, "renewer", 5.0, start)
    counter = itertools.count()
    benchmark(lambda: store.renew_lease(1, "renewer", token, 5.0, start + next(counter)))


def test_acquire_leases_batch(benchmark: Any, impl: BenchStore) -> None:
    """acquire_leases over 10,000 endpoints, the size of an enactor batch."""
    store, ids = impl.store, impl.ids
    benchmark.group = "acquire_leases x10000"
    batch = ids[:10_000]
    counter = itertools.count()
    tokens = benchmark(lambda: store.acquire_leases(batch, "batcher", 5.0, float(next(counter))))
    assert len(tokens) == len(batch)
