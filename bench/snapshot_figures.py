"""Snapshot figures at scale: 1M endpoints x 4 targets, 3 live plans, leases on a tenth.

Run: ``.venv/bin/python bench/snapshot_figures.py [ENDPOINTS]`` (after ``make build``). Prints
the time of ``snapshot`` and ``restore`` (best of 3), the file size, and bytes per endpoint
beyond the names, and checks that the restored store answers like the saved one.
"""

from __future__ import annotations

import array
import gc
import os
import sys
import tempfile
import timeit
from collections.abc import Callable

import dnsrace


def build(n: int) -> dnsrace.RecordStore:
    store = dnsrace.RecordStore()
    ids = store.add_endpoints(f"lb-{i}.us-east-1.dynamodb.example" for i in range(n))
    ep = array.array("I", ids)
    for g in (1, 2, 3):
        # 4096 distinct 4-target sets per plan, spread over the endpoints.
        sets = [
            [(f"10.{g}.{(k >> 6) & 255}.{(k & 63) * 4 + j}", 10 + j) for j in range(4)]
            for k in range(4096)
        ]
        index = array.array("I", ((i * 7 + g) % 4096 for i in range(n)))
        store.put_plan(dnsrace.Plan.from_shared(g, sets, ep, index))
        store.flip_many(None, g, "if_newer")
    store.acquire_leases(ep[: n // 10], "enactor-az1", 30.0, 1000.0)
    return store


def best(f: Callable[[], object], runs: int = 3) -> float:
    # The fastest of the runs; the collector stays on, as in the calls measured.
    return min(timeit.repeat(f, setup=gc.enable, number=1, repeat=runs))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    store = build(n)
    name_bytes = sum(len(f"lb-{i}.us-east-1.dynamodb.example") for i in range(n))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "store.snap")
        t_save = best(lambda: store.snapshot(path))
        size = os.path.getsize(path)
        t_load = best(lambda: dnsrace.RecordStore.restore(path))
        back = dnsrace.RecordStore.restore(path)
        assert back.stats() == store.stats()
        assert back.aliases(output="array") == store.aliases(output="array")
    print(f"endpoints: {n:,}; plans: 3 live x 4 targets; leases: {n // 10:,}")
    print(f"snapshot: {t_save:.3f} s; restore: {t_load:.3f} s (best of 3)")
    print(f"file: {size:,} bytes = {size / n:.1f} B/endpoint")
    print(f"names: {name_bytes:,} bytes = {name_bytes / n:.1f} B/endpoint")
    print(f"beyond the names: {(size - name_bytes) / n:.1f} B/endpoint")


if __name__ == "__main__":
    main()
