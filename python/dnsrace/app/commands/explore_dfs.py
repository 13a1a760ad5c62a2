"""``dnsrace explore SCENARIO --schedule dfs``: the bounded depth-first search of every
schedule of one seed (iterative context bounding K = 0 .. ``--preemptions``), each first
violation shrunk to its shortest failing prefix and printed as a replay line; ``--replay``
runs one such line. Exit status 1 when a violation is found (docs/reference/exit-codes.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.args import UsageError
from dnsrace.app.commands import simulation
from dnsrace.app.doors.outputs import Outputs
from dnsrace.app.doors.text import safe_text, shell_line
from dnsrace.schema.tables import override_text

__all__ = ["MAX_PREEMPTIONS", "add_options", "main", "replay_argv"]

MAX_PREEMPTIONS = 8
"""Most preemptions a search may allow (each one multiplies the schedules by the decisions of
a run; 3 already takes minutes on ``spin.toml``)."""
MAX_DECISIONS = 10_000
"""Most decisions a ``--replay`` line may give."""


def add_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("bounded search (--schedule dfs)")
    group.add_argument(
        "--preemptions",
        type=types.bounded_int(0, MAX_PREEMPTIONS),
        default=2,
        help="the preemption bound K: every schedule with at most K preemptions, searched "
        "for K = 0, 1, ... K in turn (2)",
    )
    group.add_argument(
        "--max-schedules",
        type=types.bounded_int(1, types.MAX_RUNS),
        default=200_000,
        help="most runs per discipline, over all bounds (200,000); the search then stops "
        "without saying 'exhaustive'",
    )
    group.add_argument(
        "--kind",
        choices=("stale_flip", "empty_answer", "stuck", "not_converged"),
        help="look for this violation kind only (the others are counted on the way)",
    )
    group.add_argument(
        "--replay",
        metavar="DECISIONS",
        help="run the one schedule these comma-separated decisions make (a search's replay "
        "line) and report its violations",
    )


def replay_argv(
    scenario_path: str,
    discipline: str,
    *,
    seed: int,
    decisions: list[str],
    overrides: dict[str, Any],
) -> list[str]:
    """The ``dnsrace explore`` arguments that replay one searched schedule."""
    argv = ["dnsrace", "explore", scenario_path, "--schedule", "dfs"]
    argv += ["--discipline", discipline, "--seed", str(seed)]
    for key, value in overrides.items():
        argv += ["--set", override_text(key, value)]
    argv += ["--replay", ",".join(decisions)]
    return argv


def _decisions(text: str) -> list[str]:
    names = [] if text == "" else text.split(",")
    if len(names) > MAX_DECISIONS:
        raise UsageError(f"--replay: at most {MAX_DECISIONS:,} decisions, got {len(names):,}")
    for name in names:
        if not name or len(name) > 256 or not name.isprintable():
            raise UsageError(f"--replay: not an event name: {safe_text(name[:60])!r}")
    return names


def main(args: argparse.Namespace) -> int:
    from rich.table import Table

    from dnsrace.app.report import _round, dumps, table_console
    from dnsrace.sim.explore import explore_dfs, replay_dfs, shrink_decisions
    from dnsrace.sim.runner import run_with_schedule
    from dnsrace.sim.schedule import Nondeterminism, replay_schedule

    if args.shrink or args.stop_at_first:
        raise UsageError("--schedule dfs: stops at the first violation and shrinks it always")
    scenario, _ = simulation.build_scenario(args)
    if scenario.clock != "virtual":
        raise UsageError(f"{args.scenario}: exploration needs clock = 'virtual'")
    seed = scenario.seed if args.seed is None else int(args.seed)
    scenario = scenario.with_seed(seed)
    histories = simulation.per_discipline_paths("--history", args.history, scenario)
    outs = Outputs([args.scenario])
    doc_out = outs.add("--json", args.json)
    simulation.declare_outputs(outs, [("--history", histories)])
    store = simulation.store_name(args)
    if store.startswith("etcd://"):
        raise UsageError("--schedule dfs: needs an embedded store (--store rust|reference)")
    base = simulation.overrides(args)
    disciplines = scenario.discipline_list()
    results: dict[str, dict[str, Any]] = {}
    replays: dict[str, list[str]] = {}

    if args.replay is not None:
        decisions = _decisions(args.replay)
        for d in disciplines:
            try:
                kinds = replay_dfs(scenario, d, decisions, store=store)
            except Nondeterminism as exc:
                raise UsageError(f"--replay: {d.name}: {exc}") from None
            results[d.name] = {"decisions": len(decisions), "kinds": kinds}
            replays[d.name] = decisions
        doc: dict[str, Any] = {
            "scenario": scenario.name,
            "schedule": "dfs",
            "seed": seed,
            "replay": decisions,
            "results": results,
        }
    else:
        for d in disciplines:
            found = explore_dfs(
                scenario,
                d,
                preemptions=int(args.preemptions),
                max_schedules=int(args.max_schedules),
                store=store,
                wanted=args.kind,
            )
            entry = found.as_json()
            del entry["first_violation"], entry["first_violation_kinds"]
            entry["violation"] = None
            if found.first_violation_kinds:
                short, kinds = shrink_decisions(scenario, d, found.first_violation, store=store)
                argv = replay_argv(
                    args.scenario, d.name, seed=seed, decisions=short, overrides=base
                )
                entry["violation"] = {
                    "kinds": found.first_violation_kinds,
                    "decisions": len(found.first_violation),
                    "shrunk_decisions": len(short),
                    "shrunk_kinds": kinds,
                    "command": shell_line(argv),
                }
                replays[d.name] = short
            if args.perf:
                entry["wall_s"] = found.wall_s
                entry["runs_per_s"] = found.runs / found.wall_s if found.wall_s > 0 else 0.0
            results[d.name] = entry
        doc = {
            "scenario": scenario.name,
            "schedule": "dfs",
            "seed": seed,
            "preemptions": int(args.preemptions),
            "max_schedules": int(args.max_schedules),
            "kind": args.kind,
            "results": results,
        }
    for d in disciplines:
        path = histories.get(d.name)
        if path is not None:
            chosen = replay_schedule(replays.get(d.name, []))
            run_with_schedule(scenario, d, chosen, store=store, history=path)
    violated = [
        name for name, r in results.items() if r.get("kinds") or (r.get("violation") is not None)
    ]
    if not args.quiet:
        out = simulation.human_stream(doc_out)
        table = Table(caption=f"scenario {safe_text(scenario.name)}, bounded DFS, seed {seed}")
        if args.replay is not None:
            for col in ("discipline", "decisions", "violations"):
                table.add_column(col)
            for name, r in results.items():
                table.add_row(name, f"{r['decisions']:,}", ", ".join(r["kinds"]) or "none")
        else:
            cols = ("discipline", "verdict", "bound", "schedules", "redundant", "pruned", "states")
            for col in cols:
                table.add_column(col, justify="left" if col in cols[:2] else "right")
            for name, r in results.items():
                v = r["violation"]
                verdict = (
                    ", ".join(v["kinds"])
                    if v is not None
                    else "exhaustive, clean"
                    if r["exhaustive"]
                    else "stopped at --max-schedules"
                )
                table.add_row(
                    name,
                    verdict,
                    str(r["bound"]),
                    *(f"{r[k]:,}" for k in ("schedules", "redundant", "pruned", "states")),
                )
        table_console(out).print(table)
        for name, r in results.items():
            if r.get("violation") is not None:
                print(f"{safe_text(name)}: replay:\n  {r['violation']['command']}", file=out)
    outs.write(doc_out, dumps(_round(doc)))
    return 1 if violated else 0
