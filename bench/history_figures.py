"""Checker figures at the issue's two scales, on histories the Rust store records from 8
Python threads (batch calls release the interpreter, so the threads really overlap):

* wide: about 1,000,000 operations over 100,000 endpoints (plans put, batch flips in every
  mode, batch reads and leases on random 1,000-endpoint slices);
* deep: one endpoint, about 10,000 operations from 8 clients (flips in every mode, reads,
  leases, each thread as fast as it can, through one-endpoint batch calls that release the
  interpreter so that the threads' calls overlap).

Run: ``.venv/bin/python bench/history_figures.py [--quick]`` (after ``make build``). Prints,
per scale, the operations recorded, the time to record them, the file size, and the time of
``dnsrace.history.check`` on the file's bytes (parse + linearizability + domain checks; best of
3), with the verdict; then the deep case again from 8 Rust threads
(``cargo run --release --example deep_history``), whose calls overlap far more. ``--quick``
uses a tenth of each size.
"""

from __future__ import annotations

import array
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import dnsrace
from dnsrace import history

THREADS = 8


def _plan(g: int, ids: array.array[int]) -> dnsrace.Plan:
    sets = [[(f"10.{g}.0.{k}", 10)] for k in range(64)]
    index = array.array("I", (i % 64 for i in range(len(ids))))
    return dnsrace.Plan.from_shared(g, sets, ids, index)


def wide(endpoints: int, target_ops: int) -> bytes:
    store = dnsrace.RecordStore(history=target_ops * 2)
    ids = array.array("I", store.add_endpoints(f"ep{i}.bench" for i in range(endpoints)))
    for g in (1, 2, 3):
        store.put_plan(_plan(g, ids))
    store.flip_many(None, 1, "lww")
    per_thread = (target_ops - 4 * endpoints) // THREADS

    def work(k: int) -> None:
        rng = random.Random(k)
        done = 0
        holder = f"w{k}"
        while done < per_thread:
            start = rng.randrange(0, endpoints - 1000)
            batch = ids[start : start + 1000]
            roll = rng.randrange(6)
            if roll <= 2:
                mode = rng.choice(["lww", "if_newer", "if_newer"])
                store.flip_many(batch, rng.randrange(1, 4), mode)  # type: ignore[arg-type]
            elif roll == 3:
                store.flip_many(
                    batch, rng.randrange(1, 4), "exact", expected_versions=store.versions(batch)
                )
                done += len(batch)
            elif roll == 4:
                store.aliases(batch)
            else:
                tokens = store.acquire_leases(batch, holder, 0.01, time.monotonic())
                held = [(i, t) for i, t in zip(batch, tokens, strict=True) if t is not None]
                store.release_leases([i for i, _ in held], holder, [t for _, t in held])
                done += len(held)
            done += len(batch)

    _threads(work)
    assert store.history_dropped() == 0
    return store.history_bytes()


def deep(target_ops: int) -> bytes:
    store = dnsrace.RecordStore(history=target_ops * 2)
    store.add_endpoints(["one.bench"])
    for g in range(1, 6):
        store.put_plan(dnsrace.Plan(g, {0: [(f"10.0.0.{g}", 1)]}))
    per_thread = target_ops // THREADS
    t0 = time.monotonic()

    def work(k: int) -> None:
        # Batch calls on [0] release the interpreter inside the store, so the threads' calls
        # really overlap (single-endpoint calls hold it and would record a sequential history).
        rng = random.Random(k)
        holder = f"d{k}"
        token = 1
        one = [0]
        for _ in range(per_thread):
            roll = rng.randrange(8)
            g = rng.randrange(1, 6)
            if roll <= 2:
                mode = rng.choice(["lww", "if_newer"])
                store.flip_many(one, g, mode, fence=token if roll == 2 else None)  # type: ignore[arg-type]
            elif roll == 3:
                store.flip_many(one, g, "exact", expected_versions=store.versions(one))
            elif roll == 4:
                store.rollbacks(one)
            elif roll == 5:
                got = store.acquire_leases(one, holder, 0.0005, time.monotonic() - t0)[0]
                token = got if got is not None else token
            else:
                store.release_leases(one, holder, [token])

    _threads(work)
    assert store.history_dropped() == 0
    return store.history_bytes()


def _threads(work: object) -> None:
    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def figures(name: str, make: object) -> None:
    t = time.perf_counter()
    data: bytes = make()  # type: ignore[operator]
    recorded = time.perf_counter() - t
    best = float("inf")
    result: history.CheckResult | None = None
    for _ in range(3):
        t = time.perf_counter()
        result = history.check(data)
        best = min(best, time.perf_counter() - t)
    assert result is not None
    print(
        f"{name}: {result['operations']:,} operations over {result['endpoints']:,} endpoints "
        f"from {THREADS} threads (recorded in {recorded:.1f} s, {len(data) / 1e6:.0f} MB): "
        f"check {best:.2f} s (best of 3), verdict {result['verdict']}",
        flush=True,
    )


def main() -> None:
    scale = 10 if "--quick" in sys.argv else 1
    figures("wide", lambda: wide(100_000 // scale, 1_000_000 // scale))
    figures("deep", lambda: deep(10_000 // scale))
    # The deep case from Rust threads, whose calls overlap far more than Python threads' can.
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            *("cargo", "run", "--release", "--quiet", "-p", "dnsrace-core"),
            *("--example", "deep_history", "--", str(10_000 // scale)),
        ],
        cwd=root,
        check=True,
    )


if __name__ == "__main__":
    main()
