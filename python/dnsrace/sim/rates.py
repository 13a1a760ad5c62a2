"""Rates over seeds: what a user reads instead of one seed's story.

A seed range runs every discipline of a scenario once per root seed (independent runs, so in
parallel wherever cores allow) and summarises, per discipline:

* the probability of a regional incident per simulated hour: the share of runs in which the
  regional endpoint answered empty at least once (``regional.incidents > 0``), with its 95 %
  Wilson score interval, converted from the run's duration to one hour as
  ``1 - (1 - p) ** (3600 / duration_s)`` (the interval's ends likewise);
* the distributions (median, p90, max; nearest rank) over seeds of the run metrics
  ``stuck_endpoints``, ``empty_endpoint_seconds`` and ``stale_flips``, and over the regional
  incidents of all seeds of the time to detect (from the regional endpoint's first empty answer
  to the alarm that turned the automation off) and the time to repair (until it answered
  again).

Every number is read from a run's metrics (:meth:`dnsrace.sim.metrics.Metrics.result`) or its
timeline; nothing here measures a run on its own. :func:`run_seeds` hands the runs to
:func:`local_map`, a process pool behind one small function, so that another executor (a Ray
cluster) can replace it.
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from dnsrace.campaign import Campaign
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.metrics import percentile
from dnsrace.sim.pool import worker_pool
from dnsrace.sim.runner import run_discipline
from dnsrace.sim.scenario import Scenario
from dnsrace.sim.timeline import RegionalTimeline

__all__ = [
    "MAX_SEEDS",
    "Z95",
    "local_map",
    "per_hour",
    "run_seeds",
    "seed_record",
    "summarize",
    "wilson",
]

MAX_SEEDS = 100_000
"""Most seeds of one range (``--seeds A-B``)."""
Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""
HOUR_S = 3600.0
DISTRIBUTIONS = ("stuck_endpoints", "empty_endpoint_seconds", "stale_flips")
"""Run metrics summarised over seeds (their one definition: dnsrace.sim.metrics)."""

T = TypeVar("T")
R = TypeVar("R")


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (``(0, 1)`` without trials)."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return (max(0.0, centre - half), min(1.0, centre + half))


def per_hour(p_run: float, duration_s: float) -> float:
    """A per-run probability as the probability of at least one event per hour (the runs'
    hazard taken as constant)."""
    if duration_s == HOUR_S or p_run in (0.0, 1.0):
        return p_run
    return 1.0 - float((1.0 - p_run) ** (HOUR_S / duration_s))


def _regional_times(timeline: RegionalTimeline) -> tuple[list[float], list[float]]:
    """Per regional empty window: seconds to the alarm that turned the automation off inside
    it, and seconds until the endpoint answered again (windows still open at the end give
    neither)."""
    detect, repair = [], []
    for w in timeline.empty:
        if w.end is None:
            continue
        repair.append(w.end - w.start)
        alarms = [a.start for a in timeline.automation_off if w.start <= a.start <= w.end]
        if alarms:
            detect.append(alarms[0] - w.start)
    return detect, repair


def seed_record(scenario: Scenario, discipline: Discipline, store: str) -> dict[str, Any]:
    """One seed's run under one discipline, reduced to what the rates need (small, so that a
    worker process sends little back)."""
    r = run_discipline(scenario, discipline, store=store)
    m = r.metrics
    detect, repair = _regional_times(r.timeline)
    return {
        "seed": scenario.seed,
        "regional_incidents": m["regional"]["incidents"],
        "regional_empty_s": m["regional"]["empty_seconds"],
        **{k: m[k] for k in DISTRIBUTIONS},
        "stuck_at_end": m["stuck_at_end"],
        "alarms": m["alarms"],
        "stuck_unseen_at_end": m.get("alarm", {}).get("stuck_unseen_at_end", 0),
        "detect_s": detect,
        "repair_s": repair,
    }


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "max": max(values) if values else None,
    }


def summarize(records: Sequence[dict[str, Any]], duration_s: float) -> dict[str, Any]:
    """The rates of one discipline from its seeds' records."""
    n = len(records)
    hit = sum(1 for r in records if r["regional_incidents"] > 0)
    low, high = wilson(hit, n)
    p = hit / n if n else 0.0
    return {
        "seeds": n,
        "runs_with_regional_incident": hit,
        "regional_incident_per_hour": {
            "p": per_hour(p, duration_s),
            "wilson95": [per_hour(low, duration_s), per_hour(high, duration_s)],
        },
        **{k: _spread([float(r[k]) for r in records]) for k in DISTRIBUTIONS},
        "time_to_detect_s": _spread([t for r in records for t in r["detect_s"]]),
        "time_to_repair_s": _spread([t for r in records for t in r["repair_s"]]),
        "runs_with_stuck_at_end": sum(1 for r in records if r["stuck_at_end"] > 0),
        "runs_with_unseen_stuck": sum(1 for r in records if r["stuck_unseen_at_end"] > 0),
    }


def _call(job: tuple[Callable[..., R], tuple[Any, ...]]) -> R:
    fn, args = job
    return fn(*args)


def local_map(
    fn: Callable[..., R],
    jobs: Iterable[tuple[Any, ...]],
    workers: int,
    done: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(*args) for args in jobs]`` in ``workers`` local processes (results in job order;
    ``done(k)`` after each finished job). The one place that knows how the runs are spread."""
    todo = list(jobs)
    if workers <= 1 or len(todo) <= 1:
        out = []
        for k, args in enumerate(todo):
            out.append(fn(*args))
            if done is not None:
                done(k)
        return out
    with worker_pool(min(workers, len(todo))) as pool:
        futures = {pool.submit(_call, (fn, args)): k for k, args in enumerate(todo)}
        results: dict[int, R] = {}
        for f in concurrent.futures.as_completed(futures):
            k = futures[f]
            results[k] = f.result()
            if done is not None:
                done(k)
    return [results[k] for k in range(len(todo))]


def run_seeds(
    scenario: Scenario,
    seeds: Sequence[int],
    *,
    store: str = "rust",
    workers: int = 1,
    done: Callable[[int], None] | None = None,
    campaign: Campaign | None = None,
) -> dict[str, Any]:
    """Every discipline of ``scenario`` on every seed; the per-seed records and the rates.
    ``campaign``: a cluster's campaign (``dnsrace.campaign.open_campaign("ray", ...)``) runs
    them instead of ``workers`` local processes; the records are the same bytes either way
    (each run is deterministic, and results are taken in job order)."""
    disciplines = scenario.discipline_list()
    jobs = [(scenario.with_seed(s), d, store) for d in disciplines for s in seeds]
    if campaign is None or campaign.kind == "local":
        records = local_map(seed_record, jobs, workers, done)
    else:
        records = campaign.map(seed_record, jobs)
        if done is not None:
            for k in range(len(jobs)):
                done(k)
    per_seed: dict[str, list[dict[str, Any]]] = {}
    for (_, d, _), rec in zip(jobs, records, strict=True):
        per_seed.setdefault(d.name, []).append(rec)
    return {
        "rates": {name: summarize(recs, scenario.duration_s) for name, recs in per_seed.items()},
        "per_seed": per_seed,
    }
