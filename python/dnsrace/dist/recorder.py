"""What one process of a distributed run observed, written as it happens, and merged after.

Each process (planner, enactor incarnation) gets a :class:`RecordingMetrics`: the collector's
event methods append one JSON line each (run time first) to the process's own file, flushed
line by line, so a process killed with ``SIGKILL`` loses at most the line being written. Its
store counters are appended every second. :func:`merge` replays every process's events in
time order into one real :class:`~dnsrace.sim.metrics.Metrics`, which then computes the same
metrics as an embedded run.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from dnsrace._types import STORE_COUNTERS, FlipCounts
from dnsrace.sim.metrics import Metrics

__all__ = ["COUNTERS", "RecordingMetrics", "merge"]

COUNTERS = STORE_COUNTERS


class _EveryGeneration(Counter[int]):
    """What a recording collector says a generation is served by: someone, always. The observed
    store then checks for dangling aliases after every clean-up that deleted trees (it cannot
    know what other processes serve)."""

    def get(self, key: int, default: Any = None) -> int:
        return 1


class RecordingMetrics(Metrics):
    """A metrics collector that writes its events to ``path`` instead of keeping score."""

    def __init__(self, path: Path, process: str, endpoints: int, regional: int = 0) -> None:
        super().__init__(endpoints, regional_name="", current_window_s=1.0, regional=regional)
        self.served = _EveryGeneration()
        self._out: IO[bytes] = open(path, "ab", buffering=0)  # noqa: SIM115 - lives with us
        self.process = process
        self._seq = itertools.count()

    def _write(self, kind: str, now: float, **data: Any) -> None:
        line = {"t": now, "seq": next(self._seq), "p": self.process, "e": kind, **data}
        self._out.write(orjson.dumps(line) + b"\n")

    def counters(self, now: float, values: Mapping[str, int]) -> None:
        self._write("counters", now, values={k: values.get(k, 0) for k in COUNTERS})

    def unrepairable(self, now: float, generations: list[int]) -> None:
        """The operator's generations it could not put back (see ``Operator.unrepairable``)."""
        self._write("unrepairable", now, generations=list(generations))

    def close(self) -> None:
        self._out.close()

    # ------------------------------------------------------------------ events

    def start(self, now: float, generation: int) -> None:
        self._write("start", now, generation=generation)

    def advance(self, now: float) -> None:
        pass

    def on_publish(self, now: float, generation: int) -> None:
        self._write("publish", now, generation=generation)

    def on_flip(
        self,
        now: float,
        actor: str,
        generation: int,
        ids: Sequence[int],
        before: Sequence[int | None],
        counts: FlipCounts,
        mode: str,
        after: Sequence[int | None] | None = None,
        healed: set[int] | None = None,
        *,
        enactor: bool = True,
    ) -> None:
        if after is None:
            # The cases the observed store leaves to deduction: nothing, everything, or an
            # if_newer flip that moved exactly the endpoints below the generation.
            if counts.applied == 0:
                after = list(before)
            elif counts.applied == len(ids) and mode != "if_newer":
                after = [generation] * len(ids)
            else:
                after = [generation if b is None or b < generation else b for b in before]
        self._write(
            "flip",
            now,
            actor=actor,
            generation=generation,
            ids=list(ids),
            before=list(before),
            after=list(after),
            counts=list(counts),
            mode=mode,
            enactor=enactor,
        )

    def on_dangling(self, now: float, ids: Sequence[int], aliases: Sequence[int | None]) -> None:
        self._write("dangling", now, ids=list(ids), aliases=list(aliases))

    def on_repair(self, now: float, ids: Sequence[int]) -> None:
        self._write("repair", now, ids=list(ids))

    # The timeline-only arguments (now, actor, generation) and pass events are not recorded
    # across processes: a cluster run's timelines carry flips, windows and publications.

    def on_pass_start(self, now: float, actor: str, generation: int) -> None:
        pass

    def on_pass_end(self, now: float, actor: str, result: str) -> None:
        pass

    def on_cleanup(
        self,
        deleted_trees: int,
        kept_trees: int,
        *,
        now: float | None = None,
        actor: str = "",
        generation: int = 0,
    ) -> None:
        self._write("cleanup", 0.0, deleted=deleted_trees, kept=kept_trees)

    def on_resolve(
        self, now: float, ids: Sequence[int], answers: Sequence[tuple[Any, ...]]
    ) -> None:
        self._write("resolve", now, ids=list(ids), empty=[not a for a in answers])

    def on_plan_skipped(self) -> None:
        self._write("skipped", 0.0)

    def on_filtered(self, endpoints: int) -> None:
        self._write("filtered", 0.0, n=endpoints)

    def on_lock_abort(self, acquired: int) -> None:
        self._write("lock_abort", 0.0, n=acquired)

    def on_alarm(self, now: float) -> None:
        self._write("alarm", now)

    def on_resume(self, now: float) -> None:
        self._write("resume", now)

    def on_lock_retry(self, wait_s: float, *, now: float | None = None, actor: str = "") -> None:
        self._write("lock_retry", 0.0, wait=wait_s)

    def on_abandon(self) -> None:
        self._write("abandon", 0.0)

    def on_crash(self, *, now: float | None = None, actor: str = "") -> None:
        self._write("crash", 0.0)

    def on_pause(self, length_s: float, *, now: float | None = None, actor: str = "") -> None:
        self._write("pause", 0.0, length=length_s)


def _events(paths: Iterable[Path]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every event of every file in time order, and the counters summed over processes (each
    incarnation's last snapshot)."""
    events: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    for path in paths:
        last: dict[str, int] = {}
        for raw in path.read_bytes().splitlines():
            try:
                ev = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # the line a SIGKILL cut short
            if ev["e"] == "counters":
                last = ev["values"]
            else:
                ev["file"] = path.name
                events.append(ev)
        totals.update(last)
    # Untimed events (counts only) keep their place after the timed one before them.
    ordered: list[dict[str, Any]] = []
    for path_events in _by_file(events).values():
        t = 0.0
        for ev in path_events:
            if ev["t"] == 0.0 and ev["e"] not in ("start",):
                ev["t"] = t
            t = ev["t"]
            ordered.append(ev)
    ordered.sort(key=lambda ev: (ev["t"], ev["file"], ev["seq"]))
    return ordered, dict(totals)


def _by_file(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        out.setdefault(ev["file"], []).append(ev)
    for evs in out.values():
        evs.sort(key=lambda ev: ev["seq"])
    return out


_ONE_CALL: dict[str, Callable[[Metrics, dict[str, Any]], None]] = {
    "skipped": lambda m, ev: m.on_plan_skipped(),
    "filtered": lambda m, ev: m.on_filtered(ev["n"]),
    "lock_abort": lambda m, ev: m.on_lock_abort(ev["n"]),
    "alarm": lambda m, ev: m.on_alarm(ev["t"]),
    "resume": lambda m, ev: m.on_resume(ev["t"]),
    "lock_retry": lambda m, ev: m.on_lock_retry(ev["wait"]),
    "abandon": lambda m, ev: m.on_abandon(),
    "crash": lambda m, ev: m.on_crash(),
    "pause": lambda m, ev: m.on_pause(ev["length"]),
}
"""The recorded events that replay as one call of the metrics with the event's values."""


def merge(
    paths: Iterable[Path],
    metrics: Metrics,
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[dict[str, int], list[int]]:
    """Replay the recorded events into ``metrics``; the processes' summed store counters and
    the operator's unrepairable generations."""
    events, totals = _events(paths)
    unrepairable: list[int] = []
    for ev in events:
        kind, t = ev["e"], ev["t"]
        if on_event is not None:
            on_event(ev)
        if kind == "start":
            metrics.start(t, ev["generation"])
        elif kind == "publish":
            metrics.on_publish(t, ev["generation"])
        elif kind == "flip":
            ids, before, after = ev["ids"], ev["before"], ev["after"]
            touched = [i for i in ids if i in metrics.dangling]
            healed = {i for i, b, a in zip(ids, before, after, strict=True) if a != b} & set(
                touched
            )
            metrics.on_flip(
                t,
                ev["actor"],
                ev["generation"],
                ids,
                before,
                FlipCounts(*ev["counts"]),
                ev["mode"],
                after,
                healed,
                enactor=ev["enactor"],
            )
        elif kind == "dangling":
            new = [
                (i, a)
                for i, a in zip(ev["ids"], ev["aliases"], strict=True)
                if i not in metrics.dangling
            ]
            if new:
                metrics.on_dangling(t, [i for i, _ in new], [a for _, a in new])
        elif kind == "repair":
            metrics.on_repair(t, ev["ids"])
        elif kind == "cleanup":
            metrics.on_cleanup(ev["deleted"], ev["kept"])
        elif kind == "resolve":
            answers: list[tuple[Any, ...]] = [() if e else (("x", 1),) for e in ev["empty"]]
            metrics.on_resolve(t, ev["ids"], answers)
        elif kind in _ONE_CALL:
            _ONE_CALL[kind](metrics, ev)
        elif kind == "unrepairable":
            unrepairable.extend(ev["generations"])
    return totals, unrepairable
