"""The metrics collector by hand and against brute force: served distribution, dangling set,
integrals, convergence, goodput and wasted writes, the regional/fleet split, the operator's
hooks."""

from __future__ import annotations

import importlib
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from dnsrace._types import FlipCounts
from dnsrace.backends import Backend, backend
from dnsrace.errors import DanglingAlias
from dnsrace.sim.metrics import Metrics, convergence_summary, percentile
from dnsrace.sim.observer import ObservedStore

STATS = {"stale_flips": 0, "empty_answers": 0, "lease_conflicts": 0}


def published(endpoints: int, window_s: float, at: float) -> Metrics:
    """A collector of ``endpoints`` (endpoint 0, r.example, the regional one) started at 0 on
    plan 1, with plan 2 published at ``at``."""
    c = Metrics(endpoints, regional_name="r.example", current_window_s=window_s)
    c.start(0.0, 1)
    c.on_publish(at, 2)
    return c


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


def test_flip_counts_have_a_dangling_field() -> None:
    assert FlipCounts._fields == ("applied", "outdated", "fenced", "missing", "dangling")
    assert FlipCounts(1, 2, 3, 4).dangling == 0
    assert FlipCounts(1, 2, 3, 4, 5) == (1, 2, 3, 4, 5)


# ------------------------------------------------------------------------------ by hand


def test_integrals_and_convergence_by_hand() -> None:
    c = published(4, 5.0, at=10.0)
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
    c.on_repair(40.0, [0])
    assert c.converged_after[2] == 30.0
    r = c.result(50.0, {**STATS, "stale_flips": 1})
    assert r["empty_endpoint_seconds"] == pytest.approx(18.0)  # endpoint 0, t=22..40
    assert r["stuck_endpoint_seconds"] == pytest.approx(18.0)
    assert r["stuck_endpoints"] == 1 and r["stuck_at_end"] == 0
    assert r["empty_endpoints"] == 1
    assert r["stale_flips_observed"] == 1
    # The operator's repair is neither goodput nor an enactor's attempt.
    assert r["useful_flips"] == 4  # 0,1 at 12; 2,3 at 30
    assert r["flip_attempts"] == 5  # ... and the stale flip at 20
    assert r["goodput_flips_per_s"] == pytest.approx(4 / 50)
    assert r["wasted_writes"] == 1  # the stale flip served nothing
    assert (r["repairs"], r["repaired_endpoints"]) == (1, 1)
    assert r["converged"] and r["final_converged"] and r["convergence_s"]["max"] == 30.0
    assert r["regional"]["empty_seconds"] == pytest.approx(18.0)
    assert r["regional"]["stuck"] and r["regional"]["stale_flips"] == 1
    assert r["regional"]["incidents"] == 1 and r["regional"]["stuck_windows"] == 1
    assert r["regional"]["final_generation"] == 2
    # Everything happened to the regional endpoint: the rest of the fleet is clean.
    assert r["fleet"] == {
        "stale_flips": 0,
        "empty_endpoint_seconds": 0.0,
        "stuck_endpoints": 0,
        "stuck_at_end": 0,
        "stuck_endpoint_seconds": 0.0,
    }
    # Correct time: "current" means >= gen 2 from t=15 (published 10 + window 5).
    # Before 15 all 4 endpoints are correct (>= 1): 15 * 4 = 60. From 15 to 50:
    # endpoints 1 (from 15), 0 (15..20 and 40..50), 2 and 3 (30..50).
    expected = 60 + (50 - 15) + (5 + 10) + 2 * 20
    assert r["correct_time_fraction"] == pytest.approx(expected / (4 * 50))
    outcomes = [f.outcome for f in c.timeline.flips]
    assert outcomes == ["advanced", "stale", "repair"]
    assert [(w.start, w.end) for w in c.timeline.stuck] == [(22.0, 40.0)]


def test_wasted_writes_fleet_split_and_operator_hooks_by_hand() -> None:
    c = published(3, 100.0, at=1.0)
    c.on_flip(2.0, "A", 2, [0, 1, 2], [1, 1, 1], FlipCounts(3, 0, 0, 0), "lww")  # 3 useful
    c.on_publish(3.0, 3)
    c.on_flip(4.0, "B", 1, [1], [2], FlipCounts(1, 0, 0, 0), "lww")  # stale, not regional
    c.on_dangling(5.0, [1], [1])  # tree 1 deleted: endpoint 1 (not regional) is stuck
    # The store refuses the stuck endpoint (dangling), applies the two others.
    c.on_flip(6.0, "A", 3, [0, 1, 2], [2, 1, 2], FlipCounts(2, 0, 0, 0, 1), "lww", [3, 1, 3], set())
    assert c.dangling == {1}
    c.on_alarm(10.0)
    c.on_flip(11.0, "C", 3, [2], [3], FlipCounts(1, 0, 0, 0), "lww")  # rewrote the same
    c.on_flip(12.0, "operator", 3, [1], [1], FlipCounts(1, 0, 0, 0), "lww", [3], {1}, enactor=False)
    c.on_repair(12.0, [1])
    c.on_resume(13.0)
    c.on_plan_skipped()
    c.on_filtered(4)
    c.on_lock_abort(2)
    c.on_lock_retry(0.5)
    r = c.result(20.0, {**STATS, "stale_flips": 1})
    assert r["useful_flips"] == 5
    assert r["flip_attempts"] == 8
    # stale 1 + refused as dangling 1 + same generation 1 + filtered 4 + aborted leases 2
    assert r["wasted_writes"] == 9
    assert r["flips_while_paused"] == 1  # C's write while the automation was off
    assert (r["alarms"], r["plans_skipped"], r["repairs"], r["repaired_endpoints"]) == (1, 1, 1, 1)
    assert (r["lock_retries"], r["lease_wait_s"]) == (1, 0.5)
    assert [(w.start, w.end) for w in c.timeline.automation_off] == [(10.0, 13.0)]
    assert r["stuck_endpoints"] == 1 and r["empty_endpoints"] == 1 and r["stuck_at_end"] == 0
    assert r["stuck_endpoint_seconds"] == pytest.approx(7.0)
    assert r["empty_endpoint_seconds"] == pytest.approx(7.0)
    assert r["fleet"] == {
        "stale_flips": 1,
        "empty_endpoint_seconds": pytest.approx(7.0),
        "stuck_endpoints": 1,
        "stuck_at_end": 0,
        "stuck_endpoint_seconds": pytest.approx(7.0),
    }
    regional = r["regional"]
    assert regional["incidents"] == 0 and not regional["stuck"]
    assert regional["empty_seconds"] == 0.0 and regional["stale_flips"] == 0
    assert regional["final_generation"] == 3
    assert r["converged"] and r["final_converged"]
    assert c.converged_after[2] == 1.0 and c.converged_after[3] == 9.0  # 3 waited for repair
    assert r["plans_published"] == 2 and r["plans_converged"] == 2


def test_a_refused_regional_flip_is_stuck_and_each_window_an_incident() -> None:
    c = published(2, 1.0, at=1.0)
    c.on_dangling(2.0, [0], [1])
    c.on_flip(3.0, "A", 2, [0, 1], [1, 1], FlipCounts(1, 0, 0, 0, 1), "lww", [1, 2], set())
    c.on_flip(4.0, "operator", 2, [0], [1], FlipCounts(1, 0, 0, 0), "lww", [2], {0}, enactor=False)
    c.on_publish(5.0, 3)
    c.on_flip(6.0, "A", 3, [0, 1], [2, 2], FlipCounts(2, 0, 0, 0), "lww")
    c.on_dangling(7.0, [0], [3])
    r = c.result(10.0, STATS)
    assert [f.outcome for f in c.timeline.flips] == ["stuck", "repair", "advanced"]
    assert r["regional"]["incidents"] == 2 and r["regional"]["stuck_windows"] == 2
    assert r["regional"]["empty_seconds"] == pytest.approx(2.0 + 3.0)
    assert r["regional"]["final_generation"] is None  # still stuck at the end
    assert r["stuck_at_end"] == 1 and r["fleet"]["stuck_at_end"] == 0
    assert r["stuck_endpoints"] == 1  # one endpoint, twice
    assert r["wasted_writes"] == 1 and r["useful_flips"] == 3
    assert not r["final_converged"]
    assert r["fleet"]["empty_endpoint_seconds"] == 0.0


def test_converged_is_not_final_converged() -> None:
    """Every plan reached every endpoint once, but a stale flip undid it afterwards."""
    c = published(2, 1.0, at=1.0)
    c.on_flip(2.0, "A", 2, [0, 1], [1, 1], FlipCounts(2, 0, 0, 0), "lww")
    c.on_flip(3.0, "B", 1, [1], [2], FlipCounts(1, 0, 0, 0), "lww")
    r = c.result(4.0, {**STATS, "stale_flips": 1})
    assert r["converged"] and not r["final_converged"]
    assert r["fleet"]["stale_flips"] == 1 and r["regional"]["stale_flips"] == 0
    # A plan that never reached an endpoint: neither.
    c2 = published(2, 1.0, at=1.0)
    c2.on_flip(2.0, "A", 2, [0], [1], FlipCounts(1, 0, 0, 0), "lww")
    r2 = c2.result(4.0, STATS)
    assert not r2["converged"] and not r2["final_converged"]
    assert (r2["plans_published"], r2["plans_converged"]) == (1, 0)


def test_operator_repairs_are_not_goodput() -> None:
    def run(enactor: bool) -> dict[str, Any]:
        c = published(2, 1.0, at=1.0)
        c.on_dangling(2.0, [1], [1])
        c.on_flip(3.0, "X", 2, [1], [1], FlipCounts(1, 0, 0, 0), "lww", [2], {1}, enactor=enactor)
        return c.result(4.0, STATS)

    by_enactor, by_operator = run(True), run(False)
    assert (by_enactor["useful_flips"], by_enactor["flip_attempts"]) == (1, 1)
    assert (by_operator["useful_flips"], by_operator["flip_attempts"]) == (0, 0)
    assert by_operator["wasted_writes"] == by_enactor["wasted_writes"] == 0
    assert by_operator["goodput_flips_per_s"] == 0.0
    # The state change itself is the same: the endpoint serves 2 again.
    assert by_enactor["stuck_endpoint_seconds"] == by_operator["stuck_endpoint_seconds"] == 1.0


# ------------------------------------------------------------------------------ with a store


def _setup(store_name: str, n: int = 3) -> tuple[ObservedStore, Metrics, list[float], list[int]]:
    now = [0.0]
    metrics = Metrics(n, regional_name="e0.example", current_window_s=1.0)
    store = ObservedStore(backend(store_name), metrics, lambda: now[0])
    ids = store.add_endpoints([f"e{i}.example" for i in range(n)])
    for gen in (1, 2, 3):
        store.put_plan(store.build_plan(gen, [[("10.0.0.1", 1)]], ids, [0] * n))
    store.raw.flip_many(None, 1, "lww")
    metrics.start(0.0, 1)
    return store, metrics, now, ids


@pytest.mark.parametrize("store_name", _backends())
def test_the_store_refuses_a_flip_from_a_deleted_tree(store_name: str) -> None:
    store, metrics, now, ids = _setup(store_name)
    now[0] = 1.0
    assert store.flip_many(ids, 2, "lww", actor="A") == FlipCounts(3, 0, 0, 0, 0)
    assert store.rollbacks(ids) == [1, 1, 1]
    now[0] = 2.0
    store.delete_plans([2], safe=False)
    assert metrics.dangling == set(ids)
    now[0] = 3.0
    counts = store.flip_many(ids, 3, "lww", actor="A")
    assert counts == FlipCounts(0, 0, 0, 0, 3)
    assert store.aliases(ids) == [2, 2, 2]  # nothing changed
    with pytest.raises(DanglingAlias):
        store.raw.flip(ids[0], 3, "lww")  # type: ignore[attr-defined]
    # A missing tree is checked first.
    assert store.flip_many(ids[:1], 9, "lww", actor="A") == FlipCounts(0, 0, 0, 1, 0)
    # The repair: a flip that records no rollback.
    now[0] = 4.0
    repaired = store.flip_many(ids[:1], 3, "lww", actor="A", rollback=False)
    assert repaired == FlipCounts(1, 0, 0, 0, 0)
    assert store.aliases(ids) == [3, 2, 2] and store.rollbacks(ids)[0] is None
    assert metrics.dangling == {ids[1], ids[2]}
    r = metrics.result(5.0, store.stats())
    assert r["store"]["dangling_rejections"] == 3 + 1  # the single flip counts too
    assert r["useful_flips"] == 3 + 1
    assert r["flip_attempts"] == 3 + 3 + 1 + 1
    assert r["wasted_writes"] == 3 + 1  # refused as dangling, missing tree
    assert r["stuck_endpoints"] == 3 and r["stuck_at_end"] == 2
    assert r["regional"]["final_generation"] == 3


# ------------------------------------------------------------------------------ brute force


def _brute_served(store: Any) -> Counter[int]:
    aliases = store.aliases()
    dangling = set(store.dangling_aliases())
    served = Counter(0 if (a is None or i in dangling) else a for i, a in enumerate(aliases))
    return +served


OPS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "flip", "flip", "delete", "publish", "repair", "waste"]),
        st.integers(0, 2**32),
        st.floats(0.0, 5.0),
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("store_name", _backends())
@settings(max_examples=examples(60), deadline=None)
@given(ops=OPS)
def test_checker_matches_brute_force(store_name: str, ops: list[tuple[str, int, float]]) -> None:
    """After any sequence of writes, the collector's bookkeeping equals a full scan."""
    n = 12
    now = [0.0]
    metrics = Metrics(n, regional_name="e0.example", current_window_s=1.0)
    be: Backend = backend(store_name)
    store = ObservedStore(be, metrics, lambda: now[0])
    ids = store.add_endpoints([f"e{i}.example" for i in range(n)])
    sets = [[("10.0.0.1", 1)], [("10.0.0.2", 2), ("fd00::1", 3)], [("10.0.0.3", 4)]]

    def publish(gen: int, rng: random.Random) -> None:
        index = [rng.randrange(len(sets)) for _ in ids]
        store.put_plan(store.build_plan(gen, sets, ids, index))

    rng0 = random.Random(0)
    publish(1, rng0)
    store.raw.flip_many(None, 1, "lww")
    metrics.start(0.0, 1)
    gens = [1]
    empty_integral = 0.0
    attempts = useful = wasted_extra = 0
    ever_dangling: set[int] = set()
    for op, seed, dt in ops:
        rng = random.Random(seed)
        empty_integral += _brute_served(store.raw)[0] * dt
        now[0] += dt
        if op == "publish":
            gens.append(gens[-1] + 1)
            publish(gens[-1], rng)
            metrics.on_publish(now[0], gens[-1])
        elif op == "flip":
            live = store.raw.plan_generations()
            if not live:
                continue
            gen = rng.choice(live + gens)
            chosen = sorted(rng.sample(ids, rng.randint(1, n)))
            # Enactors flip dangling endpoints too: the store refuses them (dangling), unless
            # the flip records no rollback (on_dangling = repair).
            before = store.raw.aliases(chosen)
            store.flip_many(
                chosen,
                gen,
                rng.choice(["lww", "if_newer"]),
                actor="A",
                rollback=rng.random() < 0.7,
            )
            after = store.raw.aliases(chosen)
            attempts += len(chosen)
            useful += sum(
                1
                for b, a in zip(before, after, strict=True)
                if a is not None and (b is None or a > b)
            )
        elif op == "delete":
            doomed = rng.sample(gens, rng.randint(1, len(gens)))
            store.delete_plans(doomed, safe=rng.random() < 0.5)
        elif op == "waste":
            filtered, aborted = rng.randint(0, 3), rng.randint(0, 3)
            metrics.on_filtered(filtered)
            metrics.on_lock_abort(aborted)
            wasted_extra += filtered + aborted
        else:  # repair
            stuck = sorted(store.raw.dangling_aliases())
            live = store.raw.plan_generations()
            if stuck and live:
                store.flip_many(
                    stuck, max(live), "lww", actor="operator", enactor=False, rollback=False
                )
        ever_dangling |= set(store.raw.dangling_aliases())
        metrics.advance(now[0])
        assert +metrics.served == _brute_served(store.raw)
        assert metrics.dangling == set(store.raw.dangling_aliases())
        assert metrics.ever_stuck == ever_dangling
        assert metrics.stale_flips_observed == store.raw.stats()["stale_flips"]
        assert metrics.empty_endpoint_s == pytest.approx(empty_integral)
        assert (metrics.flip_attempts, metrics.useful_flips) == (attempts, useful)
        assert metrics.wasted_writes == attempts - useful + wasted_extra
        lowest = min(_brute_served(store.raw))
        for gen in gens[1:]:
            if lowest >= gen:
                assert gen in metrics.converged_after


@pytest.mark.parametrize("timeline", [True, False])
@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["lww", "if_newer"])), max_size=30))
@settings(max_examples=examples(60))
def test_one_endpoint_flips_keep_served_and_stale_counts(
    timeline: bool, flips: list[tuple[int, str]]
) -> None:
    """Flips of a fleet of one endpoint (the model-sized scenarios: their own path in
    on_flip): the served distribution is the alias, stale flips are the lowering ones and,
    in a report, useful flips the raising ones, whatever the order and the mode."""
    c = Metrics(1, regional_name="r.example", current_window_s=0.0)
    c.keep_timeline = timeline
    c.start(0.0, 1)
    alias, stale, useful = 1, 0, 0
    for gen, mode in flips:
        applied = mode == "lww" or gen > alias
        c.on_flip(
            0.0, "A", gen, [0], [alias], FlipCounts(int(applied), int(not applied), 0, 0), mode
        )
        if applied:
            stale += gen < alias
            useful += gen > alias
            alias = gen
        assert c.served == Counter({alias: 1})
    assert c.stale_flips_observed == stale == c.regional_stale_flips
    assert c.useful_flips == (useful if timeline else 0)
