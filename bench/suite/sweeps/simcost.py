"""Simulation cost: the incident replay (``dnsrace incident``'s scenario, virtual clock) per
preset at growing fleet sizes, its wall time and the share of that wall time spent inside
store calls, with the exponent of wall time against endpoints fitted by least squares on
log-log axes.

Each (preset, size) is one job of a campaign (:mod:`dnsrace.campaign`, local processes or a Ray
cluster). A row's counts (flip attempts, stale flips) are a function of the seeded replay alone;
its ``timing`` (and the exponents fitted from it, under the section's ``timing``) measures the
speed of whatever machine ran the job, with whatever else ran beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from dnsrace.campaign import Campaign
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.runner import run_discipline
from dnsrace.sim.scenario import incident_scenario


def replay(preset: str, endpoints: int, duration_s: float | None = None) -> dict[str, Any]:
    """One replay (a campaign job); ``duration_s`` shortens the publishing hour (the tests'
    tiny runs)."""
    scenario = incident_scenario(endpoints=endpoints - 1, presets=(preset,))
    if duration_s is not None:
        scenario = scenario.replace(duration_s=duration_s)
    result = run_discipline(scenario, lookup(preset), store="rust")
    p, m = result.perf, result.metrics
    return {
        "preset": preset,
        "endpoints": scenario.total_endpoints,
        "duration_s": scenario.duration_s,
        "flip_attempts": m["flip_attempts"],
        "stale_flips": m["stale_flips"],
        "timing": {
            "wall_s": p["wall_s"],
            "cpu_s": p["cpu_s"],
            "store_s": p["store_s"],
            "store_share": p["store_s"] / p["wall_s"],
        },
    }


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Slope of log(y) on log(x) (None with fewer than two distinct sizes)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def sim_cost(
    campaign: Campaign,
    presets: Sequence[str],
    sizes: Sequence[int],
    duration_s: float | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Every (preset, size) replay as a job of ``campaign``, rows in that order."""
    cells = [(preset, n, duration_s) for preset in presets for n in sizes]
    rows = campaign.map(replay, cells, done=progress)
    exponents, top = {}, {}
    for p in presets:
        pts = sorted((r["endpoints"], r["timing"]["wall_s"]) for r in rows if r["preset"] == p)
        exponents[p] = fit_exponent([x for x, _ in pts], [y for _, y in pts])
        # The slope between the two largest fleets: where the per-run fixed cost (the
        # simulated hour's planner, clocks and faults) weighs least.
        top[p] = fit_exponent([x for x, _ in pts[-2:]], [y for _, y in pts[-2:]])
    return {"rows": rows, "timing": {"exponent": exponents, "exponent_top": top}}
