"""The fit target: 1M endpoints x 4 targets with 3 live plans in one ``RecordStore``, every
endpoint flipped through the three plans (generation CAS), with the process's RSS."""

from __future__ import annotations

import resource
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from bench.suite.peers.base import PLANS, TARGETS
from bench.suite.peers.embedded import record_store, rss_bytes


def probe(n: int) -> dict[str, Any]:
    peer = record_store()
    t0 = time.perf_counter()
    before = rss_bytes()
    peer.load(n)  # registers, stores plans 1..3, flips every alias to 1
    applied = [peer.flip_batch(None, "if_newer", g) for g in range(2, PLANS + 1)]
    after = rss_bytes()
    live = peer.store.plan_generations()
    return {
        "n": n,
        "targets": TARGETS,
        "live_plans": len(live),
        "flips_applied": applied,
        "runs": all(a == n for a in applied) and len(live) == PLANS,
        "rss_bytes": after,
        "rss_growth_bytes": after - before,
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "bytes_per_endpoint": (after - before) / n,
        "wall_s": time.perf_counter() - t0,
    }


def run_isolated(n: int) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(probe, n).result()
        return result
