"""Violation curves from schedule exploration (``dnsrace.sim.explore``, the API behind
``dnsrace explore``): for each preset, the share of seeded runs that violate an invariant
(stale flip, empty answer, stuck endpoint, not converged) as one knob of a small incident
scenario moves, and how many seeds it took to the first violation.

The base scenario is the incident replay at ``ENDPOINTS`` endpoints, shortened to
``DURATION_S`` of publishing; its faults are the incident's except the axis being swept:

- ``pause``: GC-like pauses of a median length of x times the lease TTL (sigma 0.1, one a
  minute per enactor), x from 0.1 to 10;
- ``enactors``: the number of enactors (2 to 32);
- ``rate``: plans published per minute (the planner's interval is 60 / rate seconds).

Each (axis, value, preset) point is one job of a campaign (:mod:`dnsrace.campaign`); its counts
are a function of the seeds alone, its ``timing`` a measurement of the machine that ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dnsrace.campaign import Campaign
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import explore_preset
from dnsrace.sim.scenario import (
    Scenario,
    apply_overrides,
    incident_scenario,
    parse_scenario,
    scenario_to_dict,
)

AXES: tuple[str, ...] = ("pause", "enactors", "rate")
ENDPOINTS = 20
DURATION_S = 120.0
TTL_S = 10.0
SEED = 1


def axis_overrides(axis: str, value: float) -> dict[str, Any]:
    if axis == "pause":
        median = value * TTL_S
        return {
            "faults.pauses.rate_per_min": 1.0,
            "faults.pauses.median_s": median,
            "faults.pauses.sigma": 0.1,
            "faults.pauses.max_s": max(60.0, 3 * median),
        }
    if axis == "enactors":
        return {"enactors.count": int(value)}
    if axis == "rate":
        return {"planner.interval_s": 60.0 / value}
    raise ValueError(f"unknown axis {axis!r}")


def scenario_at(axis: str, value: float) -> Scenario:
    base = scenario_to_dict(incident_scenario(endpoints=ENDPOINTS, seed=SEED))
    fixed: Mapping[str, Any] = {"duration_s": DURATION_S, "enactors.lease_ttl_s": TTL_S}
    return parse_scenario(apply_overrides(base, {**fixed, **axis_overrides(axis, value)}))


def violation_cell(axis: str, value: float, preset: str, runs: int) -> dict[str, Any]:
    """One point of one curve (a campaign job): ``runs`` seeded runs from ``SEED``, in this
    process."""
    found = explore_preset(
        scenario_at(axis, value), lookup(preset), runs=runs, schedule="random", depth=3, seed=SEED
    )
    first = found.first_violation_seed
    return {
        "axis": axis,
        "value": value,
        "preset": preset,
        "runs": found.runs,
        "violating_runs": found.violating_runs,
        "share": found.violating_runs / found.runs,
        "by_kind": dict(found.by_kind),
        "seeds_to_first": None if first is None else first - SEED + 1,
        "timing": {"wall_s": found.wall_s},
    }


def violation_curves(
    campaign: Campaign,
    axes: Mapping[str, Sequence[float]],
    presets: Sequence[str],
    runs: int,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Every (axis, value, preset) point as a job of ``campaign``, rows in that order."""
    cells = [
        (axis, value, preset, runs)
        for axis, values in axes.items()
        for value in values
        for preset in presets
    ]
    return campaign.map(violation_cell, cells, done=progress)
