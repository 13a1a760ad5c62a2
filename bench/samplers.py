"""Samplers against each other: runs to the first violation, per sampler and unsafe preset.

For each scenario, unsafe preset and sampler (``random``, ``pct`` at depths 3 and 4, ``pos``),
50 explorations start from 50 root seeds far apart (``1 + k * 1_000_003``); each runs seeds
``S, S+1, ...`` until it has seen the kind asked for, or gives up after ``--cap`` runs. The
table gives the median and p90 (nearest rank) of the runs each exploration needed, for the
first violation of any kind and for the first empty answer (the incident itself); ``> cap``
when more than that share of the explorations never saw it. Runs per second are wall-clock
figures of this machine (the only part of the output that is not a pure function of the
seeds).

Run: ``.venv/bin/python -m bench.samplers [--seeds 50] [--cap 1000] [--out bench/results]``
writes ``samplers.json`` and ``samplers.md`` there (a few minutes per scenario on one core).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import violating_runs
from dnsrace.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "spin": ROOT / "scenarios" / "spin.toml",
    "spin_exact": ROOT / "scenarios" / "spin_exact.toml",
}
PRESETS = {
    "spin": ["lww", "aws2025", "aws2025+safe_cleanup"],
    "spin_exact": ["aws2025", "model_race", "model_checked", "model_fixed"],
}
SAMPLERS: list[tuple[str, str, int]] = [
    ("random", "random", 3),
    ("pct d3", "pct", 3),
    ("pct d4", "pct", 4),
    ("pos", "pos", 3),
]
KINDS = ("any", "empty_answer")
NEVER_EMPTY = {"aws2025+safe_cleanup", "model_fixed"}
"""Presets whose clean-up cannot empty an endpoint: only their first violation is sought."""
BLOCK = 50
SEED_GAP = 1_000_003


def _discipline(scenario: Scenario, name: str) -> Any:
    for d in scenario.discipline_list():
        if d.name == name:
            return d
    return lookup(name).with_trees_kept(scenario.disciplines.trees_kept or 2)


def first_runs(
    scenario: Scenario, name: str, schedule: str, depth: int, root: int, cap: int
) -> tuple[dict[str, int | None], int]:
    """Runs needed from ``root`` to the first violation of each kind (None: not in ``cap``),
    and the runs done."""
    d = _discipline(scenario, name)
    found: dict[str, int | None] = dict.fromkeys(KINDS)
    if name in NEVER_EMPTY:
        del found["empty_answer"]
    done = 0
    while done < cap and any(v is None for v in found.values()):
        count = min(BLOCK, cap - done)
        for seed, kinds in violating_runs(scenario, d, schedule, depth, "rust", root + done, count):
            n = seed - root + 1
            if found["any"] is None:
                found["any"] = n
            if "empty_answer" in kinds and found["empty_answer"] is None:
                found["empty_answer"] = n
        done += count
    return found, done


def quantile(values: Sequence[int | None], q: float) -> int | None:
    """Nearest-rank quantile; a run that never found it counts as infinitely long (None)."""
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _cell_job(
    scenario_name: str, preset: str, schedule: str, depth: int, seeds: int, cap: int
) -> tuple[dict[str, list[int | None]], int, float]:
    """One table cell (a worker's job): the firsts of every root seed, runs, CPU seconds."""
    scenario = load_scenario(SCENARIOS[scenario_name])
    firsts: dict[str, list[int | None]] = {k: [] for k in KINDS}
    runs = 0
    start = time.process_time()
    for k in range(seeds):
        found, done = first_runs(scenario, preset, schedule, depth, 1 + k * SEED_GAP, cap)
        runs += done
        for kind in KINDS:
            firsts[kind].append(found.get(kind))
    return firsts, runs, time.process_time() - start


def measure(scenarios: list[str], seeds: int, cap: int, jobs: int) -> dict[str, Any]:
    cells = [
        (scenario_name, preset, label, schedule, depth)
        for scenario_name in scenarios
        for preset in PRESETS[scenario_name]
        for label, schedule, depth in SAMPLERS
    ]
    rows = []
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_cell_job, scenario_name, preset, schedule, depth, seeds, cap)
            for scenario_name, preset, _, schedule, depth in cells
        ]
        for (scenario_name, preset, label, schedule, depth), future in zip(
            cells, futures, strict=True
        ):
            firsts, runs, cpu = future.result()
            row: dict[str, Any] = {
                "scenario": scenario_name,
                "preset": preset,
                "sampler": label,
                "schedule": schedule,
                "depth": depth if schedule == "pct" else None,
                "runs": runs,
                # Per process: runs over the CPU seconds of the worker that ran them.
                "runs_per_s": runs / cpu if cpu > 0 else None,
            }
            for kind in KINDS:
                if preset in NEVER_EMPTY and kind == "empty_answer":
                    row[kind] = None
                    continue
                row[kind] = {
                    "median": quantile(firsts[kind], 0.5),
                    "p90": quantile(firsts[kind], 0.9),
                    "found": sum(v is not None for v in firsts[kind]),
                    "firsts": firsts[kind],
                }
            rows.append(row)
            print(
                f"{scenario_name} {preset} {label}: {row['any']['median']} "
                f"{row['empty_answer'] and row['empty_answer']['median']} "
                f"{row['runs_per_s']:.0f} runs/s",
                flush=True,
            )
    return {"seeds": seeds, "cap": cap, "seed_gap": SEED_GAP, "rows": rows}


def _cell(stat: dict[str, Any] | None, cap: int) -> str:
    if stat is None:
        return "(cannot empty)"

    def one(v: int | None) -> str:
        return f"> {cap:,}" if v is None else f"{v:,}"

    return f"{one(stat['median'])} / {one(stat['p90'])}"


def markdown(doc: dict[str, Any]) -> str:
    cap, seeds = doc["cap"], doc["seeds"]
    lines = [
        f"Runs to the first violation, median / p90 over {seeds} root seeds "
        f"(`> {cap:,}`: not found within {cap:,} runs in that share of them; "
        "found: explorations that saw it at all). Generated by `python -m bench.samplers`.",
        "",
        "| scenario | preset | sampler | any violation | empty answer | found (empty) | runs/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['scenario']} | `{r['preset']}` | {r['sampler']} | {_cell(r['any'], cap)} "
            f"| {_cell(r['empty_answer'], cap)} "
            f"| {r['empty_answer']['found'] if r['empty_answer'] else '-'}/{seeds} "
            f"| {r['runs_per_s']:,.0f} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--scenarios", default="spin", help="comma-separated: spin,spin_exact")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    for name in scenarios:
        if name not in SCENARIOS:
            parser.error(f"--scenarios: unknown {name!r} (one of {', '.join(SCENARIOS)})")
    doc = measure(scenarios, args.seeds, args.cap, args.jobs)
    doc["command"] = (
        f"python -m bench.samplers --seeds {args.seeds} --cap {args.cap} "
        f"--scenarios {args.scenarios}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "samplers.json").write_text(json.dumps(doc, indent=1) + "\n")
    (args.out / "samplers.md").write_text(markdown(doc))


if __name__ == "__main__":
    main()
