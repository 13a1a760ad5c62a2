"""The flip-mode comparison: the same stale write, under each write discipline of the store.

Every endpoint starts on generation 1. A current writer flips everything to generation 3; a
delayed writer, which prepared its write before that (read the versions, took its leases),
then flips everything to generation 2. The table shows what each mode let through: ``lww``
applies every stale write, ``if_newer`` (generation CAS), ``exact`` (version compare) and
``fenced`` (lease token) refuse them all, at a throughput the table also reports.

Run: ``dnsrace modes [--endpoints N] [--json PATH] [--no-reference]`` (the command:
:mod:`dnsrace.app.commands.modes`).
"""

from __future__ import annotations

import sys
import time
from array import array
from typing import Any

from dnsrace.app.doors.text import markup
from dnsrace.sim.workload import build_store

MODES = ("lww", "if_newer", "exact", "fenced")


def stale_write_race(store: Any, ids: list[int], mode: str) -> dict[str, Any]:
    """Run the current writer (gen 3) then the delayed one (gen 2); measure both flips."""
    store.flip_many(None, 1, "lww")
    before = store.stats()
    current: dict[str, Any] = {}
    delayed: dict[str, Any] = {}
    if mode == "exact":
        # Read before the current writer ran; as arrays, the store reads them without one
        # Python int per endpoint.
        delayed["expected_versions"] = store.versions(output="array")
        current["expected_versions"] = store.versions(output="array")
    elif mode == "fenced":
        # The delayed writer's leases (ttl 1) expire before the current writer takes over.
        delayed["fence"] = array("Q", store.acquire_leases(ids, "delayed", 1.0, 0.0))
        current["fence"] = array("Q", store.acquire_leases(ids, "current", 1.0, 2.0))
    store_mode = "lww" if mode == "fenced" else mode
    t0 = time.perf_counter()
    first = store.flip_many(None, 3, store_mode, **current)
    t1 = time.perf_counter()
    second = store.flip_many(None, 2, store_mode, **delayed)
    t2 = time.perf_counter()
    after = store.stats()
    aliases = store.aliases()
    n = len(ids)
    return {
        "mode": mode,
        "endpoints": n,
        "current_applied": first.applied,
        "delayed_applied": second.applied,
        "delayed_rejected_outdated": second.outdated,
        "delayed_rejected_fenced": second.fenced,
        "stale_flips": after["stale_flips"] - before["stale_flips"],
        "serving_newest": sum(1 for a in aliases if a == 3),
        "seconds": t2 - t0,
        "flips_per_s": 2 * n / (t2 - t0),
        "current_ms": (t1 - t0) * 1e3,
        "delayed_ms": (t2 - t1) * 1e3,
    }


def compare(endpoints: int, with_reference: bool = True) -> list[dict[str, Any]]:
    import dnsrace
    from dnsrace.reference import Plan as RefPlan
    from dnsrace.reference import PyRecordStore

    impls: list[tuple[str, Any, Any]] = [("rust", dnsrace.RecordStore, dnsrace.Plan)]
    if with_reference:
        impls.append(("reference", PyRecordStore, RefPlan))
    rows = []
    for name, store_cls, plan_cls in impls:
        print(f"building {endpoints:,} endpoints x 4 targets on {name} ...", file=sys.stderr)
        store, ids = build_store(store_cls, plan_cls, endpoints, 3)
        for mode in MODES:
            row = stale_write_race(store, ids, mode)
            row["store"] = name
            rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]], file: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Stale write race per flip mode ({rows[0]['endpoints']:,} endpoints)")
    for col in (
        "store",
        "mode",
        "Mflips/s",
        "current ms",
        "delayed ms",
        "stale applied",
        "rejected outdated",
        "rejected fenced",
        "serving newest",
    ):
        table.add_column(col, justify="left" if col in ("store", "mode") else "right")
    for r in rows:
        table.add_row(
            markup(r["store"]),
            markup(r["mode"]),
            f"{r['flips_per_s'] / 1e6:,.1f}",
            f"{r['current_ms']:.1f}",
            f"{r['delayed_ms']:.1f}",
            f"{r['stale_flips']:,}",
            f"{r['delayed_rejected_outdated']:,}",
            f"{r['delayed_rejected_fenced']:,}",
            f"{r['serving_newest']:,}",
        )
    Console(file=file, width=max(Console().width, 130)).print(table)
    by = {(r["store"], r["mode"]): r for r in rows}
    for mode in MODES:
        rust, ref = by.get(("rust", mode)), by.get(("reference", mode))
        if rust and ref:
            ratio = ref["seconds"] / rust["seconds"]
            print(f"  {mode:9s} rust is {ratio:,.0f}x the reference's throughput", file=file)
