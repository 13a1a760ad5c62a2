"""The embedded store under contention: 1, 2, 4, 8 threads flipping at once, on the same
endpoints (overlapping) or each on its own slice (disjoint), in batch calls and single calls,
last-write-wins and generation CAS.

Every thread does the same work (``iters`` batches of ``batch`` endpoints, or ``singles``
single calls), so the aggregate rate (endpoint flips attempted per second, all threads) shows
how the store scales. Every cell starts with every alias at plan 1; batch ``k`` of every
thread flips to plan ``k + 2`` (single calls: pass ``k`` over the thread's endpoints), so on
disjoint sets every flip applies, and on overlapping sets a thread's ``if_newer`` flip is
refused when another thread already put that plan there (the CAS refusing duplicate work),
reported as the applied share.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Sequence
from typing import Any

import dnsrace
from dnsrace.sim.workload import endpoint_names, shared_plan


def _store(n: int, plans: int) -> Any:
    store = dnsrace.RecordStore()
    ids = array("I", store.add_endpoints(endpoint_names(n)))
    for g in range(1, plans + 1):
        store.put_plan(shared_plan(dnsrace.Plan, g, ids))
    store.flip_many(None, 1, "lww")
    return store


def _run(
    store: Any,
    threads: int,
    overlap: bool,
    kind: str,
    mode: str,
    batch: int,
    iters: int,
    singles: int,
) -> dict[str, Any]:
    slices = [
        array("I", range(0, batch) if overlap else range(t * batch, (t + 1) * batch))
        for t in range(threads)
    ]
    store.flip_many(None, 1, "lww")  # every cell starts from plan 1 everywhere
    applied = [0] * threads
    attempted = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        ids: Sequence[int] = slices[t]
        barrier.wait()
        if kind == "batch":
            for k in range(iters):
                applied[t] += store.flip_many(ids, k + 2, mode).applied
                attempted[t] += len(ids)
        else:
            flip, size = store.flip, len(ids)
            for j in range(singles):
                applied[t] += flip(ids[j % size], j // size + 2, mode)
            attempted[t] += singles

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    total = sum(attempted)
    return {
        "threads": threads,
        "sets": "overlapping" if overlap else "disjoint",
        "kind": kind,
        "mode": mode,
        "wall_s": wall,
        "flips_per_s": total / wall,
        "applied_share": sum(applied) / total,
    }


def contention(
    thread_counts: Sequence[int],
    batch: int,
    iters: int,
    singles: int,
    rounds: int,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Best of ``rounds`` per cell (the least disturbed by the machine's other work)."""
    passes = -(-singles // batch)
    store = _store(batch * max(thread_counts), max(iters, passes) + 1)
    rows = []
    for kind in ("batch", "single"):
        for mode in ("lww", "if_newer"):
            for overlap in (False, True):
                for threads in thread_counts:
                    best: dict[str, Any] | None = None
                    for _ in range(rounds):
                        r = _run(store, threads, overlap, kind, mode, batch, iters, singles)
                        if best is None or r["flips_per_s"] > best["flips_per_s"]:
                            best = r
                    assert best is not None
                    rows.append(best)
                    if progress is not None:
                        progress()
    return rows
