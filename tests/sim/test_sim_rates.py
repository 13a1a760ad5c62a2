"""Rates over seeds: the Wilson interval, the per-hour conversion, and per-seed results that do
not depend on how many processes ran them (small fleets, five-minute runs: a few seconds)."""

from __future__ import annotations

import math

import pytest

from dnsrace.app.rates_report import rates_document
from dnsrace.app.report import dumps
from dnsrace.sim.rates import per_hour, run_seeds, summarize, wilson
from dnsrace.sim.scenario import Scenario, incident_scenario


def test_wilson_interval_known_values() -> None:
    # No success in 10 trials: the upper end is z^2 / (n + z^2).
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(1.959964**2 / (10 + 1.959964**2), rel=1e-6)
    # Symmetric around one half, inside [0, 1], narrower with more trials.
    low, high = wilson(5, 10)
    assert low == pytest.approx(1 - high) and 0 < low < 0.5 < high < 1
    assert wilson(50, 100)[1] - wilson(50, 100)[0] < high - low
    assert wilson(10, 10) == (pytest.approx(1 - wilson(0, 10)[1]), pytest.approx(1.0))
    assert wilson(0, 0) == (0.0, 1.0)


def test_per_hour_from_shorter_runs() -> None:
    assert per_hour(0.5, 3600.0) == 0.5
    # Two independent half hours with p = 0.5 each: 0.75 per hour.
    assert per_hour(0.5, 1800.0) == pytest.approx(0.75)
    assert per_hour(0.0, 60.0) == 0.0 and per_hour(1.0, 60.0) == 1.0
    assert math.isclose(per_hour(0.1, 7200.0), 1 - math.sqrt(0.9))


def test_summary_reads_the_records() -> None:
    records = [
        {
            "seed": s,
            "regional_incidents": int(s % 2 == 0),
            "stuck_endpoints": s,
            "empty_endpoint_seconds": 10.0 * s,
            "stale_flips": 0,
            "stuck_at_end": 0,
            "stuck_unseen_at_end": 0,
            "detect_s": [30.0 + s] if s % 2 == 0 else [],
            "repair_s": [100.0 + s] if s % 2 == 0 else [],
        }
        for s in range(1, 11)
    ]
    r = summarize(records, 3600.0)
    assert r["runs_with_regional_incident"] == 5
    assert r["regional_incident_per_hour"]["p"] == 0.5
    assert r["regional_incident_per_hour"]["wilson95"] == list(wilson(5, 10))
    assert r["stuck_endpoints"] == {"median": 5.0, "p90": 9.0, "max": 10.0}
    assert r["time_to_detect_s"] == {"median": 36.0, "p90": 40.0, "max": 40.0}


def _small() -> Scenario:
    return incident_scenario(endpoints=60, presets=("aws2025", "cas")).replace(duration_s=300.0)


@pytest.mark.slow
def test_per_seed_results_are_byte_identical_however_they_run() -> None:
    scenario = _small()
    one = dumps(rates_document(scenario, (1, 3), "rust", run_seeds(scenario, [1, 2, 3])))
    two = dumps(rates_document(scenario, (1, 3), "rust", run_seeds(scenario, [1, 2, 3], workers=2)))
    assert one == two
    assert b'"per_seed"' in one and b'"wilson95"' in one
    other = dumps(rates_document(scenario, (4, 6), "rust", run_seeds(scenario, [4, 5, 6])))
    assert other != one


def test_a_seed_range_runs_on_the_campaign_it_is_given() -> None:
    # --executor ray hands run_seeds a cluster's campaign: every run must go through its map
    # (tests/integration/processes/test_ray_campaign.py runs it on a real cluster).
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from dnsrace.campaign import Campaign

    class Recording(Campaign):
        kind = "recording"

        def __init__(self) -> None:
            self.jobs: list[int] = []

        def map(self, fn: Callable[..., Any], jobs: Iterable[Sequence[Any]]) -> list[Any]:
            todo = list(jobs)
            self.jobs.append(len(todo))
            return [fn(*job) for job in todo]

    scenario = _small()
    recording = Recording()
    on_campaign = run_seeds(scenario, [1, 2], campaign=recording)
    assert recording.jobs == [2 * len(scenario.discipline_list())]
    assert dumps(on_campaign) == dumps(run_seeds(scenario, [1, 2]))
