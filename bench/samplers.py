"""Samplers against each other: runs to the first violation, per sampler and unsafe preset.

For each scenario, unsafe preset and sampler (``random``, ``pct`` at depth 3, ``pos``),
50 explorations start from 50 root seeds far apart (``1 + k * 1_000_003``); each runs seeds
``S, S+1, ...`` until it has seen the kind asked for, or gives up after ``--cap`` runs. The
table gives the median and p90 (nearest rank) of the runs each exploration needed, for the
first violation of any kind and for the first empty answer (the incident itself); ``> cap``
when more than that share of the explorations never saw it. Runs per second are wall-clock
figures of this machine (the only part of the output that is not a pure function of the
seeds).

The cells run as the jobs of a campaign (:mod:`dnsrace.campaign`: ``--executor local`` processes
or ``ray``). The default sampler of ``dnsrace explore`` is :func:`pick_default` of this table.

Run: ``.venv/bin/python -m bench.samplers [--seeds 50] [--cap 1000] [--out bench/results]``
writes ``samplers.json`` and ``samplers.md`` there (spin, spin_2x3 and incident_small by
default; about 20 minutes with 2 workers on this shared 2-core machine).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.campaign import SessionPool, table_parser, write_table
from dnsrace.campaign import EXECUTORS, CampaignError, open_campaign
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import violating_runs
from dnsrace.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "spin": ROOT / "scenarios" / "spin.toml",
    "spin_2x3": ROOT / "scenarios" / "spin_2x3.toml",
    "incident_small": ROOT / "scenarios" / "incident_small.toml",
    "spin_exact": ROOT / "scenarios" / "spin_exact.toml",
}
TABLE_SCENARIOS = ("spin", "spin_2x3", "incident_small")
"""The scenarios of the generated table (issue 20: spin, a two-endpoint three-enactor variant,
a small incident)."""
PRESETS = {
    "spin": ["lww", "aws2025", "aws2025+safe_cleanup"],
    "spin_2x3": ["lww", "aws2025", "aws2025+safe_cleanup"],
    "incident_small": ["lww", "aws2025", "aws2025+safe_cleanup"],
    "spin_exact": ["aws2025", "model_race", "model_checked", "model_fixed"],
}
SAMPLERS: list[tuple[str, str, int]] = [
    ("random", "random", 3),
    ("pct d3", "pct", 3),
    ("pos", "pos", 3),
]
CAPS = {"incident_small": 100}
"""Scenarios whose runs are slow (about 20x spin's) get a lower cap than ``--cap``."""
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


def measure(
    scenarios: list[str],
    seeds: int,
    cap: int,
    jobs: int,
    executor: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    caps = {name: min(cap, CAPS.get(name, cap)) for name in scenarios}
    cells = [
        (scenario_name, preset, label, schedule, depth)
        for scenario_name in scenarios
        for preset in PRESETS[scenario_name]
        for label, schedule, depth in SAMPLERS
    ]
    rows = []
    # One job per table cell; the campaign returns them in the order of the cells.
    # Local workers lead sessions of their own, as Ray's do (see bench.campaign.SessionPool).
    campaign = (
        SessionPool(jobs)
        if executor == "local"
        else open_campaign(executor, workers=jobs, address=address)
    )
    with campaign:
        done = campaign.map(
            _cell_job,
            [
                (scenario_name, preset, schedule, depth, seeds, caps[scenario_name])
                for scenario_name, preset, _, schedule, depth in cells
            ],
        )
    for (scenario_name, preset, label, schedule, depth), (firsts, runs, cpu) in zip(
        cells, done, strict=True
    ):
        row: dict[str, Any] = {
            "scenario": scenario_name,
            "preset": preset,
            "sampler": label,
            "schedule": schedule,
            "depth": depth if schedule == "pct" else None,
            "runs": runs,
            "cap": caps[scenario_name],
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
    return {
        "seeds": seeds,
        "cap": cap,
        "seed_gap": SEED_GAP,
        "rows": rows,
        "default": pick_default(rows),
    }


def sampler_scores(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Per sampler: the sum over the table's (scenario, preset) rows of the median runs to the
    first violation of any kind (a median not found within the row's cap counts as the cap)."""
    scores: dict[str, int] = {}
    for r in rows:
        median = r["any"]["median"]
        cost = r["cap"] if median is None else median
        scores[r["sampler"]] = scores.get(r["sampler"], 0) + cost
    return scores


def pick_default(rows: Sequence[dict[str, Any]]) -> str:
    """The default sampler of ``dnsrace explore``: the schedule of the table's sampler with
    the fewest median runs to the first violation over the scenarios (the lowest score of
    :func:`sampler_scores`; on a tie the first in the table's order)."""
    scores = sampler_scores(rows)
    best = min(scores, key=lambda label: scores[label])
    return next(str(r["schedule"]) for r in rows if r["sampler"] == best)


def _cell(stat: dict[str, Any] | None, cap: int) -> str:
    if stat is None:
        return "(cannot empty)"

    def one(v: int | None) -> str:
        return "> cap" if v is None else f"{v:,}"

    return f"{one(stat['median'])} / {one(stat['p90'])}"


def _found(stat: dict[str, Any] | None, seeds: int) -> str:
    if stat is None:
        return "-"
    if stat["found"] == 0:
        # Not "safe": another sampler finds it on the same preset.
        return f"**0/{seeds}: never found**"
    return f"{stat['found']}/{seeds}"


def markdown(doc: dict[str, Any]) -> str:
    seeds = doc["seeds"]
    caps = ", ".join(
        f"{name} {cap:,}"
        for name, cap in dict((r["scenario"], r["cap"]) for r in doc["rows"]).items()
    )
    lines = [
        f"Runs to the first violation, median / p90 over {seeds} root seeds, each exploration "
        f"stopped after a cap of runs ({caps}); `> cap`: not found within the cap in that "
        "share of them; "
        "found: explorations that saw it at all; **never found** marks a sampler that missed "
        "a violation other samplers find on the same preset: a miss, not a proof of safety). "
        f"Generated by `{doc.get('command', 'python -m bench.samplers')}`.",
        "",
        "| scenario | preset | sampler | any violation | empty answer | found (any) "
        "| found (empty) | runs/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['scenario']} | `{r['preset']}` | {r['sampler']} "
            f"| {_cell(r['any'], r['cap'])} "
            f"| {_cell(r['empty_answer'], r['cap'])} | {_found(r['any'], seeds)} "
            f"| {_found(r['empty_answer'], seeds)} "
            f"| {r['runs_per_s']:,.0f} |"
        )
    scores = sampler_scores(doc["rows"])
    lines += [
        "",
        "Sum over the rows of the median runs to the first violation (any kind; `> cap` counted "
        "as the cap), per sampler: "
        + ", ".join(f"{label} {score:,}" for label, score in scores.items())
        + f". Default sampler of `dnsrace explore`: **{doc['default']}** (the lowest sum).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = table_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument(
        "--scenarios",
        default=",".join(TABLE_SCENARIOS),
        help=f"comma-separated, of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--jobs", type=int, default=2, help="workers (one table cell each)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local")
    parser.add_argument("--address", help="with --executor ray: HOST:PORT of a running cluster")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    for name in scenarios:
        if name not in SCENARIOS:
            parser.error(f"--scenarios: unknown {name!r} (one of {', '.join(SCENARIOS)})")
    if not 1 <= args.seeds <= 10_000 or not 1 <= args.cap <= 1_000_000:
        parser.error("--seeds in 1..10000, --cap in 1..1000000")
    try:
        doc = measure(scenarios, args.seeds, args.cap, args.jobs, args.executor, args.address)
    except CampaignError as exc:  # a bad or silent --address, no ray: one line
        print(
            f"python -m bench.samplers: error: --executor {args.executor}: {exc}", file=sys.stderr
        )
        raise SystemExit(2) from None
    doc["command"] = (
        f"python -m bench.samplers --seeds {args.seeds} --cap {args.cap} "
        f"--scenarios {args.scenarios}"
    )
    write_table(args.out, "samplers", doc, markdown(doc))


if __name__ == "__main__":
    main()
