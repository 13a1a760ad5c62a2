"""The DNS Planner: publishes a plan generation for every endpoint, periodically or in bursts.

Publishing stores the plan's trees (``put_plan``) and announces the generation on the
:class:`PlanBoard`, where the enactors pick up the newest plan. The board also holds the
"applied" marker that the 2025 enactor compared a plan with once, when it picked it up.
"""

from __future__ import annotations

import asyncio
import random
import types
from array import array
from collections.abc import Callable, Generator
from typing import Any

from dnsrace.seeds import substream
from dnsrace.sim.fleet import Fleet
from dnsrace.sim.lastone import LastOne
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.scenario import Scenario

__all__ = ["PlanBoard", "Planner", "publication_times"]


class PlanBoard:
    """Newest published generation, publication times, the applied marker, and the
    automation switch the operator turns off while repairing.

    Waiters are bare futures, woken in the order they started waiting: what an
    ``asyncio.Event`` replaced at every publication does (the same futures, callbacks and
    order), without its lock-guarded loop binding and its extra frame per wait."""

    def __init__(self) -> None:
        self.published_at: dict[int, float] = {}
        self.reset()

    def reset(self) -> None:
        """A new board's state, for another run (an exploration's runs reuse one board)."""
        self.newest = 0
        self.applied = 0
        """Newest generation some enactor finished applying (what 'newer than' compares to)."""
        self.published_at.clear()
        self._changed: list[asyncio.Future[bool]] = []
        self.automation_on = True
        self._resumed: list[asyncio.Future[bool]] = []

    def pause_automation(self) -> None:
        self.automation_on = False
        self._resumed = []

    def resume_automation(self) -> None:
        self.automation_on = True
        _wake_all(self._resumed)

    async def wait_automation(self) -> None:
        """Wait until the automation is on again."""
        while not self.automation_on:
            waiter = asyncio.get_running_loop().create_future()
            self._resumed.append(waiter)
            await waiter

    def publish(self, generation: int, now: float) -> None:
        self.newest = generation
        self.published_at[generation] = now
        waiters, self._changed = self._changed, []
        for waiter in waiters:  # _wake_all, inline: every publication comes here
            if not waiter.done():
                waiter.set_result(True)

    def mark_applied(self, generation: int) -> None:
        if generation > self.applied:
            self.applied = generation

    async def wait_newer(self, than: int) -> int:
        """Wait until a generation newer than ``than`` is published; return the newest."""
        while self.newest <= than:
            waiter = asyncio.get_running_loop().create_future()
            self._changed.append(waiter)
            await waiter
        return self.newest


@types.coroutine
def _yield_now() -> Generator[None, None, None]:
    """What ``asyncio.sleep(0)`` does: one bare yield (the task steps again at its next
    turn)."""
    yield


def _wake_all(waiters: list[asyncio.Future[bool]]) -> None:
    """Wake every waiter still waiting (a cancelled one is done already)."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(True)


def publication_times(scenario: Scenario, rng: random.Random) -> list[float]:
    """When the planner publishes during ``[0, duration)``: every interval plus bursts."""
    cfg = scenario.planner
    end = scenario.duration_s
    times: list[float] = []
    if cfg.interval_s == 0:
        # Back to back: every plan at once, the schedule alone decides the interleaving.
        return [0.0] * max(0, cfg.plans - 1)
    k = 1
    while k * cfg.interval_s < end:
        times.append(k * cfg.interval_s)
        k += 1
    bursts = [(b.at_s, b.plans, b.gap_s) for b in cfg.bursts]
    if cfg.burst_rate_per_min > 0:
        t = rng.expovariate(cfg.burst_rate_per_min / 60.0)
        while t < end:
            bursts.append((t, rng.randint(*cfg.burst_plans), cfg.burst_gap_s))
            t += rng.expovariate(cfg.burst_rate_per_min / 60.0)
    for at, plans, gap in bursts:
        times.extend(at + i * gap for i in range(plans))
    times = sorted(t for t in times if t < end)
    return times[: cfg.plans - 1] if cfg.plans else times


_buffers: dict[tuple[int, int], tuple[array[int], array[int]]] = {}


def _plan_buffers(ids: list[int], groups: int) -> tuple[array[int], array[int]]:
    """The plan's endpoint ids and each one's group, as buffers the store reads without one
    Python object per endpoint. Every run of one scenario registers the same ids (0 ..
    n-1): made once per process and shared (the store only reads them)."""
    n = len(ids)
    if ids != list(range(n)):
        return _make_plan_buffers(ids, groups)
    found = _buffers.get((n, groups))
    if found is None:
        if len(_buffers) > 8:
            _buffers.clear()
        found = _buffers[(n, groups)] = _make_plan_buffers(ids, groups)
    return found


def _make_plan_buffers(ids: list[int], groups: int) -> tuple[array[int], array[int]]:
    set_index = array("I", [0] + [1 + (i % groups) for i in range(len(ids) - 1)])
    return array("I", ids), set_index


_times: LastOne[list[float]] = LastOne()
"""The publication times of the last planner settings and duration without random bursts."""


def _publication_times(scenario: Scenario) -> list[float]:
    """:func:`publication_times` of this run; made once for the many runs (seeds) of one
    exploration when no random burst can move them."""
    cfg = scenario.planner
    if cfg.burst_rate_per_min > 0:
        return publication_times(scenario, substream(scenario.seed, "planner", "bursts"))
    # Without random bursts the stream is never drawn from: any stream will do.
    times = _times.get(
        (cfg, scenario.duration_s), lambda: publication_times(scenario, random.Random(0))
    )
    return list(times)


class Planner:
    """Watches the fleet and publishes plans built from a few shared LB groups."""

    def __init__(
        self,
        scenario: Scenario,
        store: ObservedStore,
        board: PlanBoard,
        metrics: Metrics,
        ids: list[int],
        now: Callable[[], float],
    ) -> None:
        self._scenario = scenario
        self._store = store
        self._board = board
        self._metrics = metrics
        self._now = now
        rng = substream(scenario.seed, "planner")
        ep = scenario.endpoints
        # Group 0 serves the regional endpoint alone; the others share groups 1..groups.
        self._fleet = Fleet(scenario.fleet, groups=ep.groups + 1, targets=ep.targets, rng=rng)
        self._ids, self._set_index = _plan_buffers(ids, ep.groups)
        self._times = _publication_times(scenario)
        self.generation = 0
        self.latest_plan: Any = None

    @property
    def schedule(self) -> list[float]:
        return list(self._times)

    def publish(self) -> int:
        """Build, store and announce the next generation (fleet events happen first)."""
        gen = self.generation = self.generation + 1
        fleet, store = self._fleet, self._store
        if gen > 1:
            fleet.step()
        plan = self.latest_plan = store.build_plan(
            gen, fleet.group_sets(), self._ids, self._set_index
        )
        store.put_plan(plan)
        now = self._now()
        self._board.publish(gen, now)
        if gen > 1:
            self._metrics.on_publish(now, gen)
        return gen

    async def run(self) -> None:
        """Publish on schedule until the scenario's duration is over."""
        loop = asyncio.get_running_loop()
        start = loop.time() - self._now()
        for t in self._times:
            # Always yield: publishing is a step the schedule orders like any other.
            delay = start + t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                await _yield_now()  # asyncio.sleep(0)'s one bare yield, without its frame
            self.publish()
