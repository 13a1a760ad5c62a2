"""Schedule exploration on the public models' configuration (``scenarios/spin.toml``).

One endpoint, two enactors, five plans, clean-up of plans more than two generations older than
the applied one, no faults and no latencies: the schedule is the only adversary. Exploration
must reach the published model-checking verdicts with fixed seeds and run counts:

* ``aws2025``: empty answer and stuck (the race model violates NeverDeleteActive);
* ``aws2025`` with safe clean-up: stale flips but never an empty answer (the fixed model holds
  NeverDeleteActive, yet lets an older plan overwrite a newer one);
* ``checked`` clean-up (look, then delete in a later step): still empties the endpoint;
* ``cas`` and ``fenced``: nothing, in 10,000 runs of each schedule.

The mechanism tests compare a discipline with and without one mechanism over the same seeds:
each fails if that mechanism is removed from the enactor.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from dnsrace.sim.disciplines import Discipline, lookup
from dnsrace.sim.explore import PresetExploration, explore_preset, shrink, violations
from dnsrace.sim.runner import run_with_schedule
from dnsrace.sim.scenario import Scenario, load_scenario
from dnsrace.sim.schedule import RandomSchedule

SPIN = Path(__file__).resolve().parent.parent / "scenarios" / "spin.toml"


@cache
def spin() -> Scenario:
    return load_scenario(SPIN)


def _d(name: str) -> Discipline:
    return lookup(name).with_trees_kept(spin().disciplines.trees_kept or 2)


@cache
def explored(name: str, schedule: str, runs: int, seed: int = 1) -> PresetExploration:
    return explore_preset(spin(), _d(name), runs=runs, schedule=schedule, depth=3, seed=seed)


def test_spin_is_the_public_models_configuration() -> None:
    s = spin()
    assert s.total_endpoints == 1 and s.enactors.count == 2 and s.planner.plans == 5
    assert s.disciplines.trees_kept == 2
    assert s.faults.pauses.rate_per_min == 0 and s.faults.crashes.rate_per_min == 0
    assert s.enactors.call_latency_s == 0 and s.enactors.pass_s == 0


def test_aws2025_empties_and_sticks_the_endpoint() -> None:
    # Seeds 1..1400 of the random schedule: the first empty answer is at run 1351.
    found = explored("aws2025", "random", 1400)
    assert found.by_kind["empty_answer"] >= 1 and found.by_kind["stuck"] >= 1
    assert found.by_kind["stale_flip"] > 100


@pytest.mark.slow
def test_aws2025_empties_under_pct_too() -> None:
    found = explored("aws2025", "pct", 4000)
    assert found.by_kind["empty_answer"] >= 1


@pytest.mark.slow
def test_safe_cleanup_keeps_the_tree_but_not_the_order() -> None:
    found = explored("aws2025+safe_cleanup", "random", 5000)
    assert found.by_kind["stale_flip"] > 100  # an older plan still overwrites a newer one
    assert found.by_kind["empty_answer"] == 0 and found.by_kind["stuck"] == 0


@pytest.mark.slow
def test_checked_cleanup_still_loses_the_live_tree() -> None:
    # Check-then-act: seeds 1..4100 of the random schedule; the first loss is at run 4045.
    found = explored("aws2025+checked_cleanup", "random", 4100)
    assert found.by_kind["empty_answer"] >= 1 and found.by_kind["stuck"] >= 1


# Seeds 1..10,000 per discipline and schedule, in blocks of consecutive seeds that xdist can
# spread over the cores: each run depends on its seed alone, so the blocks together are exactly
# the runs of one 10,000-run exploration (explore_preset splits its worker processes likewise).
HOLD_RUNS = 10_000
HOLD_BLOCKS = 4


@pytest.mark.slow
@pytest.mark.parametrize("block", range(HOLD_BLOCKS))
@pytest.mark.parametrize("schedule", ["random", "pct"])
@pytest.mark.parametrize("name", ["cas", "fenced"])
def test_cas_and_fenced_hold_in_10000_runs(name: str, schedule: str, block: int) -> None:
    size = HOLD_RUNS // HOLD_BLOCKS
    found = explored(name, schedule, size, seed=1 + block * size)
    assert found.runs == size
    assert found.violating_runs == 0, found.by_kind


# ------------------------------------------------------------------------------ mechanisms


@pytest.mark.slow
def test_the_start_check_prevents_some_stale_flips() -> None:
    # The same enactor without its start-of-plan check (guard none, same lock and clean-up).
    with_check = explored("aws2025+safe_cleanup", "pct", 2000)
    without = explore_preset(
        spin(),
        Discipline("no_start_check", "none", "lease", "safe", 2),
        runs=2000,
        schedule="pct",
        depth=3,
        seed=1,
    )
    assert with_check.by_kind["stale_flip"] < 0.75 * without.by_kind["stale_flip"]


@pytest.mark.slow
def test_the_lock_makes_read_then_write_safe() -> None:
    # lease: read under the lock, then write. Without concurrent pauses it never goes stale;
    # the same read-then-write without the lock does.
    locked = explore_preset(spin(), _d("lease"), runs=2000, schedule="random", depth=3, seed=1)
    assert locked.by_kind["stale_flip"] == 0
    unlocked = explore_preset(
        spin(),
        Discipline("read_then_write", "plan_start", "none", "safe", 2),
        runs=2000,
        schedule="random",
        depth=3,
        seed=1,
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


@pytest.mark.parametrize("stop_at_first", [False, True])
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
