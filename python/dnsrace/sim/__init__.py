"""The simulator: planner, enactors, write disciplines, faults and clocks.

Entry points: :func:`dnsrace.sim.runner.run_discipline` runs one scenario under one discipline;
:func:`dnsrace.sim.scenario.incident_scenario` and :func:`dnsrace.sim.scenario.load_scenario`
make scenarios; :data:`dnsrace.sim.disciplines.PRESETS` lists the write disciplines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dnsrace.sim.disciplines import ABLATIONS, ALL, PRESETS, Discipline
    from dnsrace.sim.runner import RunResult, run_discipline
    from dnsrace.sim.scenario import Scenario, ScenarioError, incident_scenario, load_scenario

__all__ = [
    "ABLATIONS",
    "ALL",
    "PRESETS",
    "Discipline",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "incident_scenario",
    "load_scenario",
    "run_discipline",
]

# Loaded on first use, so that the light submodules (schedule, clock) import without the
# simulator's optional dependencies (the sim extra).
_HOMES = {
    "ABLATIONS": "disciplines",
    "ALL": "disciplines",
    "PRESETS": "disciplines",
    "Discipline": "disciplines",
    "RunResult": "runner",
    "run_discipline": "runner",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "incident_scenario": "scenario",
    "load_scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dnsrace.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dnsrace.sim.{home}"), name)
