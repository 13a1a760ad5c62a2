"""The incident replay's behaviours, each on several seeds, from the running mechanism.

The default incident scenario is used as is, at 1,000 endpoints (its timing is expressed per
pass over the fleet, so the same scenario plays the same way at 100,000, the size of
make run). Only the lease tests change the pause distribution. Runs use the Rust store when
it is built; the pure-Python reference gives identical results (checked below).
"""

from __future__ import annotations

import dataclasses
import importlib
from functools import cache

import pytest

from dnsrace.app.report import build_document, dumps
from dnsrace.sim.disciplines import ALL, lookup
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import (
    PausesConfig,
    Scenario,
    SlowBatchesConfig,
    incident_scenario,
)

# Seed 1 of every verdict runs in make check; seeds 2 and 3 in make test only (same test ids).
SEEDS = (1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow))
ENDPOINTS = 1000


def _have_rust() -> bool:
    try:
        importlib.import_module("dnsrace._core")
    except ImportError:
        return False
    return True


STORE = "rust" if _have_rust() else "reference"


@cache
def incident(discipline: str, seed: int) -> RunResult:
    scenario = incident_scenario(seed=seed, endpoints=ENDPOINTS)
    return run_discipline(scenario, lookup(discipline), store=STORE)


def _with_pauses(scenario: Scenario, pauses: PausesConfig) -> Scenario:
    # Slow batches off: a slow batch is another way to outlive the lease.
    faults = dataclasses.replace(
        scenario.faults, pauses=pauses, slow_batches=SlowBatchesConfig(probability=0.0)
    )
    return dataclasses.replace(scenario, faults=faults)


# A batch is held for its write (pass_s / batches_per_pass = 1.5 s) plus a few round trips.
# Pauses of at most 5 s keep it well inside the 10 s lease; 12-30 s pauses outlive it.
SHORT_PAUSES = PausesConfig(rate_per_min=2.0, median_s=2.0, sigma=0.8, max_s=5.0)
LONG_PAUSES = PausesConfig(rate_per_min=2.0, median_s=15.0, sigma=0.2, max_s=30.0)


@cache
def lease_run(discipline: str, seed: int, long_pauses: bool) -> RunResult:
    base = incident_scenario(seed=seed, endpoints=ENDPOINTS)
    e = base.enactors
    assert SHORT_PAUSES.max_s + e.pass_s / e.batches_per_pass < e.lease_ttl_s
    assert LONG_PAUSES.median_s > e.lease_ttl_s
    scenario = _with_pauses(base, LONG_PAUSES if long_pauses else SHORT_PAUSES)
    return run_discipline(scenario, lookup(discipline), store=STORE)


def _self_consistent(r: RunResult) -> None:
    m = r.metrics
    # The checker's own count of alias-lowering flips agrees with the store's counter, and the
    # store's empty-answer counter with the clients' resolves (they are the only resolvers).
    assert m["stale_flips"] == m["stale_flips_observed"]
    assert m["empty_answers"] <= m["resolves"]
    assert m["wasted_writes"] >= m["flip_attempts"] - m["useful_flips"] >= 0
    assert m["fleet"]["stale_flips"] + m["regional"]["stale_flips"] == m["stale_flips"]
    assert m["fleet"]["stuck_endpoints"] + int(m["regional"]["stuck"]) == m["stuck_endpoints"]
    # The operator's pause is real: no enactor wrote while the automation was off.
    assert m["flips_while_paused"] == 0


# ------------------------------------------------------------------------------ aws2025


@pytest.mark.parametrize("seed", SEEDS)
def test_aws2025_regional_endpoint_goes_empty_and_stuck_until_the_operator(seed: int) -> None:
    r = incident("aws2025", seed)
    m, tl = r.metrics, r.timeline
    _self_consistent(r)
    assert m["regional"]["stuck"] and tl.stuck, "the regional endpoint never got stuck"
    assert m["regional"]["empty_answers"] > 0 and m["empty_answers"] > 0
    assert m["regional"]["incidents"] == len(tl.empty) >= 1
    assert m["alarms"] >= 1 and len(tl.automation_off) == m["alarms"]
    # Stuck from the store: the enactors' later flips were refused (the dangling answer).
    assert m["store"]["dangling_rejections"] > 0
    detect_min = r.scenario.operator.detect_s[0]
    attempts = 0
    for window in tl.stuck:
        assert window.end is not None, "still stuck at the end of the run"
        # Stuck until the operator's repair: detection, then automation off, then the repair.
        assert window.end - window.start >= detect_min
        repairs = [f for f in tl.flips if f.outcome == "repair"]
        assert any(f.t == pytest.approx(window.end) for f in repairs)
        off = [w for w in tl.automation_off if window.start <= w.start <= window.end]
        assert off and off[-1].end == pytest.approx(window.end)
        # No enactor moved it in between: whoever tried got the store's dangling answer.
        inside = [f for f in tl.flips if window.start < f.t < window.end]
        assert {f.outcome for f in inside} <= {"stuck"}
        attempts += len(inside)
        assert any(e.start == window.start and e.end == window.end for e in tl.empty)
    assert attempts > 0, "no enactor ever tried a later plan on the stuck endpoint"


@pytest.mark.parametrize("seed", SEEDS)
def test_aws2025_stale_flips_come_with_lock_contention(seed: int) -> None:
    m = incident("aws2025", seed).metrics
    assert m["stale_flips"] > 0 and m["fleet"]["stale_flips"] > 0
    # Nobody injected contention: the retries are locks really held by other enactors.
    assert m["lock_retries"] > 0 and m["lease_wait_s"] > 0
    assert m["lease_conflicts"] > 0


# ------------------------------------------------------------------------------ lww


@pytest.mark.parametrize("seed", SEEDS)
def test_lww_has_stale_flips_empty_answers_and_the_regional_incident(seed: int) -> None:
    r = incident("lww", seed)
    _self_consistent(r)
    m = r.metrics
    assert m["stale_flips"] > 0
    assert m["empty_answers"] > 0 and m["empty_endpoint_seconds"] > 0
    assert m["regional"]["incidents"] > 0 and m["regional"]["empty_seconds"] > 0
    assert m["lock_retries"] == 0  # no lock at all


# ------------------------------------------------------------------------------ lease


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lease_is_safe_while_pauses_stay_below_the_ttl(seed: int) -> None:
    r = lease_run("lease", seed, long_pauses=False)
    _self_consistent(r)
    assert r.metrics["faults"]["pauses"] > 0
    assert r.metrics["stale_flips"] == 0
    assert r.metrics["empty_answers"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_lease_gets_stale_flips_once_a_pause_exceeds_the_ttl(seed: int) -> None:
    r = lease_run("lease", seed, long_pauses=True)
    _self_consistent(r)
    assert r.metrics["stale_flips"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_fencing_survives_pauses_longer_than_the_ttl(seed: int) -> None:
    r = lease_run("fenced", seed, long_pauses=True)
    _self_consistent(r)
    m = r.metrics
    assert m["stale_flips"] == 0 and m["empty_answers"] == 0 and m["stuck_endpoints"] == 0
    assert m["store"]["fenced_rejections"] > 0  # the fence, not luck, stopped them
    assert m["converged"]


# ------------------------------------------------------------------------------ cas / fenced


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("discipline", ["cas", pytest.param("fenced", marks=pytest.mark.slow)])
def test_cas_and_fenced_are_safe_and_converge(discipline: str, seed: int) -> None:
    r = incident(discipline, seed)
    _self_consistent(r)
    m = r.metrics
    assert m["faults"]["pauses"] > 0
    assert m["stale_flips"] == 0
    assert m["empty_answers"] == 0 and m["empty_endpoint_seconds"] == 0
    assert m["stuck_endpoints"] == 0 and m["stuck_endpoint_seconds"] == 0
    assert m["converged"] and m["final_converged"]
    assert m["plans_converged"] == m["plans_published"] > 100
    assert not m["regional"]["stuck"] and m["regional"]["stale_flips"] == 0
    assert m["regional"]["final_generation"] == m["plans_published"] + 1
    assert m["alarms"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_cas_and_fenced_stay_safe_with_long_pauses_and_crashes(seed: int) -> None:
    base = _with_pauses(incident_scenario(seed=seed, endpoints=ENDPOINTS), LONG_PAUSES)
    crashes = dataclasses.replace(base.faults.crashes, rate_per_min=0.5)
    scenario = dataclasses.replace(base, faults=dataclasses.replace(base.faults, crashes=crashes))
    for name in ("cas", "fenced"):
        m = run_discipline(scenario, lookup(name), store=STORE).metrics
        assert m["faults"]["crashes"] > 0
        assert (m["stale_flips"], m["empty_answers"], m["stuck_endpoints"]) == (0, 0, 0)
        assert m["converged"]


# ------------------------------------------------------------------------------ knob by knob


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_each_fix_has_its_share(seed: int) -> None:
    base = incident("aws2025", seed).metrics
    safe = incident("aws2025+safe_cleanup", seed).metrics
    both = incident("aws2025+safe_cleanup+store_cas", seed).metrics
    # The 2025 discipline: stale flips and empty answers.
    assert base["stale_flips"] > 0 and base["empty_answers"] > 0
    # Safe clean-up alone: the empty answers are gone, the stale flips are not.
    assert safe["stale_flips"] > 0
    assert safe["empty_answers"] == 0 and safe["stuck_endpoints"] == 0
    # Plus a write-time generation check: the stale flips are gone too.
    assert both["stale_flips"] == 0 and both["empty_answers"] == 0
    assert both["converged"]


@pytest.mark.slow
def test_handling_the_dangling_answer_repairs_without_the_operator() -> None:
    stuck = incident("aws2025", 1).metrics
    r = incident("aws2025+repair_dangling", 1)
    m = r.metrics
    # The same race still deletes live trees, but the enactors flip the endpoints back
    # without a rollback instead of leaving them stuck for the operator.
    assert m["stale_flips"] > 0 and m["deleted_trees"] > 0
    # Seed 1: 106,469 against 429,475 endpoint-seconds (4x less; seeds 2: 11x). Before the
    # alarm watched every probed endpoint, the operator repaired the 2025 discipline later
    # (318,244 against 52,739 with whole-batch writes: 6x). Before enactors started from the
    # applied plan, a restarted enactor re-applied the live plan and repaired more.
    assert m["empty_endpoint_seconds"] < stuck["empty_endpoint_seconds"] / 3
    assert m["alarms"] < stuck["alarms"] or m["alarms"] == 0


# ------------------------------------------------------------------------------ scale


def test_timing_is_scale_invariant() -> None:
    # The same scenario at 10x the endpoints: the same passes, the same convergence times.
    small = incident_scenario(seed=9, endpoints=200, presets=("cas",)).replace(duration_s=300.0)
    large = incident_scenario(seed=9, endpoints=2000, presets=("cas",)).replace(duration_s=300.0)
    a = run_discipline(small, lookup("cas"), store=STORE).metrics
    b = run_discipline(large, lookup("cas"), store=STORE).metrics
    assert a["plans_published"] == b["plans_published"]
    for q in ("p50", "p99"):
        assert b["convergence_s"][q] == pytest.approx(a["convergence_s"][q], rel=0.15)
    assert b["correct_time_fraction"] == pytest.approx(a["correct_time_fraction"], abs=0.05)


# ------------------------------------------------------------------------------ determinism


def _document(seed: int, store: str, endpoints: int = 200) -> bytes:
    scenario = dataclasses.replace(
        incident_scenario(seed=seed, endpoints=endpoints), duration_s=400.0
    )
    results = [run_discipline(scenario, lookup(name), store=store) for name in ALL]
    return dumps(build_document(scenario, results))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 5])
def test_same_seed_gives_byte_identical_json(seed: int) -> None:
    first = _document(seed, STORE)
    assert first == _document(seed, STORE)
    assert first != _document(seed + 100, STORE)
    assert b'"perf"' not in first  # no wall-clock figure in a virtual-clock document


@pytest.mark.parametrize("schedule", ["random", "pct"])
def test_seeded_schedules_are_repeatable(schedule: str) -> None:
    scenario = dataclasses.replace(incident_scenario(seed=3, endpoints=100), duration_s=120.0)
    runs = [
        dumps(
            build_document(
                scenario, [run_discipline(scenario, lookup("aws2025"), schedule=schedule)]
            )
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_rust_and_reference_stores_give_the_same_run() -> None:
    if not _have_rust():
        pytest.fail("dnsrace._core is not built: run `make build`")
    rust = _document(6, "rust", endpoints=120)
    reference = _document(6, "reference", endpoints=120)
    assert rust.replace(b'"store": "rust"', b'"store": "reference"') == reference
