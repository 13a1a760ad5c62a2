"""Fault schedules, the planner's schedule and fleet, and the enactor's walk."""

from __future__ import annotations

import dataclasses
import ipaddress
import random

import pytest

from dnsrace.sim.enactor import batch_bounds
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.fleet import Fleet
from dnsrace.sim.planner import publication_times
from dnsrace.sim.scenario import (
    BurstConfig,
    ContentionConfig,
    CrashesConfig,
    FaultsConfig,
    FleetConfig,
    PausesConfig,
    PlannerConfig,
    Scenario,
    SlowBatchesConfig,
    incident_scenario,
)


def _faulty(seed: int = 1) -> Scenario:
    return dataclasses.replace(
        Scenario(seed=seed, duration_s=600.0),
        faults=FaultsConfig(
            contention=ContentionConfig(
                enactors=("A",),
                scope="regional",
                rate_per_min=2.0,
                duration_s=(5.0, 10.0),
                fail_probability=1.0,
                at_s=(3.0,),
            ),
            pauses=PausesConfig(rate_per_min=6.0, median_s=2.0, sigma=1.5, max_s=7.0),
            crashes=CrashesConfig(enactors=("B",), rate_per_min=1.0, restart_s=(1.0, 2.0)),
            slow_batches=SlowBatchesConfig(enactors=("C",), probability=0.5, factor=(2.0, 3.0)),
        ),
    )


def test_fault_schedules_are_seeded_and_per_enactor() -> None:
    s = _faulty()
    a1, a2 = EnactorFaults(s, "A"), EnactorFaults(s, "A")
    assert a1.contention == a2.contention and a1.contention
    assert a1.contention[0][0] == 3.0  # the explicit episode
    assert all(
        0 <= start < s.duration_s and 5.0 <= end - start <= 10.0 for start, end in a1.contention
    )
    assert EnactorFaults(s, "B").contention == []  # only A is named
    assert EnactorFaults(s, "B").crashes and not EnactorFaults(s, "A").crashes
    assert all(1.0 <= c.restart_after <= 2.0 for c in EnactorFaults(s, "B").crashes)
    assert EnactorFaults(s, "A").contention != EnactorFaults(_faulty(2), "A").contention


def test_contention_scope_and_probability() -> None:
    faults = EnactorFaults(_faulty(), "A")
    start, end = faults.contention[0]
    inside = (start + end) / 2
    assert faults.lock_fails(inside, touches_regional=True)  # fail_probability 1.0
    assert not faults.lock_fails(inside, touches_regional=False)  # scope: regional only
    assert not faults.lock_fails(-1.0, touches_regional=True)  # before any episode


def test_pauses_never_exceed_max_and_strike_once() -> None:
    faults = EnactorFaults(_faulty(), "A")
    lengths = []
    t = 0.0
    while t < 700.0:
        length = faults.pause_due(t)
        if length:
            lengths.append(length)
        t += 3.0
    assert lengths and max(lengths) <= 7.0
    assert faults.pause_due(10_000.0) == 0.0  # all consumed


def test_slow_batches_only_where_configured() -> None:
    c = EnactorFaults(_faulty(), "C")
    a = EnactorFaults(_faulty(), "A")
    factors = [c.slow_factor() for _ in range(200)]
    assert {f == 1.0 for f in factors} == {True, False}
    assert all(f == 1.0 or 2.0 <= f <= 3.0 for f in factors)
    assert {a.slow_factor() for _ in range(50)} == {1.0}


def test_fault_onsets_stop_at_the_end_of_the_duration() -> None:
    s = incident_scenario(seed=3)
    for name in s.enactor_names:
        f = EnactorFaults(s, name)
        assert all(start < s.duration_s for start, _ in f.contention)
        assert all(c.at < s.duration_s for c in f.crashes)


def test_publication_schedule_has_intervals_and_bursts() -> None:
    s = dataclasses.replace(
        Scenario(duration_s=50.0),
        planner=PlannerConfig(
            interval_s=10.0, bursts=(BurstConfig(at_s=12.0, plans=3, gap_s=0.5),)
        ),
    )
    times = publication_times(s, random.Random(0))
    assert times == [10.0, 12.0, 12.5, 13.0, 20.0, 30.0, 40.0]
    s2 = dataclasses.replace(s, planner=PlannerConfig(interval_s=10.0, burst_rate_per_min=6.0))
    more = publication_times(s2, random.Random(1))
    assert len(more) > 4 and more == sorted(more) and all(t < 50.0 for t in more)


def test_fleet_groups_are_full_valid_and_react_to_failures() -> None:
    fleet = Fleet(
        FleetConfig(
            load_balancers=12, ipv6_share=0.5, failure_probability=1.0, recovery_probability=0.0
        ),
        groups=5,
        targets=4,
        rng=random.Random(7),
    )
    families = set()
    for _ in range(6):
        sets = fleet.group_sets()
        for targets in sets:
            assert len(targets) == 4
            for address, weight in targets:
                families.add(ipaddress.ip_address(address).version)
                assert 1 <= weight <= 255
        healthy = {lb.address for lb in fleet.lbs if lb.healthy}
        assert all(a in healthy for t in sets for a, _ in t)
        fleet.step()
    assert families == {4, 6}
    assert sum(not lb.healthy for lb in fleet.lbs) == 6  # one failure per step


@pytest.mark.parametrize(("n", "size"), [(1, 5), (2, 5), (11, 5), (12, 5), (1001, 50)])
def test_walk_is_regional_first_then_ranges(n: int, size: int) -> None:
    bounds = batch_bounds(n, size)
    assert bounds[0] == (0, 1)
    covered = [i for lo, hi in bounds for i in range(lo, hi)]
    assert covered == list(range(n))
    assert all(hi - lo <= size for lo, hi in bounds)


def test_schedules_are_prefix_stable_when_the_run_is_longer() -> None:
    short = incident_scenario(seed=4)
    long = dataclasses.replace(short, duration_s=2 * short.duration_s)
    for name in short.enactor_names:
        a, b = EnactorFaults(short, name), EnactorFaults(long, name)
        assert b.contention[: len(a.contention)] == a.contention
        assert b.crashes[: len(a.crashes)] == a.crashes
        assert [a.pause_due(t) for t in range(0, 1800, 7)] == [
            b.pause_due(t) for t in range(0, 1800, 7)
        ]
    times_short = publication_times(short, random.Random(9))
    times_long = publication_times(long, random.Random(9))
    assert times_long[: len(times_short)] == times_short
