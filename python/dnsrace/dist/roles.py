"""One role of a distributed run, as a process: the planner (with the clients and the
operator) or one enactor, in real time on an :class:`~dnsrace.backends.etcd.EtcdStore`.

The planner sets the fleet up (endpoints, plan 1 applied everywhere), starts the run's clock
on the board, then publishes on the scenario's schedule while the clients probe and the
operator watches. An enactor waits for the clock, then runs the simulator's own
:class:`~dnsrace.sim.enactor.Enactor` code against the store and the board. Pauses and crashes
are not simulated inside a process: ``cluster-run`` delivers them as ``SIGSTOP`` and
``SIGKILL``. Every process records what it observed (``--events``) and stops on ``SIGTERM``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

import uvloop

from dnsrace.backends import Backend
from dnsrace.backends.etcd import EtcdStore
from dnsrace.dist.board import EtcdBoard
from dnsrace.dist.recorder import RecordingMetrics
from dnsrace.reference import Plan
from dnsrace.sim.assembly import (
    RunParts,
    endpoint_names,
    new_enactor,
    start_control_plane,
    walk_batches,
)
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.scenario import CrashesConfig, PausesConfig, Scenario

__all__ = ["run_enactor", "run_planner", "without_process_faults"]

COUNTERS_EVERY_S = 1.0
READY_TIMEOUT_S = 120.0


def without_process_faults(scenario: Scenario) -> Scenario:
    """The scenario as a process runs it: pauses and crashes come from outside, as signals."""
    faults = dataclasses.replace(scenario.faults, pauses=PausesConfig(), crashes=CrashesConfig())
    return dataclasses.replace(scenario, faults=faults)


def _observed(
    store: EtcdStore, metrics: RecordingMetrics, now: Callable[[], float]
) -> ObservedStore:
    backend = Backend(str(store.url), lambda: store, Plan)
    return ObservedStore(backend, metrics, now)


async def _until_term(*tasks: asyncio.Task[None]) -> None:
    """Run until SIGTERM (or a task fails)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({waiter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter:
                task.result()
    finally:
        for task in (waiter, *tasks):
            task.cancel()
        await asyncio.gather(waiter, *tasks, return_exceptions=True)


async def _counters(store: EtcdStore, metrics: RecordingMetrics, now: Callable[[], float]) -> None:
    while True:
        metrics.counters(now(), store.counters())
        await asyncio.sleep(COUNTERS_EVERY_S)


def run_planner(scenario: Scenario, url: str, events: Path) -> None:
    """The planner process: set up, start the clock, publish; clients and operator beside."""
    uvloop.run(_planner(scenario, url, events))


async def _planner(scenario: Scenario, url: str, events: Path) -> None:
    store = EtcdStore(url, lease_clock="etcd")
    board = EtcdBoard(store)
    names = endpoint_names(scenario)
    metrics = RecordingMetrics(events, "planner", len(names))
    epoch = time.time()

    def now() -> float:
        return time.time() - epoch

    def start_clock() -> None:
        nonlocal epoch
        epoch = board.start_clock()  # the run starts now, for every process

    observed = _observed(store, metrics, now)
    ids = observed.add_endpoints(names)
    parts = RunParts(scenario, observed, board, metrics, now)
    control = start_control_plane(parts, ids, on_steady=start_clock)
    operator = control.operator

    async def publish() -> None:
        await control.planner.run()
        await asyncio.Event().wait()  # published everything: keep the others going

    try:
        await _until_term(
            asyncio.create_task(publish()),
            asyncio.create_task(control.clients()),
            asyncio.create_task(_counters(store, metrics, now)),
        )
    finally:
        metrics.counters(now(), store.counters())
        metrics.unrepairable(now(), operator.unrepairable)
        metrics.close()
        store.close()


def run_enactor(
    scenario: Scenario, url: str, name: str, discipline: Discipline, events: Path
) -> None:
    """One enactor process (one incarnation: a restart after SIGKILL starts afresh)."""
    uvloop.run(_enactor(without_process_faults(scenario), url, name, discipline, events))


async def _enactor(
    scenario: Scenario, url: str, name: str, discipline: Discipline, events: Path
) -> None:
    store = EtcdStore(url, lease_clock="etcd")
    board = EtcdBoard(store)
    deadline = time.monotonic() + READY_TIMEOUT_S
    epoch = board.started()
    while epoch is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the planner did not start the run")
        await asyncio.sleep(0.05)
        epoch = board.started()
    start = epoch

    def now() -> float:
        return time.time() - start

    total = len(store)
    metrics = RecordingMetrics(events, name, total)
    observed = _observed(store, metrics, now)
    walk = walk_batches(scenario, total)
    # A restarted process draws afresh: its incarnation sets its stream apart.
    parts = RunParts(scenario, observed, board, metrics, now)
    enactor = new_enactor(parts, name, discipline, walk, total, incarnation=str(time.time_ns()))
    try:
        await _until_term(
            asyncio.create_task(enactor.run()),
            asyncio.create_task(_counters(store, metrics, now)),
        )
    finally:
        with contextlib.suppress(Exception):
            metrics.counters(now(), store.counters())
        metrics.close()
        store.close()
