"""Damage at the account's granularity: each endpoint of a batch flips at its own instant, and
the alarm watches every endpoint the clients probe.

Small fleets (200 endpoints, batches of 10) and half-hour runs keep these fast (about 2 s of
CPU per run)."""

from __future__ import annotations

import dataclasses
from array import array
from functools import cache
from typing import Any

import pytest

from dnsrace._types import FlipCounts
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.inflight import InFlight
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import Scenario, incident_scenario

OTHERS = 199  # + the regional endpoint: 200, 20 batches of exactly 10
SEEDS = (1, 2, 3)


def _scenario(seed: int, alarm: str = "probes") -> Scenario:
    s = incident_scenario(seed=seed, endpoints=OTHERS).replace(duration_s=1800.0)
    return s.replace(operator=dataclasses.replace(s.operator, alarm=alarm))


@cache
def _run(discipline: str, seed: int, alarm: str = "probes") -> RunResult:
    return run_discipline(_scenario(seed, alarm), lookup(discipline))


def _stuck_steps(r: RunResult) -> list[int]:
    """How many endpoints each clean-up left stuck (the fleet series' upward steps)."""
    steps, before = [], 0
    for _, _, stuck in r.timeline.fleet:
        if stuck > before:
            steps.append(stuck - before)
        before = stuck
    return steps


@pytest.mark.slow
def test_stuck_endpoints_are_counted_per_endpoint_not_per_batch() -> None:
    batch = _scenario(1).enactors.batch_size(OTHERS + 1)
    assert batch == 10 and (OTHERS + 1) % batch == 0  # every batch full: no odd last batch
    steps = [n for seed in SEEDS for n in _stuck_steps(_run("aws2025", seed))]
    assert steps, "no clean-up left an endpoint stuck"
    # A clean-up falls between two endpoints of a batch in flight: the endpoints flipped
    # before it are stuck, the rest never flip. Whole batches only would give multiples of 10.
    assert any(n % batch for n in steps), steps


@pytest.mark.parametrize("discipline", ["aws2025", pytest.param("lww", marks=pytest.mark.slow)])
def test_the_probe_alarm_sees_every_stuck_endpoint(discipline: str) -> None:
    for seed in SEEDS:
        m = _run(discipline, seed).metrics
        assert m["stuck_endpoints"] > 0
        assert m["alarm"]["watches"] == "probes"
        # Every alarm says how many probed endpoints triggered it; the repairs mended them all.
        assert len(m["alarm"]["triggering_endpoints"]) == m["alarms"] > 0
        assert all(n >= 1 for n in m["alarm"]["triggering_endpoints"])
        assert m["alarm"]["stuck_unseen_at_end"] == 0 and m["stuck_at_end"] == 0
        assert m["flips_while_paused"] == 0


@pytest.mark.slow
def test_the_accounts_regional_alarm_stays_a_knob() -> None:
    for seed in SEEDS:
        m = _run("aws2025", seed, "regional").metrics
        assert m["alarm"]["watches"] == "regional"
        # Only the regional endpoint can trigger it.
        assert m["alarm"]["regional_alarms"] == m["alarms"]
        assert set(m["alarm"]["triggering_endpoints"]) <= {1}
        assert m["alarm"]["stuck_unseen_at_end"] <= m["stuck_at_end"]


class _Store:
    """Records which writer flipped which endpoint, in call order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    def flip_many(self, ids: Any, generation: int, mode: str, **kw: Any) -> FlipCounts:
        self.log.extend((kw["actor"], i) for i in ids)
        return FlipCounts(len(ids), 0, 0, 0, 0)


def test_overlapping_writes_flip_each_endpoint_in_instant_order() -> None:
    clock = [0.0]
    store = _Store()
    inflight = InFlight(store.flip_many, lambda: clock[0])
    ids = list(range(10))
    # a: endpoint e at e + 1; b starts later but is twice as fast and overtakes a at e = 0.
    a = inflight.start("a", "a", ids, 2, "lww", 10.0, None)
    clock[0] = 0.5
    b = inflight.start("b", "b", ids, 3, "lww", 5.0, None)
    clock[0] = 20.0
    inflight.settle()
    assert a.done and b.done
    for e in ids:
        order = [w for w, i in store.log if i == e]
        t = {"a": a.instant(e), "b": b.instant(e)}
        assert order == sorted(order, key=lambda w: (t[w], w)), (e, order, t)
    # Few calls, not one per endpoint: the flips that commute go together.
    assert len(store.log) == 20
    assert isinstance(a.ids, array)
