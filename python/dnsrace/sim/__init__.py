"""The simulator: planner, enactors, write disciplines, faults and clocks.

Entry points: :func:`dnsrace.sim.runner.run_discipline` runs one scenario under one discipline;
:func:`dnsrace.sim.scenario.incident_scenario` and :func:`dnsrace.sim.scenario.load_scenario`
make scenarios; :data:`dnsrace.sim.disciplines.PRESETS` lists the write disciplines.
"""

from __future__ import annotations

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
