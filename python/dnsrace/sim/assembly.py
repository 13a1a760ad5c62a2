"""One run's parts, put together in one place for the simulator and for the processes.

:mod:`dnsrace.sim.runner` builds a whole run in one event loop; :mod:`dnsrace.dist.roles`
builds the planner's side in one process and each enactor in another. Both take the names,
the walk, the clients' sample, the metrics collector, the steady state before the run (plan 1
applied everywhere) and each enactor from here, so a distributed run is the simulated one
with its roles in other processes, not a second copy of it.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from dnsrace.seeds import substream
from dnsrace.sim.clients import Clients
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.enactor import Enactor, batches
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.lastone import LastOne
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.operator import Operator
from dnsrace.sim.planner import PlanBoard, Planner
from dnsrace.sim.scenario import REGIONAL_ID, Scenario

__all__ = [
    "ControlPlane",
    "RunParts",
    "client_sample",
    "endpoint_names",
    "new_enactor",
    "new_metrics",
    "start_control_plane",
    "walk_batches",
    "walk_order",
]


def endpoint_names(scenario: Scenario) -> list[str]:
    """The regional endpoint (registered first: ``REGIONAL_ID``), then ``e1.<domain>`` ...
    ``eN.<domain>``."""
    ep = scenario.endpoints
    return [ep.regional, *(f"e{i}.{ep.domain}" for i in range(1, ep.count + 1))]


def walk_order(scenario: Scenario) -> list[int]:
    """The order the enactors walk the ids: the others in id order, with the regional
    endpoint at ``endpoints.regional_at`` of the way."""
    others = [i for i in range(scenario.total_endpoints) if i != REGIONAL_ID]
    at = round(scenario.endpoints.regional_at * len(others))
    return [*others[:at], REGIONAL_ID, *others[at:]]


def walk_batches(scenario: Scenario, endpoints: int) -> list[array[int]]:
    """The walk cut into the batches an enactor writes (``endpoints``: the fleet's size)."""
    return batches(walk_order(scenario), scenario.enactors.batch_size(endpoints))


def client_sample(scenario: Scenario, ids: list[int]) -> list[int]:
    """The endpoints the clients probe: the regional one first, then a seeded sample."""
    if scenario.clients.sample == 0 or len(ids) <= 1:
        return [REGIONAL_ID]  # nobody else to sample: the stream would draw nothing
    rng = substream(scenario.seed, "clients")
    others = [i for i in ids if i != REGIONAL_ID]
    return [REGIONAL_ID, *sorted(rng.sample(others, min(len(others), scenario.clients.sample)))]


def new_metrics(scenario: Scenario) -> Metrics:
    """The metrics collector of one run of ``scenario`` (every endpoint, regional first)."""
    return Metrics(
        scenario.total_endpoints,
        regional_name=scenario.endpoints.regional,
        current_window_s=scenario.current_window_s,
        regional=REGIONAL_ID,
    )


@dataclass(frozen=True)
class RunParts:
    """What every role of one run shares: the scenario, the store as observed, the plan
    board, the metrics collector and the run's clock."""

    scenario: Scenario
    store: ObservedStore
    board: PlanBoard
    metrics: Metrics
    now: Callable[[], float]


_calm: LastOne[dict[str, EnactorFaults]] = LastOne()
"""The last fault and enactor settings' (and duration's) enactor faults that no seed changes,
by enactor name."""


def _enactor_faults(scenario: Scenario, name: str) -> EnactorFaults:
    """Enactor ``name``'s faults; made once for the many runs (seeds) of one exploration
    when no stream is drawn (a calm scenario's: nothing in them changes during a run)."""
    calm = _calm.get((scenario.faults, scenario.enactors, scenario.duration_s), dict)
    found = calm.get(name)
    if found is None:
        found = EnactorFaults(scenario, name)
        if not found.seed_free:
            return found
        calm[name] = found
    return found


def new_enactor(
    parts: RunParts,
    name: str,
    discipline: Discipline,
    walk: list[array[int]],
    endpoints: int,
    *,
    incarnation: str | None = None,
    last: Enactor | None = None,
) -> Enactor:
    """Enactor ``name`` with its faults and its own seeded stream, for a fleet of
    ``endpoints``. ``incarnation`` sets a restarted process apart (a simulated restart
    continues its stream instead). ``last``: the last run's enactor of that name, reset
    instead of made anew when it has the same discipline, settings and walk."""
    scenario = parts.scenario
    extra = () if incarnation is None else (incarnation,)
    faults = (
        _enactor_faults(scenario, name) if incarnation is None else EnactorFaults(scenario, name)
    )
    rng = substream(scenario.seed, "enactor", name, *extra)
    if (
        last is not None
        and last.name == name
        and last.discipline is discipline
        and last.cfg is scenario.enactors
        and last.walk is walk
        and last.endpoints == endpoints
    ):
        last.reset(parts.store, parts.board, parts.metrics, faults, rng, parts.now)
        return last
    return Enactor(
        name,
        discipline,
        scenario.enactors,
        parts.store,
        parts.board,
        parts.metrics,
        faults,
        rng,
        walk,
        endpoints,
        parts.now,
    )


@dataclass
class ControlPlane:
    """The planner's side of a run: the planner, the operator and the clients who probe."""

    parts: RunParts
    planner: Planner
    operator: Operator
    sample: list[int]
    """The endpoints the clients resolve every round, the regional one first."""
    probes: Clients
    """The clients' rounds: the sample, the sweep, the names retried (the alarm's input)."""

    async def clients(self) -> None:
        """A round of probes every ``clients.probe_interval_s``; the operator hears each."""
        interval = self.parts.scenario.clients.probe_interval_s
        while True:
            self.probes.probe()
            await asyncio.sleep(interval)


def start_control_plane(
    parts: RunParts,
    ids: list[int],
    *,
    on_steady: Callable[[], None] | None = None,
    operator: Operator | None = None,
    probes: Clients | None = None,
) -> ControlPlane:
    """The steady state before the run, then the planner's side ready to run: plan 1 is
    published and applied everywhere (``on_steady`` is called then: a distributed run starts
    its clock), the metrics start from it, and the operator and clients are set up
    (``operator``, ``probes``: a last run's, reset instead of made anew when they have the
    same settings)."""
    scenario, store, board = parts.scenario, parts.store, parts.board
    metrics, now = parts.metrics, parts.now
    planner = Planner(scenario, store, board, metrics, ids, now)
    first = planner.publish()
    store.raw.flip_many(None, first, "lww")
    board.mark_applied(first)
    if on_steady is not None:
        on_steady()
    metrics.start(now(), first)
    rng = substream(scenario.seed, "operator")
    if operator is not None and operator.cfg is scenario.operator:
        operator.reset(store, planner, board, metrics, rng, now)
    else:
        operator = Operator(
            scenario.operator, store, planner, board, metrics, rng, REGIONAL_ID, now
        )
    sample = client_sample(scenario, ids)
    if probes is not None and probes.matches(scenario, ids, sample):
        probes.reset(store, operator)
    else:
        probes = Clients(scenario, store, operator, ids, sample)
    return ControlPlane(parts, planner, operator, sample, probes)
