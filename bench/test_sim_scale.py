"""Scale runs of the simulator (benchmarks, not correctness tests).

* virtual clock: 500,000 endpoints x 4 targets, 3 enactors, 20 plan generations
  (``scenarios/scale_500k.toml``), per preset; the budget is 60 s of wall time each.
* real clock on uvloop: 100,000 endpoints, 32 enactors contending
  (``scenarios/scale_real_100k.toml``), per preset.

Each run records in ``extra_info`` where the time went: wall and CPU seconds, seconds inside
store calls (by category) and their share of the CPU time, the rest being the Python loop.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from dnsrace.sim.disciplines import lookup
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
VIRTUAL_BUDGET_S = 60.0

try:
    importlib.import_module("dnsrace._core")
except ImportError:  # pragma: no cover - the build always has it
    pytest.skip("dnsrace._core is not built", allow_module_level=True)


def _record(benchmark: Any, result: RunResult) -> None:
    m, p = result.metrics, result.perf
    benchmark.extra_info.update(
        {
            "discipline": result.discipline.name,
            "endpoints": result.scenario.total_endpoints,
            "enactors": result.scenario.enactors.count,
            "plans_published": m["plans_published"],
            "flip_attempts": m["flip_attempts"],
            "useful_flips": m["useful_flips"],
            "converged": m["converged"],
            "convergence_max_s": m["convergence_s"]["max"],
            "stale_flips": m["stale_flips"],
            "lock_retries": m["lock_retries"],
            "wall_s": round(p["wall_s"], 3),
            "cpu_s": round(p["cpu_s"], 3),
            "store_s": round(p["store_s"], 3),
            "store_share_of_cpu": round(p["store_share"], 3),
            "python_s": round(p["python_s"], 3),
            "store_s_by_category": {k: round(v, 3) for k, v in p["store_s_by_category"].items()},
        }
    )


def _run_once(benchmark: Any, scenario: Any, preset: str) -> RunResult:
    """One timed run of a whole scenario on the Rust store, its figures recorded."""
    result: RunResult = benchmark.pedantic(
        run_discipline,
        args=(scenario, lookup(preset)),
        kwargs={"store": "rust"},
        rounds=1,
        iterations=1,
    )
    _record(benchmark, result)
    return result


@pytest.mark.parametrize("preset", ["lww", "aws2025", "lease", "fenced", "cas"])
def test_virtual_500k_endpoints(benchmark: Any, preset: str) -> None:
    scenario = load_scenario(SCENARIOS / "scale_500k.toml")
    assert scenario.total_endpoints == 500_000 and scenario.endpoints.targets == 4
    result = _run_once(benchmark, scenario, preset)
    assert result.metrics["plans_published"] == 20
    assert result.metrics["converged"]
    assert result.perf["wall_s"] < VIRTUAL_BUDGET_S


@pytest.mark.parametrize("preset", ["cas", "fenced", "aws2025"])
def test_real_clock_100k_endpoints_32_enactors(benchmark: Any, preset: str) -> None:
    scenario = load_scenario(SCENARIOS / "scale_real_100k.toml")
    assert scenario.total_endpoints == 100_000 and scenario.enactors.count == 32
    result = _run_once(benchmark, scenario, preset)
    assert result.metrics["converged"]
