"""The kept whole-fleet view of ``EtcdStore``, measured: the same batch flip with and without it.

``python -m bench.etcd_view [ENDPOINTS] [ROUNDS]`` starts one loopback etcd member, puts
ENDPOINTS (100,000) endpoints and 15 plans, then alternates, round by round, a whole-fleet
``flip_many(None, g)`` that may decide on the view kept from the previous batch with one whose
view was dropped first (so it reads every record), and prints both medians.
"""

from __future__ import annotations

import statistics
import sys
import time

from dnsrace.backends.etcd import EtcdStore
from dnsrace.backends.etcd.local import LocalCluster
from dnsrace.reference import Plan

SETS = [[(f"10.{k}.0.{j}", 1) for j in range(1, 5)] for k in range(16)]


def main(n: int = 100_000, rounds: int = 7) -> None:
    with LocalCluster(1) as cluster:
        store = EtcdStore(f"{cluster.url}/view", reset=True)
        ids = store.add_endpoints([f"e{i}.bench.example" for i in range(n)])
        for g in range(1, 2 * rounds + 2):
            store.put_plan(Plan.from_shared(g, SETS, ids, [i % 16 for i in ids]))
        store.flip_many(None, 1)
        rates: dict[str, list[float]] = {"kept view": [], "read first": []}
        g = 1
        for _ in range(rounds):
            for how, kept in rates.items():
                g += 1
                if how == "read first":
                    store._view = None
                start = time.perf_counter()
                assert store.flip_many(None, g).applied == n
                kept.append(n / (time.perf_counter() - start))
        for how, values in rates.items():
            print(f"{how:>10}: median {statistics.median(values):,.0f} endpoints/s over {rounds}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
