"""Exploration speed on ``scenarios/spin.toml``, paired: this tree against a baseline commit.

``python -m bench.explore_paired [--baseline REV] [--rounds N]`` checks the baseline's Python
code out into a temporary git worktree (the Rust extension is this tree's: the baseline's
Python runs on it, so only the Python differs), then runs each workload in a fresh process,
baseline and this tree in turn (A B A B ...), so a drift of the shared machine's speed hits
both alike. It prints, per workload, the median of each side and the median of the per-round
ratios, and writes ``bench/results/explore_paired.json`` and ``.md``.

Workloads (each one process, timed inside it after imports):

* ``random``: 400 seeded random-schedule runs of ``aws2025`` (``explore_preset``): runs/s,
  per wall second and per CPU second of the process (on a shared machine the CPU time
  drifts less than the wall time);
* ``dfs-k1``: the bounded search of ``cas`` within 1 preemption, to its exhaustive end: s;
* ``dfs-k2``: the same within 2 preemptions (``--k2``; about 1.5 min per baseline round).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKLOAD = r"""
import json, sys, time
from pathlib import Path
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import explore_dfs, explore_preset
from dnsrace.sim.scenario import load_scenario

spin = load_scenario(Path(sys.argv[2]))
kind = sys.argv[1]
if kind == "random":
    d = lookup("aws2025").with_trees_kept(2)
    t, c = time.perf_counter(), time.process_time()
    found = explore_preset(spin, d, runs=400, schedule="random", depth=3, seed=1)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({"runs": found.runs, "wall_s": wall, "cpu_s": cpu,
                      "violating": found.violating_runs}))
else:
    d = lookup("cas").with_trees_kept(2)
    k = 1 if kind == "dfs-k1" else 2
    t = time.perf_counter()
    found = explore_dfs(spin, d, preemptions=k, max_schedules=200_000)
    wall = time.perf_counter() - t
    runs = found.schedules + found.redundant + getattr(found, "pruned", 0)
    print(json.dumps({"runs": runs, "wall_s": wall, "exhaustive": found.exhaustive}))
"""


def _run(tree: Path, kind: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "python"))
    out = subprocess.run(
        [sys.executable, "-c", WORKLOAD, kind, str(ROOT / "scenarios" / "spin.toml")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="main", help="the commit to compare with (main)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--k2", action="store_true", help="also the search within 2 preemptions")
    args = p.parse_args(argv)
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    workloads = ["random", "dfs-k1", *(["dfs-k2"] if args.k2 else [])]
    with tempfile.TemporaryDirectory(prefix="explore-baseline-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), rev],
            capture_output=True,
            check=True,
        )
        try:
            for so in (ROOT / "python" / "dnsrace").glob("_core*.so"):
                shutil.copy2(so, base / "python" / "dnsrace" / so.name)
            rows = {}
            for kind in workloads:
                pairs = []
                for _ in range(args.rounds):
                    old = _run(base, kind)
                    new = _run(ROOT, kind)
                    pairs.append((old, new))
                    print(kind, "baseline", old, "this tree", new, file=sys.stderr, flush=True)
                rows[kind] = pairs
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                capture_output=True,
                check=False,
            )
    summary = {}
    lines = [
        f"Exploration on spin.toml, this tree against {rev}, {args.rounds} paired rounds "
        "(one process per run, A B A B; medians; ratio: median of the per-round ratios)",
        "",
        "| workload | baseline | this tree | speed-up (paired) |",
        "|---|---|---|---|",
    ]
    # (row, workload, clock, unit, higher is better): runs/s on the wall clock and per CPU
    # second of the process; the searches' seconds to their verdict.
    measures = [
        (kind, kind, "wall_s", "s to the exhaustive verdict", False)
        for kind in rows
        if kind != "random"
    ]
    measures[:0] = [
        ("random", "random", "wall_s", "runs/s", True),
        ("random-cpu", "random", "cpu_s", "runs per CPU s", True),
    ]
    for name, kind, clock, unit, per_second in measures:
        pairs = rows[kind]
        if not all(clock in side for pair in pairs for side in pair):
            continue
        if per_second:
            base_vals = [o["runs"] / o[clock] for o, _ in pairs]
            tree_vals = [n["runs"] / n[clock] for _, n in pairs]
        else:
            base_vals = [o[clock] for o, _ in pairs]
            tree_vals = [n[clock] for _, n in pairs]
        ratios = zip(base_vals, tree_vals, strict=True)
        ratio = statistics.median(n / o if per_second else o / n for o, n in ratios)
        summary[name] = {
            "baseline": statistics.median(base_vals),
            "this_tree": statistics.median(tree_vals),
            "speedup": ratio,
            "unit": unit,
            "pairs": pairs,
        }
        lines.append(
            f"| {name} ({unit}) | {statistics.median(base_vals):,.1f} | "
            f"{statistics.median(tree_vals):,.1f} | {ratio:.2f}x |"
        )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "explore_paired.json").write_text(
        json.dumps({"baseline": rev, "rounds": args.rounds, "workloads": summary}, indent=1)
    )
    (results / "explore_paired.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
