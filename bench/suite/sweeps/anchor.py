"""The physical anchor: bare Rust loops doing the work of an ``if_newer`` batch flip over every
endpoint (``rust/bench/src/bin/anchor.rs``: 56-byte records as the store kept them before its
hot columns, and three columns in one fused pass; each for the baseline target and for AVX2),
against ``RecordStore.flip_many(None, g, "if_newer")`` called from Python.

Rounds alternate: the anchor binary (a process of its own, timing each loop in rotating order
and the core store's own ``flip_many`` in that process, median of its calls), then the Python
``RecordStore`` of the same size in this process (median of its calls); the ratio is taken per
round and its median kept.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
CALLS = 7
"""Calls per round of each loop (in the binary) and of the RecordStore (here)."""


def anchor_binary() -> tuple[str | None, str]:
    """The anchor's executable, built by cargo in release mode; (None, why) when it cannot be."""
    cargo = shutil.which("cargo")
    if cargo is None:
        return None, "cargo not found"
    cmd = [cargo, "build", "--release", "-p", "dnsrace-bench", "--bin", "anchor"]
    proc = subprocess.run(
        [*cmd, "--message-format=json", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        msg = json.loads(line) if line.startswith("{") else {}
        if msg.get("target", {}).get("name") == "anchor" and msg.get("executable"):
            return str(msg["executable"]), ""
    return None, f"cargo build failed: {proc.stderr.strip()[-200:]}"


def measure(n: int, rounds: int) -> dict[str, Any]:
    """Runs in a child process: the anchor binary and a Python RecordStore, alternating."""
    exe, why = anchor_binary()
    if exe is None:
        return {"status": "skipped", "reason": why, "n": n}
    from bench.suite.peers.embedded import record_store

    ref = record_store()
    ref.load(n)
    store = ref.store
    per_variant: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    py_times: list[float] = []
    best: dict[str, float] = {}
    py_best = float("inf")
    avx2 = False
    for _ in range(rounds):
        out = subprocess.run(
            [exe, str(n), str(CALLS)], capture_output=True, text=True, check=True
        ).stdout
        doc = json.loads(out.strip().splitlines()[-1])
        avx2 = bool(doc["avx2"])
        ts = []
        for _ in range(CALLS):
            store.flip_many(None, 1, "lww")
            t0 = time.perf_counter()
            applied = store.flip_many(None, 2, "if_newer").applied
            ts.append(time.perf_counter() - t0)
            if applied != n:
                raise RuntimeError(f"RecordStore applied {applied} of {n}")
        py = statistics.median(ts)
        py_times.append(py)
        py_best = min(py_best, *ts)
        for name, v in doc.items():
            if isinstance(v, dict):
                per_variant.setdefault(name, []).append(v["seconds"])
                best[name] = min(best.get(name, v["best_seconds"]), v["best_seconds"])
                ratios.setdefault(name, []).append(py / v["seconds"])
    return {
        "status": "ok",
        "n": n,
        "rounds": rounds,
        "avx2": avx2,
        "recordstore_s": statistics.median(py_times),
        "recordstore_best_s": py_best,
        "variants": {
            name: {
                "seconds": statistics.median(ts),
                "best_seconds": best[name],
                "recordstore_over_this": statistics.median(ratios[name]),
            }
            for name, ts in per_variant.items()
        },
    }


def run_isolated(n: int, rounds: int) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(measure, n, rounds).result()
        return result
