"""One simulated run: a fresh store, the planner, K enactors, faults, clients and the operator.

:func:`run_discipline` runs a scenario under one discipline and returns its metrics, the
regional endpoint's timeline and performance figures. The run has two phases:
for ``duration_s`` the planner publishes and faults strike; then the fleet may settle for at
most ``drain_s`` (the run ends as soon as every enactor is idle, no repair is pending and,
with an operator who repairs, no endpoint is stuck).
On the virtual clock a schedule (:mod:`dnsrace.sim.schedule`) orders the tasks that are ready
at the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
import weakref
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from dnsrace.backends import Backend
from dnsrace.backends import backend as load_backend
from dnsrace.history._context import task_factory
from dnsrace.sim import clock
from dnsrace.sim.assembly import (
    RunParts,
    endpoint_names,
    new_enactor,
    new_metrics,
    start_control_plane,
    walk_batches,
)
from dnsrace.sim.clients import Clients
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.enactor import Enactor
from dnsrace.sim.fingerprint import simulation_state
from dnsrace.sim.lastone import LastOne
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore, StoreTimer
from dnsrace.sim.operator import Operator
from dnsrace.sim.planner import PlanBoard
from dnsrace.sim.scenario import REGIONAL_ID, Scenario
from dnsrace.sim.schedule import FifoSchedule, Schedule, declare, make_schedule
from dnsrace.sim.timeline import RegionalTimeline

__all__ = [
    "DEFAULT_HISTORY_CAPACITY",
    "HistorySink",
    "RunResult",
    "add_history_sink",
    "pct_horizon",
    "remove_history_sink",
    "run_discipline",
    "run_with_schedule",
]

Progress = Callable[[float], None]

#: Operations a run's history keeps (about 80 bytes each in memory; the ring drops older ones,
#: and a checked history must be whole: a run that drops some says so on stderr).
DEFAULT_HISTORY_CAPACITY = 5_000_000

#: Called after each run on the Rust store while registered, with the run's scenario,
#: discipline and recording store (``check_history``, ``history_bytes``, ``history_dropped``).
#: Tests use it to check every seeded run.
HistorySink = Callable[[Scenario, Discipline, Any], None]
#: Up to this many endpoints a sink gets every endpoint's history, beyond a sample this large
#: (plus the regional endpoint).
SINK_FULL_ENDPOINTS = 32
_history_sinks: list[HistorySink] = []


def add_history_sink(sink: HistorySink) -> None:
    """Record every following run's history (Rust store) and hand it to ``sink``."""
    _history_sinks.append(sink)


def remove_history_sink(sink: HistorySink) -> None:
    _history_sinks.remove(sink)


# How often (in run seconds) the drain checks whether the fleet has settled, and how often
# the progress callback hears the time.
_SETTLE_POLL_S = 1.0
_PROGRESS_S = 5.0


@dataclass
class RunResult:
    scenario: Scenario
    discipline: Discipline
    store: str
    metrics: dict[str, Any]
    timeline: RegionalTimeline
    perf: dict[str, Any] = field(default_factory=dict)
    enactor_names: list[str] = field(default_factory=list)
    steps: int = 0
    """Scheduling decisions taken (0 on the clock schedule, which does not count them)."""
    settled_steps: int = 0
    """The decisions taken until the fleet settled: a verdict-only run ends there (the
    whole run's further steps only unwind its waiting tasks), so the two agree on this."""


def _spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """``asyncio.create_task(coro, name=name)``; on the virtual loop without a task factory
    (an exploration run makes seven per run) the same task made without its layers."""
    loop = asyncio.get_running_loop()
    if isinstance(loop, clock.VirtualEventLoop) and loop._task_factory is None:  # type: ignore[attr-defined]
        # Named at creation: it takes no "Task-N" number then, which only unnamed tasks
        # show (and every name reader maps "Task-N" to "main").
        return asyncio.Task(coro, loop=loop, name=name)
    return asyncio.create_task(coro, name=name)


def _nothing() -> None:
    """The progress task's one step when nobody listens: it ends at once."""


def _no_progress(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """What the progress task is to the run when there is no progress callback and the
    schedule reads no task's footprint or name: one step that does nothing, at its place in
    the ready queue (a seeded schedule draws as before), then a finished future (cancelling
    it does nothing, gathering it takes one callback, as the finished task). Exploration
    runs skip the task's making, its step and its registry entry."""
    loop.call_soon(_nothing)
    done: asyncio.Future[None] = loop.create_future()
    done.set_result(None)
    return done


class _Supervisor:
    """Runs an enactor, crashes it on schedule and restarts it after the restart delay."""

    def __init__(self, enactor: Enactor, metrics: Metrics, *, footprints: bool = True) -> None:
        self.enactor = enactor
        self.faults = enactor.faults
        self.metrics = metrics
        self.down = False
        self.footprints = footprints
        """Whether the schedule reads footprints (else no :func:`declare` is needed)."""
        self.task: asyncio.Task[None] | None = None
        """The running incarnation's task."""
        self.abandoned = False
        """The run ended without cancelling: the incarnation's coroutine was closed."""

    async def run(self, now: Callable[[], float]) -> None:
        crashes = list(self.faults.crashes)
        while True:
            task = self.task = _spawn(self.enactor.run(), self.enactor.name)
            # Footprints for a schedule that uses them (POS, DFS): the enactor's first step
            # reads the board; this task's own steps touch nothing shared.
            if self.footprints:
                declare(reads=("board",), task=task)
                declare()
            try:
                while crashes and crashes[0].at < now():
                    crashes.pop(0)  # fell due while the enactor was down: it cannot die twice
                if not crashes:
                    await task
                    return
                crash = crashes.pop(0)
                done, _ = await asyncio.wait({task}, timeout=crash.at - now())
                if task in done:
                    task.result()
                    return
            finally:
                if not task.done() and not self.abandoned:
                    if self.footprints:
                        declare(task=task)  # cancelled: nothing shared on its way out
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self.metrics.on_crash(now=now(), actor=self.enactor.name)
            self.down = True
            await asyncio.sleep(crash.restart_after)
            self.down = False

    @property
    def idle(self) -> bool:
        return not self.down and self.enactor.idle


def _abandon(
    loop: asyncio.AbstractEventLoop,
    background: list[asyncio.Future[None]],
    supervisors: list[_Supervisor],
) -> None:
    """End a settled run's tasks without running their cancellation: close each waiting
    coroutine (an enactor's first, then its supervisor's, which then skips waiting for it),
    take them out of asyncio's registry of live tasks, and drop every queued step (a wake-up
    or a timer's callback due now: nothing of the run is read after this, and a wake-up of
    a closed coroutine would fail the task)."""
    tasks: list[asyncio.Future[None]] = [s.task for s in supervisors if s.task is not None]
    for s in supervisors:
        s.abandoned = True
    tasks.extend(background)
    for task in tasks:
        if not task.done():  # a task: what stands in for one (_no_progress) is done
            task._log_destroy_pending = False  # type: ignore[attr-defined]
            task.get_coro().close()  # type: ignore[attr-defined]
            asyncio.tasks._unregister_task(task)  # type: ignore[arg-type]
    loop._ready.clear()  # type: ignore[attr-defined]


class _Ending:
    """How a run ended: whether its fleet settled, and after how many decisions. Kept out of
    the simulating coroutine's locals, which the bounded search's fingerprints read."""

    __slots__ = ("settled", "steps")

    def __init__(self) -> None:
        self.settled = False
        self.steps = 0


_embedded: dict[str, Backend] = {}


def _backend(name: str) -> Backend:
    """The store backend called ``name``; an embedded one looked up once per process (a
    distributed one is made per run: each new one empties its namespace)."""
    found = _embedded.get(name)
    if found is None:
        found = load_backend(name)
        if name in ("rust", "embedded", "reference"):
            _embedded[name] = found
    return found


_fixed: LastOne[tuple[list[str], list[array[int]]]] = LastOne()
"""The endpoint names and walk of the last endpoint and enactor settings."""


def _names_and_walk(scenario: Scenario) -> tuple[list[str], list[array[int]]]:
    """The endpoint names and the enactors' walk, which depend on the endpoint and enactor
    settings alone: made once for the many runs (seeds) of one exploration, not per run."""

    def make() -> tuple[list[str], list[array[int]]]:
        names = endpoint_names(scenario)
        return names, walk_batches(scenario, len(names))

    names, walk = _fixed.get((scenario.endpoints, scenario.enactors), make)
    return list(names), walk


@dataclass
class _Kept:
    """What the last verdict-only run on one loop leaves to the next run on that loop (runs on
    one loop come one after another; a loop in another thread has its own)."""

    metrics: Metrics | None = None
    store: ObservedStore | None = None
    board: PlanBoard | None = None
    operator: Operator | None = None
    probes: Clients | None = None
    enactors: dict[str, Enactor] = field(default_factory=dict)
    timer: StoreTimer = field(default_factory=StoreTimer)
    """The store timer of every verdict-only run on the loop: untimed, nothing writes it."""


_kept_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Kept] = (
    weakref.WeakKeyDictionary()
)


def _kept_for(loop: asyncio.AbstractEventLoop) -> _Kept:
    """The objects verdict-only runs on ``loop`` reuse."""
    kept = _kept_by_loop.get(loop)
    if kept is None:
        kept = _kept_by_loop[loop] = _Kept()
    return kept


def _verdict_metrics(scenario: Scenario, kept: _Kept) -> Metrics:
    """The metrics collector of a verdict-only run: the last one's on this loop, reset, when
    it has the same fleet (an exploration's runs differ by their seed alone). Only
    verdict-only runs share it: what they hand out (the verdict, a new timeline) is made per
    run."""
    if kept.metrics is not None:
        ep = scenario.endpoints
        if kept.metrics.matches(scenario.total_endpoints, ep.regional, scenario.current_window_s):
            kept.metrics.reset()
            return kept.metrics
    made = kept.metrics = new_metrics(scenario)
    return made


def _run_store(
    chosen: Backend,
    metrics: Metrics,
    now: Callable[[], float],
    timer: StoreTimer,
    capacity: int,
    kept: _Kept | None,
) -> ObservedStore:
    """The run's store as observed: for an unrecorded verdict-only run (``kept``) on an
    embedded store, the last such run's wrapper on this loop with a new store behind it,
    else a new one."""
    if kept is None or capacity or all(chosen is not b for b in _embedded.values()):
        timed = kept is None
        return ObservedStore(chosen, metrics, now, timer, history=capacity, timed=timed)
    if kept.store is not None and kept.store.backend is chosen:
        kept.store.renew(metrics, now, timer)
        return kept.store
    made = kept.store = ObservedStore(chosen, metrics, now, timer, timed=False)
    return made


def _run_board(kept: _Kept | None) -> PlanBoard:
    """The run's plan board: a verdict-only run's (``kept``) is the last one's on this loop,
    reset."""
    if kept is None:
        return PlanBoard()
    if kept.board is None:
        kept.board = PlanBoard()
    else:
        kept.board.reset()
    return kept.board


async def _simulate(
    scenario: Scenario,
    discipline: Discipline,
    store_name: str,
    timer: StoreTimer | None,
    progress: Progress | None,
    snapshot: str | None = None,
    history: str | None = None,
    verdict_only: bool = False,
    ending: _Ending | None = None,
) -> tuple[dict[str, Any], RegionalTimeline, list[str]]:
    loop = asyncio.get_running_loop()
    if ending is None:
        ending = _Ending()
    t0 = loop.time()

    def since_start() -> float:
        return loop.time() - t0

    # A virtual loop starts the run at 0: its time is the run's (x - 0.0 is x), one call less
    # for each of the run's many reads of the time.
    now: Callable[[], float] = loop.time if t0 == 0.0 else since_start
    kept = _kept_for(loop) if verdict_only else None
    if timer is None:  # a verdict-only run reads no time: its loop's timer, never written
        timer = kept.timer if kept is not None else StoreTimer()
    metrics = new_metrics(scenario) if kept is None else _verdict_metrics(scenario, kept)
    metrics.keep_timeline = not verdict_only
    chosen = _backend(store_name)
    sinks = list(_history_sinks) if chosen.new_recording_store is not None else []
    capacity = DEFAULT_HISTORY_CAPACITY if history is not None or sinks else 0
    if capacity == 0 and loop.get_task_factory() is task_factory:
        # No history: a task need not know itself from its creation (the binding puts the
        # factory back at a recording run's first call), and exploration makes ~7 per run.
        loop.set_task_factory(None)
    store = _run_store(chosen, metrics, now, timer, capacity, kept)
    names, walk = _names_and_walk(scenario)
    ids = store.add_endpoints(names)
    if sinks and history is None and len(ids) > SINK_FULL_ENDPOINTS:
        # A sink (a test) gets a sample of endpoints: each one's history is whole.
        step = -(-(len(ids) - 1) // SINK_FULL_ENDPOINTS)  # at most SINK_FULL_ENDPOINTS
        store.raw.set_history_endpoints(sorted({REGIONAL_ID, *ids[1::step]}))  # type: ignore[attr-defined]
    board = _run_board(kept)

    schedule = getattr(loop, "schedule", None)
    footprints = bool(getattr(schedule, "uses_footprints", False))
    # This task publishes plans (trees, board) and ends the run once every enactor is idle
    # (flags their board steps set): its footprint for a schedule that uses them.
    if footprints:
        declare(reads=("board", "trees"), writes=("board", "trees"))

    parts = RunParts(scenario, store, board, metrics, now)
    if kept is None:
        control = start_control_plane(parts, ids)
    else:
        control = start_control_plane(parts, ids, operator=kept.operator, probes=kept.probes)
        kept.operator, kept.probes = control.operator, control.probes
    planner, operator = control.planner, control.operator
    last = {} if kept is None else kept.enactors
    supervisors = [
        _Supervisor(
            new_enactor(parts, name, discipline, walk, len(ids), last=last.get(name)),
            metrics,
            footprints=footprints,
        )
        for name in scenario.enactor_names
    ]
    if kept is not None:
        kept.enactors.update((s.enactor.name, s.enactor) for s in supervisors)
    del kept, last
    if getattr(schedule, "uses_fingerprints", False) and hasattr(store.raw, "state"):
        # The bounded search skips states it has seen (dnsrace.sim.fingerprint).
        schedule.state = functools.partial(  # type: ignore[union-attr]
            simulation_state, loop, store.raw, ids, board, planner, supervisors, operator, metrics
        )

    async def ticker() -> None:
        while progress is not None:
            progress(now())
            await asyncio.sleep(_PROGRESS_S)

    background: list[asyncio.Future[None]] = [
        _spawn(s.run(now), f"supervisor-{s.enactor.name}") for s in supervisors
    ]
    background.append(_spawn(control.clients(), "clients"))
    if progress is None and not footprints and loop._task_factory is None:  # type: ignore[attr-defined]
        background.append(_no_progress(loop))
    else:
        background.append(_spawn(ticker(), "progress"))
    if footprints:
        spawned = cast("list[asyncio.Task[None]]", background)  # tasks, every one
        for task in spawned[:-2]:
            declare(task=task)  # a supervisor's first step starts its enactor: nothing shared
        # The clients resolve, and the operator may switch the automation off in the same
        # step.
        probed = ids if control.probes.reads_everything else control.sample
        resolved = [*(("alias", i) for i in probed), "trees"]
        declare(reads=resolved, writes=("board",), task=spawned[-2])
        if progress is None:
            declare(task=spawned[-1])
    quiet = False
    try:
        await planner.run()
        if now() < scenario.duration_s:
            await asyncio.sleep(scenario.duration_s - now())
        deadline = scenario.duration_s + scenario.drain_s
        while now() < deadline:
            # Settled: every enactor idle, no repair under way, and nothing stuck that an
            # operator could still see and repair.
            stuck = scenario.operator.repair and bool(metrics.dangling)
            if operator.pending == 0 and not stuck and all(s.idle for s in supervisors):
                ending.settled = True
                ending.steps = getattr(schedule, "steps", 0)
                break
            await asyncio.sleep(min(_SETTLE_POLL_S, deadline - now()))
        for part in background:
            if part.done():
                part.result()  # surface a crash of the simulator itself
        # A settled fleet only waits: cancelled, every task just unwinds (no store call, no
        # metric), so a verdict-only run, which reads nothing after this, skips those steps
        # (unless the schedule searches them too: the bounded search counts every step).
        quiet = verdict_only and ending.settled and not getattr(schedule, "whole_run", False)
    finally:
        if quiet:
            _abandon(loop, background, supervisors)
        else:
            for part in background:
                if footprints:
                    # A cancelled task touches nothing shared on its way out.
                    declare(task=cast("asyncio.Task[None]", part))
                part.cancel()
            await asyncio.gather(*background, return_exceptions=True)
    end = now()
    if progress is not None:
        progress(end)
    if verdict_only:
        # An exploration run: its verdict is all that is read (a violating run is replayed
        # whole by `dnsrace run` with the same seed and schedule).
        report = metrics.verdict(store.stats())
    else:
        report = metrics.result(end, store.stats())
        report["operator_unrepairable"] = list(operator.unrepairable)
        report["alarm"] = {
            "watches": scenario.operator.alarm,
            "regional_alarms": sum(1 for _, _, regional in operator.alarm_log if regional),
            "triggering_endpoints": [n for _, n, _ in operator.alarm_log],
            "stuck_unseen_at_end": operator.unseen(metrics.dangling),
        }
    if snapshot is not None:
        # Only the embedded stores can save themselves (a distributed one has its own means).
        save = getattr(store.raw, "snapshot", None)
        if save is None:
            raise TypeError(f"store {store_name!r} cannot save a snapshot")
        save(snapshot)
    if history is not None:
        store.raw.export_history(history)  # type: ignore[attr-defined]
        dropped = store.raw.history_dropped()  # type: ignore[attr-defined]
        if dropped:
            print(
                f"dnsrace: --history {history}: only the last {capacity} operations were kept "
                f"({dropped} older ones dropped): the history cannot be checked from its start; "
                "record fewer endpoints or a shorter run",
                file=sys.stderr,
            )
    for sink in sinks:
        sink(scenario, discipline, store.raw)
    close = getattr(store.raw, "close", None)
    if close is not None:
        close()  # a distributed store's connections
    return report, metrics.timeline, list(scenario.enactor_names)


def run_with_schedule(
    scenario: Scenario,
    discipline: Discipline,
    schedule: Schedule | None,
    *,
    store: str = "rust",
    progress: Progress | None = None,
    loop: clock.VirtualEventLoop | None = None,
    snapshot: str | None = None,
    history: str | None = None,
    verdict_only: bool = False,
) -> RunResult:
    """Run ``scenario`` under ``discipline`` with a ready-made schedule object (``None``:
    asyncio's order). ``loop``: a virtual loop to reuse (exploration runs many short runs).
    ``snapshot``: save the final store there (``RecordStore.snapshot``). ``history``: record
    the run's history and write it there (jsonl; the Rust store only). ``verdict_only``:
    the same run, whose metrics are only what :meth:`Metrics.verdict` gives (no report, no
    store timing, no perf figures)."""
    if verdict_only and (snapshot is not None or history is not None):
        raise ValueError("a verdict-only run saves no snapshot and records no history")
    timer = None if verdict_only else StoreTimer()
    # Not read by a verdict-only run.
    cpu0 = 0.0 if verdict_only else time.process_time()
    wall0 = 0.0 if verdict_only else time.perf_counter()

    ending = _Ending()

    def main() -> Any:
        return _simulate(
            scenario, discipline, store, timer, progress, snapshot, history, verdict_only, ending
        )

    if loop is not None:
        loop.reset(schedule)
        metrics, timeline, names = loop.run_until_complete(main())
    else:
        metrics, timeline, names = clock.run(main, scenario.clock, schedule)
    settled = ending.steps
    steps = schedule.steps if schedule is not None else 0
    if verdict_only:
        return RunResult(scenario, discipline, store, metrics, timeline, {}, names, steps, settled)
    assert timer is not None  # a whole run's own
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    perf = {
        "wall_s": wall,
        "cpu_s": cpu,
        **timer.summary(),
        # Shares of the process's CPU time: on the real clock most wall time is idle waiting.
        "store_share": timer.total / cpu if cpu > 0 else 0.0,
        "python_s": max(0.0, cpu - timer.total),
        "run_s": metrics["elapsed_s"],
    }
    return RunResult(scenario, discipline, store, metrics, timeline, perf, names, steps, settled)


def pct_horizon(scenario: Scenario, discipline: Discipline, *, store: str = "rust") -> int:
    """The horizon PCT draws its change points from: the steps of the scenario's run in
    asyncio's order with seed 0, so every seed of one scenario shares it (an explored run and
    its replay with ``dnsrace run --seed`` draw the same change points)."""
    return run_with_schedule(scenario.with_seed(0), discipline, FifoSchedule(), store=store).steps


def run_discipline(
    scenario: Scenario,
    discipline: Discipline,
    *,
    store: str = "rust",
    progress: Progress | None = None,
    schedule: str = "clock",
    depth: int = 3,
    snapshot: str | None = None,
    history: str | None = None,
) -> RunResult:
    """Run ``scenario`` under ``discipline`` on a fresh store of the given kind.

    ``schedule`` (virtual clock only) is ``clock``, ``random`` or ``pct`` (with ``depth``),
    seeded by the scenario's seed, so the same arguments replay the same run.
    """
    horizon = 0
    if schedule == "pct":
        horizon = pct_horizon(scenario, discipline, store=store)
    chosen = make_schedule(schedule, scenario.seed, depth=depth, horizon=horizon)
    return run_with_schedule(
        scenario,
        discipline,
        chosen,
        store=store,
        progress=progress,
        snapshot=snapshot,
        history=history,
    )
