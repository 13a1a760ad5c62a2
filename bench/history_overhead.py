"""What recording costs: batch flips, batch reads and single flips on 200,000 endpoints, best
of 15, with ``RecordStore(history=N)`` (``--history N``; default 0, nothing recorded).

Run: ``.venv/bin/python bench/history_overhead.py [--history N]``. Run it with ``--history 0``
under two builds (this branch and one without histories) for the cost of the ``history=0``
branch, or twice here (0 and N) for the cost of recording.
"""

from __future__ import annotations

import array
import sys
import time

import dnsrace

N = 200_000


def main() -> None:
    capacity = int(sys.argv[sys.argv.index("--history") + 1]) if "--history" in sys.argv else 0
    store = dnsrace.RecordStore(history=capacity) if capacity else dnsrace.RecordStore()
    ids = array.array("I", store.add_endpoints(f"e{i}.t" for i in range(N)))
    index = array.array("I", bytes(4 * N))
    for g in (1, 2):
        store.put_plan(dnsrace.Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, index))
    best = {"flip_many": 1e9, "aliases": 1e9, "flip x20000": 1e9}
    for r in range(15):
        g = 1 + r % 2
        t = time.perf_counter()
        store.flip_many(None, g, "lww")
        best["flip_many"] = min(best["flip_many"], time.perf_counter() - t)
        t = time.perf_counter()
        store.aliases(ids)
        best["aliases"] = min(best["aliases"], time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(20_000):
            store.flip(i, g, "lww")
        best["flip x20000"] = min(best["flip x20000"], time.perf_counter() - t)
    shown = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in best.items())
    print(f"history={capacity}: {shown}")


if __name__ == "__main__":
    main()
