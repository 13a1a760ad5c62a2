"""Ratios of a pytest-benchmark run: each Rust benchmark against the Python reference (and the
plain-loop yardstick) measured in the same run, checked against the project's targets; then
the array targets (``bench/test_array_bench.py``): buffers in, outcomes out and threads, each
against a baseline of the same run.

Run: ``python -m bench.benchreport results/bench.json`` (``make bench-micro`` does).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

# (group prefix, minimum reference/rust speed-up)
SPEEDUP_TARGETS = {"flip_many[if_newer]": 50.0, "flip single": 1.0}
# flip_many(if_newer) from Python must stay within this factor of the plain Rust loop.
BASELINE_FACTOR = 3.0

_ARRAY = "bench/test_array_bench.py::"
# (label, benchmark, baseline benchmark, target or None, "max": ratio <= target, "min": >=).
# The ratio is time(benchmark) / time(baseline), except for "min" rows where it is the speed-up
# time(baseline) / time(benchmark). The verdict uses the median of back-to-back pairs
# (``extra_info["paired_ratio"]``, see bench/test_array_bench.py), robust to other work coming
# and going on a shared machine; the ratios of the separate runs' medians and minimums are
# printed next to it.
# A baseline of None: one timed only inside the pairs (a peer), so only the paired figure.
ARRAY_RATIOS: list[tuple[str, str, str | None, float | None, str]] = [
    ("ids array('I') / None", "test_ids_input[array_I]", "test_ids_input[none]", 1.3, "max"),
    ("ids numpy int64 / None", "test_ids_input[numpy_int64]", "test_ids_input[none]", 1.3, "max"),
    ("ids numpy uint32 / None", "test_ids_input[numpy_uint32]", "test_ids_input[none]", 1.3, "max"),
    ("ids range / None", "test_ids_input[range]", "test_ids_input[none]", None, "max"),
    ("ids list / None", "test_ids_input[list]", "test_ids_input[none]", None, "max"),
    (
        "exact, versions buffer / if_newer",
        "test_per_endpoint_data[exact_buffer]",
        "test_per_endpoint_data[if_newer]",
        1.5,
        "max",
    ),
    (
        "fences buffer / if_newer",
        "test_per_endpoint_data[fence_buffer]",
        "test_per_endpoint_data[if_newer]",
        1.5,
        "max",
    ),
    (
        "outcomes=True / counts",
        "test_outcomes[outcomes_array]",
        "test_outcomes[counts]",
        1.5,
        "max",
    ),
    (
        'outcomes="numpy" / counts',
        "test_outcomes[outcomes_numpy]",
        "test_outcomes[counts]",
        1.5,
        "max",
    ),
    (
        "acquire_leases numpy / flip_many (200k)",
        "test_leases[acquire]",
        "test_leases[flip_many]",
        1.5,
        "max",
    ),
    (
        "renew_leases numpy / flip_many (200k)",
        "test_leases[renew]",
        "test_leases[flip_many]",
        1.5,
        "max",
    ),
    (
        "acquire_leases numpy vs numpy peer: speed-up",
        "test_acquire_vs_numpy_peer",
        None,
        1.5,
        "min",
    ),
    (
        "aliases(None) numpy vs numpy copy: speed-up",
        "test_reads_vs_numpy[aliases]",
        None,
        1.5,
        "min",
    ),
    (
        "aliases(ids) numpy vs numpy gather: speed-up",
        "test_reads_vs_numpy[aliases_ids]",
        None,
        None,
        "min",
    ),
    (
        "versions(None) numpy vs numpy copy: speed-up",
        "test_reads_vs_numpy[versions]",
        None,
        None,
        "min",
    ),
    (
        "2 threads disjoint halves: speed-up",
        "test_threads[two_threads_disjoint]",
        "test_threads[one_thread_disjoint]",
        1.0,
        "min",
    ),
    (
        "2 threads overlapping (all): speed-up",
        "test_threads[two_threads_overlap]",
        "test_threads[one_thread_overlap]",
        None,
        "min",
    ),
]
# (label, benchmark, maximum median in seconds)
ARRAY_ABSOLUTE: list[tuple[str, str, float]] = [
    ("Plan.from_shared(1M buffers)", "test_from_shared_buffers", 0.010),
    ("put_plan(that plan)", "test_put_plan_of_buffers", 0.010),
]


def load(path: Path) -> dict[str, dict[str, float]]:
    """{group: {impl: median seconds}} with impl in rust, py, baseline."""
    data = orjson.loads(path.read_bytes())
    groups: dict[str, dict[str, float]] = {}
    for b in data["benchmarks"]:
        name = b["name"]
        if str(b.get("group") or "").startswith("array:"):
            continue
        impl = "baseline" if "baseline" in name else ("py" if "[py" in name else "rust")
        if b.get("group"):
            groups.setdefault(b["group"], {})[impl] = b["stats"]["median"]
    return groups


def report(groups: dict[str, dict[str, float]]) -> tuple[list[dict[str, Any]], bool]:
    rows, ok = [], True
    for group in sorted(groups):
        g = groups[group]
        rust, py, base = g.get("rust"), g.get("py"), g.get("baseline")
        row: dict[str, Any] = {"group": group, "rust_s": rust, "py_s": py, "baseline_s": base}
        if rust and py:
            row["speedup_vs_reference"] = py / rust
            for prefix, target in SPEEDUP_TARGETS.items():
                if group.startswith(prefix):
                    row["target_speedup"] = target
                    row["meets_speedup"] = py / rust >= target
                    ok &= row["meets_speedup"]
        if rust and base:
            row["vs_plain_loop"] = rust / base
            row["meets_baseline"] = rust / base <= BASELINE_FACTOR
            ok &= row["meets_baseline"]
        rows.append(row)
    return rows, ok


def array_report(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """Rows of the array targets (absent benchmarks are skipped)."""
    data = orjson.loads(path.read_bytes())
    stats = {
        b["fullname"].split(_ARRAY, 1)[1]: {**b["stats"], **b.get("extra_info", {})}
        for b in data["benchmarks"]
        if _ARRAY in b["fullname"]
    }
    med = {name: st["median"] for name, st in stats.items()}
    rows: list[dict[str, Any]] = []
    ok = True
    for label, name, base, target, kind in ARRAY_RATIOS:
        if name not in stats or (base is not None and base not in stats):
            continue
        a = stats[name]

        def of(x: float, y: float, kind: str = kind) -> float:
            return x / y if kind == "max" else y / x

        row: dict[str, Any] = {"label": label, "s": a["median"], "baseline_s": None}
        if base is None:
            if "paired_ratio" not in a:
                continue
            row.update(ratio=a["paired_ratio"], median_ratio=None, min_ratio=None)
        else:
            b = stats[base]
            row["baseline_s"] = b["median"]
            row["ratio"] = a.get("paired_ratio", of(a["median"], b["median"]))
            row["median_ratio"] = of(a["median"], b["median"])
            row["min_ratio"] = of(a["min"], b["min"])
        row.update({"target": target, "kind": kind})
        if target is not None:
            ratio = row["ratio"]
            row["meets"] = ratio <= target if kind == "max" else ratio >= target
            ok &= row["meets"]
        rows.append(row)
    for label, name, limit in ARRAY_ABSOLUTE:
        if name in med:
            meets = med[name] <= limit
            rows.append({"label": label, "s": med[name], "limit_s": limit, "meets": meets})
            ok &= meets
    return rows, ok


def _paren(ratio: float | None, before: str, after: str) -> str:
    return "-" if ratio is None else f"{before}{ratio:.2f}{after}"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.2f} us"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "results/bench.json")
    rows, ok = report(load(path))
    print(f"\n{'benchmark':38s} {'rust':>11s} {'reference':>11s} {'speed-up':>9s} {'vs loop':>8s}")
    for r in rows:
        speed = f"{r['speedup_vs_reference']:.1f}x" if "speedup_vs_reference" in r else "-"
        loop = f"{r['vs_plain_loop']:.2f}x" if "vs_plain_loop" in r else "-"
        flags = []
        if "meets_speedup" in r:
            verdict = "ok" if r["meets_speedup"] else "MISS"
            flags.append(f"{verdict} >= {r['target_speedup']:g}x")
        if "meets_baseline" in r:
            verdict = "ok" if r["meets_baseline"] else "MISS"
            flags.append(f"{verdict} <= {BASELINE_FACTOR:g}x loop")
        print(
            f"{r['group']:38s} {fmt_s(r['rust_s']):>11s} {fmt_s(r['py_s']):>11s} "
            f"{speed:>9s} {loop:>8s}  {', '.join(flags)}"
        )
    arrays, arrays_ok = array_report(path)
    ok &= arrays_ok
    if arrays:
        print(
            f"\n{'array target (ratio: median of pairs)':40s} {'median':>10s} {'baseline':>10s} "
            f"{'ratio':>7s} {'(medians':>9s} {'mins)':>6s}  target"
        )
    for r in arrays:
        verdict = "-" if "meets" not in r else ("ok" if r["meets"] else "MISS")
        if "limit_s" in r:
            print(
                f"{r['label']:40s} {fmt_s(r['s']):>10s} {'':>10s} {'':>7s} {'':>9s} {'':>6s}  "
                f"{verdict} <= {fmt_s(r['limit_s'])}"
            )
            continue
        target = "" if r["target"] is None else f"{'<=' if r['kind'] == 'max' else '>='} "
        target += "" if r["target"] is None else f"{r['target']:g}x"
        print(
            f"{r['label']:40s} {fmt_s(r['s']):>10s} {fmt_s(r['baseline_s']):>10s} "
            f"{r['ratio']:>6.2f}x {_paren(r['median_ratio'], '(', 'x'):>9s} "
            f"{_paren(r['min_ratio'], '', 'x)'):>6s}  "
            f"{verdict} {target}".rstrip()
        )
    if arrays:
        print("(threads: a 2-core machine shared with other work; see docs/guide/benchmarks.md)")
    summary = path.with_name("bench-summary.json")
    summary.write_bytes(orjson.dumps({"store": rows, "arrays": arrays}, option=orjson.OPT_INDENT_2))
    print(f"\nsummary written to {summary}; targets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
