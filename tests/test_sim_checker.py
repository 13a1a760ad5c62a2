"""The checker against brute force: served distribution, dangling set, integrals, convergence."""

from __future__ import annotations

import importlib
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsrace._types import FlipCounts
from dnsrace.checker import Checker, convergence_summary, percentile
from dnsrace.sim.backend import Backend, backend
from dnsrace.sim.observed import ObservedStore


def _backends() -> list[Any]:
    params: list[Any] = [pytest.param("reference", id="reference")]
    try:
        importlib.import_module("dnsrace._core")
        params.append(pytest.param("rust", id="rust"))
    except ImportError:
        params.append(pytest.param("rust", marks=pytest.mark.skip(reason="_core not built")))
    return params


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert convergence_summary([2.0, 1.0, 4.0]) == {"p50": 2.0, "p99": 4.0, "max": 4.0}
    assert convergence_summary([]) == {"p50": None, "p99": None, "max": None}


def test_integrals_and_convergence_by_hand() -> None:
    c = Checker(4, regional_name="r.example", current_window_s=5.0)
    c.start(0.0, 1)
    c.on_publish(10.0, 2)
    # t=12: endpoints 0 and 1 move to 2 (lww, all applied).
    c.on_flip(12.0, "A", 2, [0, 1], [1, 1], FlipCounts(2, 0, 0, 0), "lww")
    # t=20: endpoint 0 goes back to 1 (a stale flip), then its tree 1 is deleted at t=22.
    c.on_flip(20.0, "B", 1, [0], [2], FlipCounts(1, 0, 0, 0), "lww")
    c.on_dangling(22.0, [0], [1])
    # t=30: 2 and 3 move to 2 with if_newer; 0 is stuck, so gen 2 has not converged.
    c.on_flip(30.0, "C", 2, [2, 3], [1, 1], FlipCounts(2, 0, 0, 0), "if_newer")
    assert 2 not in c.converged_after
    # t=40: the operator repairs endpoint 0 (dangling, healed) to 2: converged after 30 s.
    c.on_flip(40.0, "operator", 2, [0], [1], FlipCounts(1, 0, 0, 0), "lww", [2], {0}, enactor=False)
    assert c.converged_after[2] == 30.0
    r = c.result(50.0, {"stale_flips": 1, "empty_answers": 0, "lease_conflicts": 0})
    assert r["empty_endpoint_seconds"] == pytest.approx(18.0)  # endpoint 0, t=22..40
    assert r["stuck_endpoint_seconds"] == pytest.approx(18.0)
    assert r["stuck_endpoints"] == 1 and r["stuck_at_end"] == 0
    assert r["stale_flips_observed"] == 1
    assert r["useful_flips"] == 5  # 0,1 at 12; 2,3 at 30; the repair of 0 at 40
    assert r["flip_attempts"] == 5  # the operator's flip is not an enactor's attempt
    assert r["wasted_writes"] == 0
    assert r["converged"] and r["convergence_s"]["max"] == 30.0
    assert r["regional"]["empty_seconds"] == pytest.approx(18.0)
    assert r["regional"]["stuck"] and r["regional"]["stale_flips"] == 1
    assert r["regional"]["final_generation"] == 2
    # Correct time: "current" means >= gen 2 from t=15 (published 10 + window 5).
    # Before 15 all 4 endpoints are correct (>= 1): 15 * 4 = 60. From 15 to 50:
    # endpoints 1 (from 15), 0 (15..20 and 40..50), 2 and 3 (30..50).
    expected = 60 + (50 - 15) + (5 + 10) + 2 * 20
    assert r["correct_time_fraction"] == pytest.approx(expected / (4 * 50))
    outcomes = [f.outcome for f in c.timeline.flips]
    assert outcomes == ["advanced", "stale", "repair"]
    assert [(w.start, w.end) for w in c.timeline.stuck] == [(22.0, 40.0)]


def _brute_served(store: Any) -> Counter[int]:
    aliases = store.aliases()
    dangling = set(store.dangling_aliases())
    served = Counter(0 if (a is None or i in dangling) else a for i, a in enumerate(aliases))
    return +served


OPS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "flip", "flip", "delete", "publish", "repair"]),
        st.integers(0, 2**32),
        st.floats(0.0, 5.0),
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("store_name", _backends())
@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_checker_matches_brute_force(store_name: str, ops: list[tuple[str, int, float]]) -> None:
    """After any sequence of writes, the checker's bookkeeping equals a full scan."""
    n = 12
    now = [0.0]
    checker = Checker(n, regional_name="e0.example", current_window_s=1.0)
    be: Backend = backend(store_name)
    store = ObservedStore(be, checker, lambda: now[0])
    ids = store.add_endpoints([f"e{i}.example" for i in range(n)])
    sets = [[("10.0.0.1", 1)], [("10.0.0.2", 2), ("fd00::1", 3)], [("10.0.0.3", 4)]]

    def publish(gen: int, rng: random.Random) -> None:
        index = [rng.randrange(len(sets)) for _ in ids]
        store.put_plan(store.build_plan(gen, sets, ids, index))

    rng0 = random.Random(0)
    publish(1, rng0)
    store.raw.flip_many(None, 1, "lww")
    checker.start(0.0, 1)
    gens = [1]
    empty_integral = 0.0
    for op, seed, dt in ops:
        rng = random.Random(seed)
        empty_integral += _brute_served(store.raw)[0] * dt
        now[0] += dt
        if op == "publish":
            gens.append(gens[-1] + 1)
            publish(gens[-1], rng)
            checker.on_publish(now[0], gens[-1])
        elif op == "flip":
            live = store.raw.plan_generations()
            if not live:
                continue
            gen = rng.choice(live + gens)
            chosen = sorted(rng.sample(ids, rng.randint(1, n)))
            # Enactors never touch dangling endpoints; the operator does (below).
            dangling = set(store.raw.dangling_aliases(chosen))
            chosen = [e for e in chosen if e not in dangling]
            if chosen:
                store.flip_many(chosen, gen, rng.choice(["lww", "if_newer"]), actor="A")
        elif op == "delete":
            doomed = rng.sample(gens, rng.randint(1, len(gens)))
            store.delete_plans(doomed, safe=rng.random() < 0.5)
        else:  # repair
            stuck = sorted(store.raw.dangling_aliases())
            live = store.raw.plan_generations()
            if stuck and live:
                store.flip_many(stuck, max(live), "lww", actor="operator", enactor=False)
        checker.advance(now[0])
        assert +checker.served == _brute_served(store.raw)
        assert checker.dangling == set(store.raw.dangling_aliases())
        assert checker.stale_flips_observed == store.raw.stats()["stale_flips"]
        assert checker.empty_endpoint_s == pytest.approx(empty_integral)
        lowest = min(_brute_served(store.raw))
        for gen in gens[1:]:
            if lowest >= gen:
                assert gen in checker.converged_after
