"""Phase 2: the lease managers' metastable collapse on small fleets with fixed seeds.

The fleet (2,000 droplets, 4 managers) is scaled by the model's own units (capacity follows
``utilisation``), so it behaves like the 1,000,000-droplet fleet of docs/guide/phase2.md.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest

pytest.importorskip("numpy")

from dnsrace.collapse.config import PRESETS, CollapseConfig, Recovery
from dnsrace.collapse.managers import CollapseRun, simulate
from dnsrace.collapse.metrics import FIELDS, summary
from dnsrace.collapse.sweep import sweep

SMALL = CollapseConfig(droplets=1000, managers=4, horizon_s=6000.0, seed=3)
SHORT_TRIGGER = 200.0  # shorter than a lease: most leases survive the outage
LONG_TRIGGER = 1200.0  # every lease has expired when the dependency returns


def run(preset: str | Recovery, trigger: float = LONG_TRIGGER, **knobs: Any) -> CollapseRun:
    recovery = PRESETS[preset] if isinstance(preset, str) else preset
    return _run(recovery, trigger, tuple(sorted(knobs.items())))


@functools.cache
def _run(recovery: Recovery, trigger: float, knobs: tuple[tuple[str, Any], ...]) -> CollapseRun:
    # Runs are deterministic, so tests asking for the same run share it.
    return simulate(SMALL.replace(trigger_s=trigger, **dict(knobs)), recovery)


def test_steady_fleet_renews_every_lease_through_the_store() -> None:
    r = run("aws2025", trigger=0.0)
    fig = summary(r)
    assert fig["recovered"] and not fig["metastable"]
    assert fig["leased_fraction_min"] == 1.0
    assert fig["retries"] == 0 and fig["expired_work"] == 0
    # One renewal per droplet per check period, each a grant in the store (plus the first).
    periods = SMALL.horizon_s / SMALL.check_period_s
    assert r.successes == pytest.approx(SMALL.droplets * periods, rel=0.01)
    assert r.store_stats["leases_granted"] == r.successes + SMALL.droplets
    assert r.store_stats["lease_conflicts"] == 0


def test_aws2025_recovers_from_a_short_trigger_and_sticks_after_a_long_one() -> None:
    short = summary(run("aws2025", SHORT_TRIGGER))
    assert short["recovered"] and not short["metastable"]
    long = summary(run("aws2025", LONG_TRIGGER))
    assert long["metastable"] and not long["recovered"]
    # Stuck with the dependency back for two hours: leases gone, work done only to be late.
    assert long["leased_fraction_end"] < 0.05
    assert long["expired_work"] > SMALL.droplets
    assert long["queue_max"] == SMALL.droplets


@pytest.mark.parametrize("preset", ["restart", "restart_scheduled"])
def test_the_operators_restart_ends_the_collapse(preset: str) -> None:
    r = run(preset, LONG_TRIGGER)
    fig = summary(r)
    back = SMALL.trigger_at_s + LONG_TRIGGER
    assert fig["metastable"] and fig["recovered"]
    assert r.restarts and r.restarts[0] > back
    assert fig["time_to_recover_s"] > r.restarts[0] - back


@pytest.mark.parametrize("preset", ["throttle", "lifo_drop", "backoff"])
def test_each_fix_recovers_by_itself(preset: str) -> None:
    fig = summary(run(preset, LONG_TRIGGER))
    assert fig["recovered"] and not fig["metastable"], fig
    assert not run(preset, LONG_TRIGGER).restarts


def test_renewals_first_does_not_help_once_every_lease_expired() -> None:
    # docs/guide/phase2.md states this limit: with all leases gone there is nothing to renew first.
    assert summary(run("renewals_first", LONG_TRIGGER))["metastable"]
    assert summary(run("renewals_first", SHORT_TRIGGER))["recovered"]


MECHANISMS = {
    "deadline": ({}, {"deadline_s": None}),
    "load-dependent cost": ({}, {"load_cost": 0.0}),
}


@pytest.mark.parametrize("mechanism", ["deadline", "retry", "load-dependent cost"])
def test_removing_one_mechanism_removes_the_collapse(mechanism: str) -> None:
    """Same trigger, same seed: stuck with every mechanism, recovered without this one."""
    with_it = summary(run("aws2025", LONG_TRIGGER))
    assert with_it["metastable"]
    if mechanism == "retry":
        without = run(dataclasses.replace(PRESETS["aws2025"], retry="off"), LONG_TRIGGER)
        assert without.retries == 0
    else:
        without = run("aws2025", LONG_TRIGGER, **MECHANISMS[mechanism][1])
    fig = summary(without)
    assert fig["recovered"] and not fig["metastable"], fig
    if mechanism == "deadline":
        assert fig["expired_work"] == 0


def test_same_seed_same_run_other_seed_other_run() -> None:
    a = run("backoff", LONG_TRIGGER)
    b = simulate(SMALL.replace(trigger_s=LONG_TRIGGER), PRESETS["backoff"])
    assert a is not b and summary(a) == summary(b)
    assert (a.leased == b.leased).all() and (a.queued == b.queued).all()
    c = simulate(SMALL.replace(trigger_s=LONG_TRIGGER, seed=4), PRESETS["backoff"])
    assert not (c.queued == a.queued).all()


def test_summary_has_exactly_the_documented_fields() -> None:
    assert tuple(sorted(summary(run("aws2025", SHORT_TRIGGER)))) == tuple(sorted(FIELDS))


def test_sweep_shows_stable_vulnerable_and_metastable_cells() -> None:
    (res,) = sweep(
        SMALL,
        [PRESETS["aws2025"]],
        triggers=(0.0, SHORT_TRIGGER, LONG_TRIGGER),
        loads=(0.2, 0.5),
    )
    light, usual = res.outcomes
    assert light[0] == "ok" and "stuck" not in light
    assert usual[0] == "ok" and usual[1] in ("ok", "recovered") and usual[2] == "stuck"
