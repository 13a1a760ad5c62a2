"""Peers side by side: one fresh peer per (store, size), in a child process of its own (so
that RSS growth is the store's and servers started there are stopped there).

At every size: the batch flip in ``if_newer`` (generation CAS) and ``lww`` over every
endpoint, interleaved round by round, plus the bytes per endpoint. Every peer other than
``RecordStore`` is timed next to a ``RecordStore`` of the same size in the same process,
call by call, and the ratio is taken per round (see ``_rounds``). At the profile's CAS size,
also ``exact`` and fenced batch flips, single calls of every mode, and lease
acquire/renew/release in batch and single calls (the CAS vs LWW profile). Batch reads of
every alias (as an array where the store gives one) and batch leases are paired with the
reference in the same way.
"""

from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Any

from bench.suite.peers.base import LEASE_OPS, MODES, PLANS, Mode, Peer, PeerUnavailable
from bench.suite.peers.embedded import record_store
from bench.suite.peers.registry import REFERENCE, factory, fast


@dataclass(frozen=True)
class PeerTask:
    peer: str
    n: int
    rounds: int
    profile: bool
    """Also the CAS vs LWW profile (all modes, single calls, leases)."""
    single_calls: int
    lease_batch: int


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


class _Stepper:
    """Timed flips of one peer over ``ids``, each to another plan than the current one
    (``if_newer`` to the next higher, so every flip applies, which is checked; when the plans
    run out, an untimed ``lww`` flip goes back to plan 1)."""

    def __init__(self, peer: Peer, ids: Sequence[int] | None, count: int, single: bool) -> None:
        self.peer, self.ids, self.count, self.single = peer, ids, count, single
        peer.flip_batch(ids, "lww", 1)
        self.current = 1

    def step(self, mode: Mode) -> float:
        if mode == "if_newer":
            if self.current >= PLANS:
                self.peer.flip_batch(self.ids, "lww", 1)
                self.current = 1
            gen = self.current + 1
        else:
            gen = 1 if self.current != 1 else 2
        self.peer.prepare(self.ids, mode)
        if self.single:
            assert self.ids is not None
            s, applied = _timed(self.peer.flip_single, self.ids, mode, gen)
        else:
            s, applied = _timed(self.peer.flip_batch, self.ids, mode, gen)
        if applied != self.count:
            raise RuntimeError(f"{mode} flip applied {applied} of {self.count}: not a measurement")
        self.current = gen
        return s


def _rounds(
    steppers: tuple[_Stepper, _Stepper | None],
    modes: Sequence[Mode],
    rounds: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per call of each mode, ``rounds`` times, interleaved (odd rounds in reverse
    order, so that no mode always runs first). With a reference stepper (RecordStore over
    the same endpoints, in the same process), each timed call of the peer is followed by
    ``REFERENCE_REPEATS`` of the reference in the same mode, whose median is kept (not the
    best: the peer's one call is not a best either): a ratio of calls made moments apart,
    whatever else the machine is doing."""
    peer, ref = steppers
    out: dict[str, list[float]] = {m: [] for m in modes}
    ref_out: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(rounds):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            out[mode].append(peer.step(mode))
            if ref is not None:
                ref_out[mode].append(
                    statistics.median(ref.step(mode) for _ in range(REFERENCE_REPEATS))
                )
    return out, ref_out


REFERENCE_REPEATS = 5


def _vs_reference(times: dict[str, list[float]], ref: dict[str, list[float]]) -> dict[str, float]:
    """Median over rounds of time(peer) / time(RecordStore) in the same round and mode."""
    return {
        m: statistics.median(a / b for a, b in zip(ts, ref[m], strict=True))
        for m, ts in times.items()
    }


def _best_vs_reference(
    times: dict[str, list[float]], ref: dict[str, list[float]]
) -> dict[str, float]:
    """time(peer) / time(RecordStore) of each one's fastest call: on a loaded machine a call
    of a millisecond is often preempted for longer than it runs, and the longer call of a
    pair more often, which the median of ratios then exaggerates; the best calls are the
    closest to what each costs on a quiet machine."""
    return {m: min(ts) / min(ref[m]) for m, ts in times.items()}


def _paired(times: dict[str, list[float]]) -> dict[str, float]:
    """Median over rounds of time(mode) / time(lww) in the same round."""
    lww = times["lww"]
    return {
        m: statistics.median(a / b for a, b in zip(ts, lww, strict=True)) for m, ts in times.items()
    }


def measure(task: PeerTask) -> dict[str, Any]:
    """One peer at one size (runs in a child process). Never raises: a peer that cannot start
    is ``skipped`` and one that fails half-way ``failed``, each with its reason."""
    row: dict[str, Any] = {"peer": task.peer, "n": task.n, **asdict(task)}
    try:
        peer = factory(task.peer)()
    except PeerUnavailable as exc:
        return {**row, "status": "skipped", "reason": exc.reason}
    try:
        load_s, _ = _timed(peer.load, task.n)
        row["load_s"] = load_s
        row["bytes_per_endpoint"] = peer.used_bytes() / task.n
        modes = MODES if task.profile else ("if_newer", "lww")
        reference = None if task.peer == REFERENCE else record_store()
        if reference is not None:
            reference.load(task.n)  # after the peer's bytes were counted
        batch, ref_batch = _rounds(
            (
                _Stepper(peer, None, task.n, False),
                None if reference is None else _Stepper(reference, None, task.n, False),
            ),
            modes,
            task.rounds,
        )
        row["batch_s"] = {m: statistics.median(ts) for m, ts in batch.items()}
        row["batch_rate"] = {m: task.n / s for m, s in row["batch_s"].items()}
        row["batch_over_lww"] = _paired(batch)
        row["batch_vs_reference"] = (
            dict.fromkeys(modes, 1.0) if reference is None else _vs_reference(batch, ref_batch)
        )
        row["batch_best_vs_reference"] = (
            dict.fromkeys(modes, 1.0) if reference is None else _best_vs_reference(batch, ref_batch)
        )
        reads = _reads(peer, reference, task.n, task.rounds)
        if reads is not None:
            row["read_s"], row["read_vs_reference"] = reads
        if task.profile:
            ids = list(range(min(task.n, task.single_calls)))
            single, ref_single = _rounds(
                (
                    _Stepper(peer, ids, len(ids), True),
                    None if reference is None else _Stepper(reference, ids, len(ids), True),
                ),
                MODES,
                max(1, task.rounds // 2),
            )
            row["single_s"] = {m: statistics.median(ts) / len(ids) for m, ts in single.items()}
            row["single_over_lww"] = _paired(single)
            row["single_vs_reference"] = (
                dict.fromkeys(MODES, 1.0)
                if reference is None
                else _vs_reference(single, ref_single)
            )
            row["lease_batch_s"], row["lease_single_s"] = _leases(peer, task)
            row["lease_batch_vs_reference"] = _paired_leases(peer, reference, task)
        row["status"] = "ok"
        return row
    except Exception as exc:  # reported as a failed row, never dropped
        last = traceback.format_exception_only(exc)[-1].strip()
        return {**row, "status": "failed", "reason": last}
    finally:
        peer.close()


def _leases(peer: Peer, task: PeerTask) -> tuple[dict[str, float | None], dict[str, float]]:
    """Per-endpoint seconds of acquire, renew, release: in batches of ``lease_batch`` and in
    single calls; every call must succeed."""
    batch_ids = list(range(min(task.n, task.lease_batch)))
    batch: dict[str, float | None] = {}
    for op in LEASE_OPS:
        s, done = _timed(peer.lease_batch, batch_ids, op)
        if done is None:
            batch[op] = None
            continue
        if done != len(batch_ids):
            raise RuntimeError(f"lease {op} batch: {done} of {len(batch_ids)} succeeded")
        batch[op] = s / len(batch_ids)
    ids = list(range(min(task.n, task.single_calls)))
    single: dict[str, float] = {}
    for op in LEASE_OPS:
        s, done = _timed(peer.lease_single, ids, op)
        if done != len(ids):
            raise RuntimeError(f"lease {op} single: {done} of {len(ids)} succeeded")
        single[op] = s / len(ids)
    return batch, single


def _reads(peer: Peer, ref: Peer | None, n: int, rounds: int) -> tuple[float, float] | None:
    """Seconds of one batch read of every alias (median over rounds) and its median ratio to
    the reference's (median of ``REFERENCE_REPEATS`` right after it); None if not measured."""
    read = getattr(peer, "read_batch", None)
    if read is None or read(None) is None:
        return None
    times, ratios = [], []
    for _ in range(rounds):
        s, count = _timed(read, None)
        if count != n:
            raise RuntimeError(f"read {count} of {n} aliases")
        times.append(s)
        if ref is not None:
            ref_s = statistics.median(_timed(ref.read_batch, None)[0] for _ in range(5))
            ratios.append(s / ref_s)
    return statistics.median(times), statistics.median(ratios) if ratios else 1.0


def _paired_leases(peer: Peer, ref: Peer | None, task: PeerTask) -> dict[str, float | None]:
    """Per batch lease op: the median over rounds of time(peer) / time(reference), each
    peer call followed by the reference's same call over the same ids (None: one of the
    two has no such batch call). Rounds: the peer's (one for the slow servers)."""
    ids = list(range(min(task.n, task.lease_batch)))
    ratios: dict[str, list[float]] = {op: [] for op in LEASE_OPS}
    if ref is None:
        return dict.fromkeys(LEASE_OPS, 1.0)
    for _ in range(task.rounds if fast(task.peer) else 1):
        for op in LEASE_OPS:
            s, done = _timed(peer.lease_batch, ids, op)
            ref_s, ref_done = _timed(ref.lease_batch, ids, op)
            if done is None or ref_done is None:
                continue
            if done != len(ids) or ref_done != len(ids):
                raise RuntimeError(f"lease {op} batch: {done}, {ref_done} of {len(ids)}")
            ratios[op].append(s / ref_s)
    return {op: statistics.median(r) if r else None for op, r in ratios.items()}


def run_isolated(task: PeerTask) -> dict[str, Any]:
    """``measure`` in a fresh child process (spawned: nothing inherited but the code)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(measure, task).result()
        return result
