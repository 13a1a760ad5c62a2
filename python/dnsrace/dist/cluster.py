"""``cluster-run``: the planner and K enactor processes on one etcd cluster, faults for real.

The parent empties the namespace, starts ``dnsrace planner`` and, once the planner has started
the run's clock, one ``dnsrace enactor`` per enactor name. The scenario's pauses become
``SIGSTOP``/``SIGCONT`` of the enactor process and its crashes ``SIGKILL`` and a fresh process
after the restart delay, on the same seeded schedules the simulator draws. After the
scenario's duration the fleet gets up to ``drain_s`` to settle (every endpoint on the newest
plan), then every process gets ``SIGTERM``, and what they recorded is merged into one
:class:`~dnsrace.sim.metrics.Metrics`: the same metrics, the same JSON, as an embedded run.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from dnsrace._children import reap
from dnsrace.backends.etcd import EtcdStore
from dnsrace.dist.board import EtcdBoard
from dnsrace.dist.recorder import COUNTERS, merge
from dnsrace.errors import StoreUnavailable
from dnsrace.sim.assembly import new_metrics
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.runner import RunResult
from dnsrace.sim.scenario import Scenario, scenario_to_dict

__all__ = ["ClusterRun", "cluster_run"]

START_TIMEOUT_S = 120.0
SETTLE_POLL_S = 1.0


@dataclass
class _Role:
    name: str
    command: list[str]
    events_dir: Path
    incarnation: int = 0
    process: subprocess.Popen[bytes] | None = None
    stopped_until: float = 0.0
    pause_index: int = -1
    """Position of this role's current stop in the run's list of stop lengths."""
    files: list[Path] = field(default_factory=list)

    def spawn(self, log: Path) -> None:
        self.incarnation += 1
        events = self.events_dir / f"{self.name}-{self.incarnation}.jsonl"
        self.files.append(events)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [*self.command, "--events", str(events)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)


@dataclass
class ClusterRun:
    """What a cluster run did besides its metrics (for tests and the docs)."""

    result: RunResult
    signals: dict[str, int]
    """SIGSTOPs, SIGKILLs and restarts delivered."""
    workdir: Path


def _python() -> list[str]:
    return [sys.executable, "-m", "dnsrace"]


def cluster_run(
    scenario: Scenario,
    discipline: Discipline,
    url: str,
    *,
    workdir: Path | None = None,
    progress: Callable[[float], None] | None = None,
    at: Callable[[float, dict[str, _Role]], None] | None = None,
) -> ClusterRun:
    """Run one discipline of ``scenario`` as processes on the etcd cluster at ``url``.

    ``at(t, roles)`` is called about every 0.2 s with the run time (tests use it to fail a
    store member in the middle of the run).
    """
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dnsrace-cluster-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    spec = workdir / "scenario.json"
    spec.write_bytes(orjson.dumps(scenario_to_dict(scenario)))
    log = workdir / "processes.log"
    store = EtcdStore(url, reset=True, lease_clock="etcd")
    board = EtcdBoard(store)
    planner = _Role("planner", [*_python(), "planner", str(spec), "--backend", url], workdir)
    enactors = {
        name: _Role(
            name,
            [
                *_python(),
                "enactor",
                str(spec),
                "--backend",
                url,
                "--name",
                name,
                "--discipline",
                discipline.name,
            ],
            workdir,
        )
        for name in scenario.enactor_names
    }
    roles = {"planner": planner, **enactors}
    signals = {"stop": 0, "kill": 0, "restart": 0}
    paused: list[float] = []  # lengths of the stops delivered (a stop extended counts once)
    try:
        planner.spawn(log)
        deadline = time.monotonic() + START_TIMEOUT_S
        epoch = board.started()
        while epoch is None:
            if not planner.alive or time.monotonic() > deadline:
                raise StoreUnavailable(f"the planner did not start the run (see {log})")
            time.sleep(0.05)
            epoch = board.started()
        for role in enactors.values():
            role.spawn(log)

        def now() -> float:
            return time.time() - epoch

        # The fault schedule, as the simulator draws it: (time, seq, action, enactor, arg).
        actions: list[tuple[float, int, str, str, float]] = []
        seq = 0
        for name in scenario.enactor_names:
            faults = EnactorFaults(scenario, name)
            for onset, length in faults.pauses:
                actions.append((onset, seq, "stop", name, length))
                seq += 1
            for crash in faults.crashes:
                actions.append((crash.at, seq, "kill", name, crash.restart_after))
                seq += 1
        heapq.heapify(actions)
        end = scenario.duration_s + scenario.drain_s
        next_settle = scenario.duration_s
        while True:
            t = now()
            while actions and actions[0][0] <= t:
                _, _, what, name, arg = heapq.heappop(actions)
                role = roles[name]
                if what == "stop" and role.alive:
                    if role.stopped_until <= t:
                        role.signal(signal.SIGSTOP)
                        signals["stop"] += 1
                        role.pause_index = len(paused)
                        paused.append(arg)
                    elif t + arg > role.stopped_until:
                        paused[role.pause_index] += t + arg - role.stopped_until
                    role.stopped_until = max(role.stopped_until, t + arg)
                    heapq.heappush(actions, (role.stopped_until, seq, "cont", name, 0.0))
                    seq += 1
                elif what == "cont" and role.stopped_until <= t:
                    role.signal(signal.SIGCONT)
                elif what == "kill" and role.alive:
                    role.signal(signal.SIGKILL)
                    assert role.process is not None
                    role.process.wait()
                    role.stopped_until = 0.0
                    signals["kill"] += 1
                    heapq.heappush(actions, (t + arg, seq, "spawn", name, 0.0))
                    seq += 1
                elif what == "spawn" and not role.alive:
                    role.spawn(log)
                    signals["restart"] += 1
            for role in roles.values():
                if role.process is not None and role.process.poll() not in (None, -9):
                    raise StoreUnavailable(
                        f"{role.name} exited with {role.process.returncode} (see {log})"
                    )
            if at is not None:
                at(t, roles)
            if progress is not None:
                progress(min(t, end))
            if t >= end:
                break
            if t >= next_settle:
                next_settle = t + SETTLE_POLL_S
                if _settled(store, board):
                    break
            time.sleep(0.2)
        stop_time = now()
    finally:
        for role in roles.values():
            role.signal(signal.SIGCONT)
            role.signal(signal.SIGTERM)
        for role in roles.values():
            if role.process is not None:
                reap(role.process, 20)
    metrics = new_metrics(scenario)
    files = [f for role in roles.values() for f in role.files if f.exists()]
    totals, unrepairable = merge(files, metrics)
    # The faults were signals, not events of the processes: the parent counts them.
    for length in paused:
        metrics.on_pause(length)
    for _ in range(signals["kill"]):
        metrics.on_crash()
    stats = store.stats()
    stats.update({k: totals.get(k, 0) for k in COUNTERS})
    report = metrics.result(stop_time, stats)
    report["operator_unrepairable"] = unrepairable
    store.close()
    result = RunResult(
        scenario,
        discipline,
        str(store.url),
        report,
        metrics.timeline,
        enactor_names=list(scenario.enactor_names),
    )
    if tmp is not None:
        tmp.cleanup()
    return ClusterRun(result, signals, workdir)


def _settled(store: EtcdStore, board: EtcdBoard) -> bool:
    """Every endpoint serves the newest plan and nothing dangles."""
    newest = board.newest
    return all(a == newest for a in store.aliases()) and not store.dangling_aliases()
