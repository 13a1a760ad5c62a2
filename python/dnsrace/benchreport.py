"""Ratios of a pytest-benchmark run: each Rust benchmark against the Python reference (and the
plain-loop yardstick) measured in the same run, checked against the project's targets.

Run: ``python -m dnsrace.benchreport results/bench.json`` (``make bench`` does).
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


def load(path: Path) -> dict[str, dict[str, float]]:
    """{group: {impl: median seconds}} with impl in rust, py, baseline."""
    data = orjson.loads(path.read_bytes())
    groups: dict[str, dict[str, float]] = {}
    for b in data["benchmarks"]:
        name = b["name"]
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
    summary = path.with_name("bench-summary.json")
    summary.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    print(f"\nsummary written to {summary}; targets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
