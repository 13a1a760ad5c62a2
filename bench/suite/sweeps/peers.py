"""Peers side by side: one fresh peer per (store, size), in a child process of its own (so
that RSS growth is the store's and servers started there are stopped there).

At every size: the batch flip in ``if_newer`` (generation CAS) and ``lww`` over every
endpoint, interleaved round by round, plus the bytes per endpoint. At the profile's CAS size,
also ``exact`` and fenced batch flips, single calls of every mode, and lease
acquire/renew/release in batch and single calls (the CAS vs LWW profile).
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
from bench.suite.peers.registry import factory


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


def _rounds(
    peer: Peer,
    ids: Sequence[int] | None,
    count: int,
    modes: Sequence[Mode],
    rounds: int,
    single: bool,
) -> dict[str, list[float]]:
    """Seconds per call of each mode, ``rounds`` times, interleaved (odd rounds in reverse
    order, so that no mode always runs first). Each flip goes to another plan than the
    current one (``if_newer`` to the next higher: every flip applies, which is checked;
    when the plans run out, an untimed ``lww`` flip goes back to plan 1)."""
    out: dict[str, list[float]] = {m: [] for m in modes}
    peer.flip_batch(ids, "lww", 1)
    current = 1
    for r in range(rounds):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            if mode == "if_newer":
                if current >= PLANS:
                    peer.flip_batch(ids, "lww", 1)
                    current = 1
                gen = current + 1
            else:
                gen = 1 if current != 1 else 2
            peer.prepare(ids, mode)
            if single:
                assert ids is not None
                s, applied = _timed(peer.flip_single, ids, mode, gen)
            else:
                s, applied = _timed(peer.flip_batch, ids, mode, gen)
            if applied != count:
                raise RuntimeError(f"{mode} flip applied {applied} of {count}: not a measurement")
            out[mode].append(s)
            current = gen
    return out


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
        batch = _rounds(peer, None, task.n, modes, task.rounds, single=False)
        row["batch_s"] = {m: statistics.median(ts) for m, ts in batch.items()}
        row["batch_rate"] = {m: task.n / s for m, s in row["batch_s"].items()}
        row["batch_over_lww"] = _paired(batch)
        if task.profile:
            ids = list(range(min(task.n, task.single_calls)))
            single = _rounds(peer, ids, len(ids), MODES, max(1, task.rounds // 2), single=True)
            row["single_s"] = {m: statistics.median(ts) / len(ids) for m, ts in single.items()}
            row["single_over_lww"] = _paired(single)
            row["lease_batch_s"], row["lease_single_s"] = _leases(peer, task)
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


def run_isolated(task: PeerTask) -> dict[str, Any]:
    """``measure`` in a fresh child process (spawned: nothing inherited but the code)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(measure, task).result()
        return result
