"""Schedule exploration on the public models' configuration (``scenarios/spin.toml``).

One endpoint, two enactors, five plans, clean-up of plans more than two generations older than
the applied one, no faults and no latencies: the schedule is the only adversary. Exploration
must reach the published model-checking verdicts with fixed seeds and run counts:

* ``aws2025``: empty answer (the race model violates NeverDeleteActive); it becomes a stuck
  endpoint only when a later plan is refused (``spin_late.toml``);
* ``aws2025`` with safe clean-up: stale flips but never an empty answer (the fixed model holds
  NeverDeleteActive, yet lets an older plan overwrite a newer one);
* ``checked`` clean-up (look, then delete in a later step): still empties the endpoint;
* ``cas`` and ``fenced``: nothing, in 10,000 runs of each schedule.

The mechanism tests compare a discipline with and without one mechanism over the same seeds:
each fails if that mechanism is removed from the enactor.
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

import pytest

from dnsrace.sim.clock import VirtualEventLoop
from dnsrace.sim.disciplines import Discipline, lookup
from dnsrace.sim.explore import (
    DfsExploration,
    PresetExploration,
    explore_dfs,
    explore_preset,
    replay_dfs,
    run_cut,
    shrink,
    shrink_decisions,
    violating_runs,
    violations,
)
from dnsrace.sim.runner import run_with_schedule
from dnsrace.sim.scenario import Scenario, load_scenario
from dnsrace.sim.schedule import DfsSchedule, RandomSchedule, Visited, replay_schedule

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SPIN = SCENARIOS / "spin.toml"
SPIN_LATE = SCENARIOS / "spin_late.toml"
SPIN_EXACT = SCENARIOS / "spin_exact.toml"


@cache
def spin() -> Scenario:
    return load_scenario(SPIN)


def _d(name: str) -> Discipline:
    return lookup(name).with_trees_kept(spin().disciplines.trees_kept or 2)


def explore_spin(
    d: Discipline, schedule: str, runs: int, seed: int = 1, depth: int = 3
) -> PresetExploration:
    """``runs`` seeded runs of ``d`` on spin.toml from ``seed`` under ``schedule``."""
    return explore_preset(spin(), d, runs=runs, schedule=schedule, depth=depth, seed=seed)


@cache
def explored(name: str, schedule: str, runs: int, seed: int = 1) -> PresetExploration:
    return explore_spin(_d(name), schedule, runs, seed)


def test_spin_has_the_public_models_size() -> None:
    s = spin()
    assert s.total_endpoints == 1 and s.enactors.count == 2 and s.planner.plans == 5
    assert s.disciplines.trees_kept == 2
    assert s.faults.pauses.rate_per_min == 0 and s.faults.crashes.rate_per_min == 0
    assert s.enactors.call_latency_s == 0 and s.enactors.pass_s == 0


@pytest.mark.slow
def test_aws2025_empties_the_endpoint_but_nothing_is_refused_after() -> None:
    # Seeds 1..1400 of the random schedule (the first empty answer is at run 42). The plans
    # end with the race: no enactor flips the emptied endpoint again, so the store refuses
    # nothing and no run is stuck (stuck is the store's refusal, not the dangling alias).
    found = explored("aws2025", "random", 1400)
    assert found.by_kind["empty_answer"] >= 1
    assert found.by_kind["stuck"] == 0
    assert found.by_kind["stale_flip"] > 100


@pytest.mark.parametrize("store", ["rust", "reference"])
def test_a_late_plan_is_refused_by_the_emptied_endpoint(store: str) -> None:
    """The store's dangling refusal is what makes an emptied endpoint stuck: with one more
    plan after the race (spin_late.toml), every emptied endpoint refuses it and ends the run
    on no plan at all. Without the refusal, the late flip would repair it (no run stuck,
    every run converged): this test fails if the store stops refusing."""
    scenario = load_scenario(SPIN_LATE)
    d = lookup("aws2025").with_trees_kept(2)
    bad = violating_runs(scenario, d, "random", 3, store, 1, 100)
    emptied = [(seed, kinds) for seed, kinds in bad if "empty_answer" in kinds]
    assert emptied
    assert all("stuck" in kinds and "not_converged" in kinds for _, kinds in emptied)
    assert all("stuck" not in kinds for _, kinds in bad if "empty_answer" not in kinds)
    seed = emptied[0][0]
    run = run_with_schedule(scenario.with_seed(seed), d, RandomSchedule(seed), store=store)
    m = run.metrics
    assert m["store"]["dangling_rejections"] >= 1
    assert m["regional"]["final_generation"] is None and m["stuck_at_end"] == 1
    assert not m["final_converged"]


@pytest.mark.slow
def test_pct_at_depth_3_can_miss_the_empty_answer_for_thousands_of_runs() -> None:
    # PCT at depth 3 (two change points) finds stale flips at once but, from root seed 1, no
    # empty answer in 3,000 runs; depth 4 finds it (first at run 666). Over 50 far-apart
    # root seeds depth 3 finds it within 1,000 runs only 18 times (bench/samplers.py).
    # "PCT found nothing" is a statement about a sample, not about the code.
    shallow = explored("aws2025", "pct", 3000)
    assert shallow.by_kind["stale_flip"] > 100
    assert shallow.by_kind["empty_answer"] == 0
    deep = explore_spin(_d("aws2025"), "pct", 700, depth=4)
    assert deep.by_kind["empty_answer"] >= 1


def test_aws2025_empties_under_pos_too() -> None:
    # Partial order sampling: seeds 1..100 (the first empty answer is at run 16).
    found = explored("aws2025", "pos", 100)
    assert found.by_kind["empty_answer"] >= 1


@pytest.mark.slow
def test_safe_cleanup_keeps_the_tree_but_not_the_order() -> None:
    found = explored("aws2025+safe_cleanup", "random", 5000)
    assert found.by_kind["stale_flip"] > 100  # an older plan still overwrites a newer one
    assert found.by_kind["empty_answer"] == 0 and found.by_kind["stuck"] == 0


@pytest.mark.slow
def test_checked_cleanup_still_loses_the_live_tree() -> None:
    # Check-then-act: seeds 1..100 of the random schedule; the first loss is at run 42.
    found = explored("aws2025+checked_cleanup", "random", 100)
    assert found.by_kind["empty_answer"] >= 1


# Seeds 1..10,000 per discipline and schedule, in blocks of consecutive seeds that xdist can
# spread over the cores: each run depends on its seed alone, so the blocks together are exactly
# the runs of one 10,000-run exploration (explore_preset splits its worker processes likewise).
HOLD_RUNS = 10_000
HOLD_BLOCKS = 4


@pytest.mark.slow
@pytest.mark.parametrize("block", range(HOLD_BLOCKS))
@pytest.mark.parametrize("schedule", ["random", "pct", "pos"])
@pytest.mark.parametrize("name", ["cas", "fenced"])
def test_cas_and_fenced_hold_in_10000_runs(name: str, schedule: str, block: int) -> None:
    size = HOLD_RUNS // HOLD_BLOCKS
    found = explored(name, schedule, size, seed=1 + block * size)
    assert found.runs == size
    assert found.violating_runs == 0, found.by_kind


@cache
def exact() -> Scenario:
    return load_scenario(SPIN_EXACT)


def _exact(name: str) -> Discipline:
    return next(d for d in exact().discipline_list() if d.name == name)


def test_spin_exact_has_the_public_models_knobs() -> None:
    s = exact()
    assert s.total_endpoints == 1 and s.enactors.count == 2 and s.planner.plans == 5
    for d in s.discipline_list():
        assert d.trees_kept == 1  # PLAN_AGE_THRESHOLD 2: plans two or more generations older
    for name, cleanup in [
        ("model_race", "unsafe_age"),
        ("model_fixed", "safe"),
        ("model_checked", "checked"),
    ]:
        d = _exact(name)
        assert (d.guard, d.lock, d.cleanup) == ("plan_start", "none", cleanup)


@pytest.mark.parametrize(
    ("name", "empties"),
    [("model_race", True), ("model_checked", True), ("model_fixed", False)],
)
def test_spin_exact_reaches_spins_verdicts(name: str, empties: bool) -> None:
    # SPIN (never_delete_active): violated by the race model and by the fixed model with its
    # atomic blocks removed, holds for the fixed model. 300 random runs from seed 1.
    found = explore_preset(exact(), _exact(name), runs=300, schedule="random", depth=3, seed=1)
    assert (found.by_kind["empty_answer"] > 0) == empties, found.by_kind
    assert found.by_kind["stale_flip"] > 0  # both models let an older plan go live


# ------------------------------------------------------------------------------ mechanisms


@pytest.mark.slow
def test_the_start_check_prevents_some_stale_flips() -> None:
    # The same enactor without its start-of-plan check (guard none, same lock and clean-up).
    with_check = explored("aws2025+safe_cleanup", "pct", 2000)
    without = explore_spin(Discipline("no_start_check", "none", "lease", "safe", 2), "pct", 2000)
    # 134 against 174 stale runs in these seeds: the check stops the plans that were already
    # beaten when picked up, not those overtaken after it (removing it makes the two equal).
    assert with_check.by_kind["stale_flip"] < 0.85 * without.by_kind["stale_flip"]


@pytest.mark.slow
def test_the_lock_makes_read_then_write_safe() -> None:
    # lease: read under the lock, then write. Without concurrent pauses it never goes stale;
    # the same read-then-write without the lock does.
    locked = explore_spin(_d("lease"), "random", 2000)
    assert locked.by_kind["stale_flip"] == 0
    unlocked = explore_spin(
        Discipline("read_then_write", "plan_start", "none", "safe", 2), "random", 2000
    )
    assert unlocked.by_kind["stale_flip"] > 0


def test_a_violating_run_replays_identically() -> None:
    found = explored("aws2025", "random", 1400)
    assert found.first_violation_seed is not None
    seed = found.first_violation_seed
    runs = [
        run_with_schedule(spin().with_seed(seed), _d("aws2025"), RandomSchedule(seed))
        for _ in range(2)
    ]
    assert runs[0].metrics == runs[1].metrics
    assert violations(runs[0].metrics) == found.first_violation_kinds


def test_shrinking_keeps_the_violation() -> None:
    scenario = load_scenario(SPIN, {"endpoints.count": 3, "enactors.count": 3})
    d = _d("aws2025")
    found = explore_preset(scenario, d, runs=200, schedule="random", depth=3, seed=1)
    assert found.first_violation_seed is not None
    small = shrink(scenario, d, seed=found.first_violation_seed, schedule="random", depth=3)
    assert small.kinds
    assert set(small.kinds) & set(found.first_violation_kinds)
    # Something got smaller (here the endpoints and the plans), and the smaller run, replayed
    # on its own, still fails the same way.
    assert small.overrides and small.tries > 1
    assert small.overrides.get("endpoints.count", 3) < 3
    replay = load_scenario(
        SPIN, {"endpoints.count": 3, "enactors.count": 3, **small.overrides}
    ).with_seed(found.first_violation_seed)
    again = run_with_schedule(replay, d, RandomSchedule(found.first_violation_seed))
    assert violations(again.metrics) == small.kinds


@pytest.mark.parametrize("stop_at_first", [pytest.param(False, marks=pytest.mark.slow), True])
def test_worker_processes_give_the_same_exploration(stop_at_first: bool) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    d = _d("aws2025")
    kwargs = {"runs": 700, "schedule": "random", "depth": 3, "seed": 1340}
    alone = explore_preset(spin(), d, stop_at_first=stop_at_first, **kwargs)  # type: ignore[arg-type]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        shared = explore_preset(
            spin(),
            d,
            stop_at_first=stop_at_first,
            pool=pool,
            workers=2,
            **kwargs,  # type: ignore[arg-type]
        )
    assert shared.as_json(perf=False) == alone.as_json(perf=False)
    assert alone.by_kind["empty_answer"] >= 1 or stop_at_first


def test_enactors_start_from_the_applied_plan() -> None:
    # Plan 1 is live before the run starts; an enactor that started from nothing seen would
    # pick it up and, without a start check (lww), flip the endpoint back to it: a stale flip
    # made by how the run starts, not by the race. Fails if enactors start from nothing.
    d = _d("lww")
    for seed in range(1, 41):
        run = run_with_schedule(spin().with_seed(seed), d, RandomSchedule(seed))
        assert run.timeline.passes
        assert all(p.generation > 1 for p in run.timeline.passes), seed
        assert all(f.generation > 1 for f in run.timeline.flips), seed


# ------------------------------------------------------------------------------ bounded DFS


@cache
def dfs(
    name: str, preemptions: int, sleep_sets: bool = True, fingerprints: bool = True
) -> DfsExploration:
    return explore_dfs(
        spin(),
        _d(name),
        preemptions=preemptions,
        max_schedules=50_000,
        sleep_sets=sleep_sets,
        fingerprints=fingerprints,
    )


@pytest.mark.parametrize("name", ["cas", "fenced"])
def test_dfs_proves_cas_and_fenced_clean_within_one_preemption(name: str) -> None:
    found = dfs(name, 1)
    assert found.exhaustive and found.bound == 1 and found.states > 100
    assert [b["preemptions"] for b in found.per_bound] == [0, 1]  # iterative bounding
    assert not found.first_violation_kinds and sum(found.by_kind.values()) == 0


@pytest.mark.slow
def test_dfs_finds_the_aws2025_stale_flip_and_its_path_replays() -> None:
    # No stale flip with at most one preemption: exhaustively so; with two, one is found,
    # at bound 2 (iterative bounding searched 0 and 1 first).
    assert dfs("aws2025", 1).exhaustive
    found = dfs("aws2025", 2)
    assert not found.exhaustive and "stale_flip" in found.first_violation_kinds
    assert found.bound == 2
    replay = run_with_schedule(spin(), _d("aws2025"), replay_schedule(found.first_violation))
    assert violations(replay.metrics) == found.first_violation_kinds


@pytest.mark.slow
def test_a_violation_shrinks_to_a_shorter_prefix_that_still_fails() -> None:
    found = dfs("aws2025", 2)
    short, kinds = shrink_decisions(spin(), _d("aws2025"), found.first_violation)
    assert len(short) < len(found.first_violation) and "stale_flip" in kinds
    assert "stale_flip" in replay_dfs(spin(), _d("aws2025"), short)


@pytest.mark.slow
def test_sleep_sets_prune_equivalent_orders_without_changing_the_verdict() -> None:
    # Fails if the sleep sets are removed: the same exhaustive search then runs more orders.
    pruned = dfs("aws2025", 1, fingerprints=False)
    full = dfs("aws2025", 1, sleep_sets=False, fingerprints=False)
    assert pruned.exhaustive and full.exhaustive
    assert pruned.by_kind == full.by_kind
    assert pruned.runs < full.schedules


@pytest.mark.slow
def test_visited_states_are_not_searched_again() -> None:
    # Fails if the state pruning is removed (no run is cut at a visited state, the search
    # then starts as many runs as without fingerprints).
    with_states = dfs("aws2025", 1)
    without = dfs("aws2025", 1, fingerprints=False)
    assert with_states.exhaustive and without.exhaustive
    assert with_states.pruned > 0 and with_states.states > 0
    assert with_states.runs * 2 < without.runs
    assert sum(with_states.by_kind.values()) == sum(without.by_kind.values()) == 0
    # Same verdict where there is something to find: the stale flip at two preemptions.
    assert (
        dfs("aws2025", 2).first_violation_kinds
        == dfs("aws2025", 2, fingerprints=False).first_violation_kinds
    )


def test_a_run_cut_short_leaves_no_task_behind() -> None:
    loop = VirtualEventLoop()
    try:
        visited: Visited = {}
        first = DfsSchedule([], 1, visited=visited, cut=True)
        assert run_cut(spin(), _d("cas"), first, store="rust", loop=loop) is not None
        # The same run again reaches the first decision's state, seen: cut there.
        again = DfsSchedule([], 1, visited=visited, cut=True)
        assert run_cut(spin(), _d("cas"), again, store="rust", loop=loop) is None
        assert not again.redundant and not asyncio.all_tasks(loop)
    finally:
        loop.close()


@pytest.mark.slow
def test_dfs_looks_past_other_kinds_for_the_wanted_one() -> None:
    found = explore_dfs(
        spin(), _d("aws2025"), preemptions=2, max_schedules=1000, wanted="empty_answer"
    )
    assert found.by_kind["stale_flip"] > 0  # seen on the way, not stopped at
    assert not found.first_violation_kinds and not found.exhaustive
