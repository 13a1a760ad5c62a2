"""Fault streams and latencies, the planner's schedule and fleet, the walk order and batches."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import random
import statistics

import pytest

from dnsrace.sim.assembly import walk_order
from dnsrace.sim.enactor import batches
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.fleet import Fleet, _sample
from dnsrace.sim.planner import publication_times
from dnsrace.sim.scenario import (
    BurstConfig,
    CrashesConfig,
    EnactorsConfig,
    EndpointsConfig,
    FaultsConfig,
    FleetConfig,
    PausesConfig,
    PlannerConfig,
    Scenario,
    SlowBatchesConfig,
    SlowEnactorsConfig,
    incident_scenario,
)


def _faulty(seed: int = 1, duration_s: float = 600.0, **enactors: float) -> Scenario:
    return dataclasses.replace(
        Scenario(seed=seed, duration_s=duration_s),
        enactors=EnactorsConfig(**enactors),  # type: ignore[arg-type]
        faults=FaultsConfig(
            pauses=PausesConfig(rate_per_min=6.0, median_s=2.0, sigma=1.5, max_s=7.0),
            crashes=CrashesConfig(enactors=("B",), rate_per_min=1.0, restart_s=(1.0, 2.0)),
            slow_batches=SlowBatchesConfig(enactors=("C",), probability=0.5, factor=(2.0, 3.0)),
            slow_enactors=SlowEnactorsConfig(enactors=("A", "C"), sigma=0.5),
        ),
    )


def _pauses(faults: EnactorFaults, until: float = 10_000.0, step: float = 0.5) -> list[float]:
    out = []
    t = 0.0
    while t < until:
        length = faults.pause_due(t)
        if length:
            out.append(length)
        t += step
    return out


# ------------------------------------------------------------------------------ fault streams


def test_fault_streams_are_seeded_and_per_enactor() -> None:
    s = _faulty()
    b1, b2 = EnactorFaults(s, "B"), EnactorFaults(s, "B")
    assert b1.crashes == b2.crashes and b1.crashes
    assert all(0 <= c.at < s.duration_s and 1.0 <= c.restart_after <= 2.0 for c in b1.crashes)
    assert [c.at for c in b1.crashes] == sorted(c.at for c in b1.crashes)
    assert not EnactorFaults(s, "A").crashes  # only B is named
    assert EnactorFaults(_faulty(2), "B").crashes != b1.crashes  # another seed, another run
    # Pauses apply to every enactor (none named), each with its own stream.
    pauses = {name: _pauses(EnactorFaults(s, name)) for name in ("A", "B", "C")}
    assert all(pauses.values())
    assert len({tuple(p) for p in pauses.values()}) == 3
    assert pauses["A"] == _pauses(EnactorFaults(s, "A"))
    assert pauses["A"] != _pauses(EnactorFaults(_faulty(2), "A"))


def test_one_fault_kind_never_moves_another() -> None:
    s = _faulty()
    calm = dataclasses.replace(
        s,
        faults=dataclasses.replace(
            s.faults, crashes=CrashesConfig(), slow_enactors=SlowEnactorsConfig()
        ),
    )
    for name in ("A", "B", "C"):
        assert _pauses(EnactorFaults(s, name)) == _pauses(EnactorFaults(calm, name))
    # Slow batches of C: same draws with or without its slowness (only the product changes).
    with_slow, without = EnactorFaults(s, "C"), EnactorFaults(calm, "C")
    assert with_slow.slowness != 1.0 and without.slowness == 1.0
    for _ in range(50):
        assert with_slow.slow_factor() == pytest.approx(without.slow_factor() * with_slow.slowness)


def test_pauses_never_exceed_max_and_strike_once() -> None:
    faults = EnactorFaults(_faulty(), "A")
    lengths = _pauses(faults, until=700.0, step=3.0)
    assert lengths and max(lengths) <= 7.0
    assert len(lengths) > 20  # 6 a minute for 10 minutes, most of them felt
    assert faults.pause_due(10_000.0) == 0.0  # all consumed
    # Pauses that fell due while the enactor was busy are felt as one: the longest of them.
    fresh = EnactorFaults(_faulty(), "A")
    every = _pauses(EnactorFaults(_faulty(), "A"), until=700.0, step=0.01)
    assert fresh.pause_due(700.0) == max(every)


def test_fault_onsets_stop_at_the_end_of_the_duration() -> None:
    s = _faulty(duration_s=120.0)
    for name in ("A", "B", "C"):
        f = EnactorFaults(s, name)
        assert all(c.at < s.duration_s for c in f.crashes)
        assert f.pause_due(s.duration_s - 1e-9) >= 0
        assert f.pause_due(1e9) == 0.0  # nothing scheduled after the duration
    explicit = dataclasses.replace(
        s, faults=FaultsConfig(crashes=CrashesConfig(at_s=(5.0, 500.0), restart_s=(1.0, 1.0)))
    )
    assert [(c.at, c.restart_after) for c in EnactorFaults(explicit, "A").crashes] == [(5.0, 1.0)]


def test_schedules_are_prefix_stable_when_the_run_is_longer() -> None:
    short = incident_scenario(seed=4, endpoints=10)
    long = dataclasses.replace(short, duration_s=2 * short.duration_s)
    for name in short.enactor_names:
        a, b = EnactorFaults(short, name), EnactorFaults(long, name)
        assert a.crashes == b.crashes[: len(a.crashes)]
        assert [a.pause_due(t) for t in range(0, 3600, 7)] == [
            b.pause_due(t) for t in range(0, 3600, 7)
        ]
        assert a.slowness == b.slowness
        assert [a.call_latency() for _ in range(20)] == [b.call_latency() for _ in range(20)]
    times_short = publication_times(short, random.Random(9))
    times_long = publication_times(long, random.Random(9))
    assert times_long[: len(times_short)] == times_short


# ------------------------------------------------------------------------------ latency, slowness


def test_call_latency_without_spread_is_the_median_times_the_slowness() -> None:
    s = _faulty(call_latency_s=0.02, call_latency_sigma=0.0)
    b = EnactorFaults(s, "B")  # not named by slow_enactors
    assert b.slowness == 1.0
    assert {b.call_latency() for _ in range(10)} == {0.02}
    a = EnactorFaults(s, "A")
    assert a.slowness != 1.0
    assert all(a.call_latency() == pytest.approx(0.02 * a.slowness) for _ in range(10))
    assert (
        EnactorFaults(_faulty(call_latency_s=0.0, call_latency_sigma=1.0), "A").call_latency() == 0
    )


def test_call_latency_is_log_normal_around_the_median() -> None:
    s = _faulty(call_latency_s=0.05, call_latency_sigma=0.5)
    b = EnactorFaults(s, "B")
    samples = [b.call_latency() for _ in range(4000)]
    assert all(x > 0 for x in samples)
    assert statistics.median(samples) == pytest.approx(0.05, rel=0.06)
    logs = [math.log(x / 0.05) for x in samples]
    assert statistics.fmean(logs) == pytest.approx(0.0, abs=0.03)
    assert statistics.stdev(logs) == pytest.approx(0.5, rel=0.06)
    # Seeded and per enactor.
    again = EnactorFaults(s, "B")
    assert [again.call_latency() for _ in range(4000)] == samples
    other = EnactorFaults(dataclasses.replace(s, faults=FaultsConfig()), "C")
    assert [other.call_latency() for _ in range(50)] != samples[:50]


def test_slowness_is_drawn_once_per_enactor_from_a_log_normal() -> None:
    sigma = 0.3
    s = dataclasses.replace(
        Scenario(),
        enactors=EnactorsConfig(count=26),
        faults=FaultsConfig(slow_enactors=SlowEnactorsConfig(sigma=sigma)),
    )
    values = []
    for seed in range(1, 40):
        for name in s.with_seed(seed).enactor_names:
            f = EnactorFaults(s.with_seed(seed), name)
            assert f.slowness == EnactorFaults(s.with_seed(seed), name).slowness
            assert f.slow_factor() == f.slowness  # no slow batches configured
            values.append(f.slowness)
    assert len(set(values)) == len(values)
    logs = [math.log(v) for v in values]
    assert statistics.fmean(logs) == pytest.approx(0.0, abs=0.05)
    assert statistics.stdev(logs) == pytest.approx(sigma, rel=0.1)
    calm = EnactorFaults(Scenario(), "A")
    assert calm.slowness == 1.0 and calm.slow_factor() == 1.0


def test_slow_batches_only_where_configured() -> None:
    s = _faulty()
    c = EnactorFaults(s, "C")
    factors = [c.slow_factor() / c.slowness for _ in range(400)]
    slow = [f for f in factors if f != pytest.approx(1.0)]
    assert 120 < len(slow) < 280  # probability 0.5
    assert all(2.0 <= f <= 3.0 + 1e-9 for f in slow)
    b = EnactorFaults(s, "B")  # neither slow batches nor slowness
    assert {b.slow_factor() for _ in range(50)} == {1.0}
    a = EnactorFaults(s, "A")  # slowness only
    assert {a.slow_factor() for _ in range(50)} == {a.slowness}


# ------------------------------------------------------------------------------ planner, fleet


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


def test_plan_bound_counts_the_initial_plan() -> None:
    bounded = dataclasses.replace(
        Scenario(duration_s=500.0), planner=PlannerConfig(interval_s=10.0, plans=4)
    )
    assert publication_times(bounded, random.Random(0)) == [10.0, 20.0, 30.0]
    back_to_back = dataclasses.replace(
        Scenario(duration_s=1.0), planner=PlannerConfig(interval_s=0.0, plans=5)
    )
    assert publication_times(back_to_back, random.Random(0)) == [0.0] * 4


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


# ------------------------------------------------------------------------------ walk and batches


def _with_endpoints(count: int, regional_at: float = 0.5, per_pass: int = 20) -> Scenario:
    return dataclasses.replace(
        Scenario(),
        endpoints=EndpointsConfig(count=count, regional_at=regional_at),
        enactors=EnactorsConfig(batches_per_pass=per_pass),
    )


@pytest.mark.parametrize("count", [0, 1, 2, 10, 999, 1000])
@pytest.mark.parametrize("regional_at", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_walk_puts_the_regional_endpoint_at_its_fraction(count: int, regional_at: float) -> None:
    s = _with_endpoints(count, regional_at)
    walk = walk_order(s)
    assert sorted(walk) == list(range(s.total_endpoints))  # every endpoint once
    others = [i for i in walk if i != 0]
    assert others == sorted(others)  # the others in id order
    position = walk.index(0)
    assert position == round(regional_at * count)
    if count:
        assert abs(position / count - regional_at) <= 0.5 / count + 1e-12
    if regional_at == 0.0:
        assert walk[0] == 0
    if regional_at == 1.0:
        assert walk[-1] == 0


def test_the_default_walk_does_not_start_with_the_regional_endpoint() -> None:
    walk = walk_order(incident_scenario(endpoints=1000))
    assert walk.index(0) == 500


@pytest.mark.parametrize("size", [1, 3, 7, 50, 2000])
def test_batches_cover_the_walk_in_order(size: int) -> None:
    walk = walk_order(_with_endpoints(1000, 0.37))
    cut = batches(walk, size)
    assert all(list(b) == sorted(b) for b in cut)  # ids ascending within a batch
    assert all(1 <= len(b) <= size for b in cut)
    assert all(len(b) == size for b in cut[:-1])
    assert [i for b in cut for i in sorted(b, key=walk.index)] == walk
    assert len(cut) == math.ceil(len(walk) / size)
    assert batches([], size) == []


@pytest.mark.parametrize("per_pass", [1, 7, 20])
@pytest.mark.parametrize("count", [1_000, 10_000, 100_000, 500_000])
def test_batches_per_pass_do_not_depend_on_the_fleet(count: int, per_pass: int) -> None:
    s = _with_endpoints(count, per_pass=per_pass)
    size = s.enactors.batch_size(s.total_endpoints)
    cut = batches(walk_order(s), size)
    assert len(cut) == per_pass
    assert sum(map(len, cut)) == s.total_endpoints
    # The regional endpoint sits in the middle batch at every size.
    holding = next(k for k, b in enumerate(cut) if 0 in b)
    assert abs(holding - 0.5 * per_pass) <= 1


def test_fleets_that_start_alike_keep_their_own_orders_when_one_grows() -> None:
    """Fleets that start alike share their groups' starting orders; one that adds load
    balancers must not change what the others (or a later fleet that starts alike) see."""
    cfg = FleetConfig(load_balancers=6, capacity_add_probability=1.0, failure_probability=0.0)

    def fleet() -> Fleet:
        return Fleet(cfg, groups=4, targets=3, rng=random.Random(11))

    calm, growing = fleet(), fleet()
    before = calm.group_sets()
    for _ in range(8):
        growing.step()
    assert len(growing.lbs) == 14
    assert calm.group_sets() == before == fleet().group_sets()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 21, 22, 40])
def test_the_fleets_sample_draws_as_random_sample_does(size: int) -> None:
    """The weight shift's pick of load balancers: the same picks and the same stream
    afterwards as ``random.Random.sample`` (runs replay their seeds with it)."""
    population = list(range(size))
    for seed in range(60):
        for k in range(min(size, 7) + 1):
            ours, theirs = random.Random(seed), random.Random(seed)
            assert _sample(ours, population, k) == theirs.sample(population, k)  # type: ignore[arg-type]
            assert ours.getstate() == theirs.getstate()
