"""``dnsrace explore SCENARIO``: seeded schedules searched for violations, the first one
shrunk and printed as a replay line (shell-quoted)."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Mapping
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.args import UsageError
from dnsrace.app.commands import explore_dfs, simulation
from dnsrace.app.doors.outputs import Outputs
from dnsrace.app.doors.text import markup, safe_text, shell_line
from dnsrace.schema.tables import override_text
from dnsrace.sim.schedule import SCHEDULES

__all__ = ["DEFAULT_SAMPLER", "register", "replay_argv"]

DEFAULT_SAMPLER = "random"
"""The schedule of ``dnsrace explore`` without ``--schedule``: the sampler with the fewest median
runs to the first violation over the scenarios of the sampler table (bench/samplers.py;
tests/project/test_sampler_table.py keeps the two in step)."""


def register(sub: Any) -> None:
    p = sub.add_parser("explore", help="search seeded schedules for violations")
    p.add_argument("scenario", metavar="SCENARIO.toml")
    p.add_argument(
        "--runs",
        type=types.bounded_int(1, types.MAX_RUNS),
        default=1000,
        help="runs per discipline (1000)",
    )
    simulation.add_scenario_options(p)
    for action in p._actions:
        if action.dest == "schedule":  # explore has one more: the bounded search
            action.choices = (*SCHEDULES[1:], "dfs")
            action.help = (
                "random (default), pct, pos (partial order sampling), or dfs (bounded "
                "depth-first search of every schedule of one seed)"
            )
    explore_dfs.add_options(p)
    simulation.add_set(p)
    p.add_argument(
        "--stop-at-first", action="store_true", help="stop a discipline at its first violation"
    )
    p.add_argument(
        "--shrink",
        action="store_true",
        help="with --stop-at-first: shrink each first violation and print its replay line",
    )
    p.add_argument(
        "--perf", action="store_true", help="put runs per second in the JSON (not deterministic)"
    )
    simulation.add_history(
        p, "a replay of each discipline's first violating run (of its first run if none)"
    )
    p.add_argument(
        "--jobs",
        type=types.bounded_int(1, types.MAX_JOBS),
        help="worker processes sharing each discipline's runs (default: one per core; with "
        "--executor ray: the cluster's CPUs; the result does not depend on it)",
    )
    simulation.add_executor(p, "where the runs go")
    p.set_defaults(handler=main, needs=("rich", "orjson", "pydantic"))


def replay_argv(
    scenario_path: str,
    discipline: str,
    *,
    seed: int,
    schedule: str,
    depth: int,
    overrides: Mapping[str, Any],
) -> list[str]:
    """The ``dnsrace run`` arguments that replay one explored run byte-identically."""
    argv = ["dnsrace", "run", scenario_path, "--discipline", discipline]
    argv += ["--seed", str(seed), "--schedule", schedule]
    if schedule == "pct":
        argv += ["--depth", str(depth)]
    for key, value in overrides.items():
        argv += ["--set", override_text(key, value)]
    return argv


def main(args: argparse.Namespace) -> int:
    from dnsrace.app.report import (
        dumps,
        explore_document,
        progress_bar,
        render_explore_table,
        table_console,
    )
    from dnsrace.campaign import CampaignError, open_campaign
    from dnsrace.sim.explore import explore_preset, shrink
    from dnsrace.sim.runner import run_discipline

    if args.schedule == "dfs":
        return explore_dfs.main(args)
    if args.replay is not None or args.kind is not None:
        raise UsageError(
            f"--{'replay' if args.replay is not None else 'kind'}: needs --schedule dfs"
        )
    if args.shrink and not args.stop_at_first:
        raise UsageError("--shrink: needs --stop-at-first")
    scenario, _ = simulation.build_scenario(args)
    if scenario.clock != "virtual":
        raise UsageError(f"{args.scenario}: exploration needs clock = 'virtual'")
    schedule = args.schedule or DEFAULT_SAMPLER
    if schedule == "clock":
        raise UsageError("--schedule clock: exploration needs random, pct or pos")
    histories = simulation.per_discipline_paths("--history", args.history, scenario)
    outs = Outputs([args.scenario])
    doc_out = outs.add("--json", args.json)
    simulation.declare_outputs(outs, [("--history", histories)])
    store = simulation.store_name(args)
    from dnsrace.backends import backend

    if histories and backend(store).new_recording_store is None:
        raise UsageError(f"--history: the {store!r} store records no history (use rust)")
    depth = int(args.depth)
    seed = scenario.seed if args.seed is None else int(args.seed)
    runs = int(args.runs)
    simulation.check_executor(args, store)
    if args.executor == "ray":
        jobs = int(args.jobs) if args.jobs is not None else None
    else:
        jobs = int(args.jobs) if args.jobs is not None else (os.cpu_count() or 1)
        # Worker processes pay off only when each gets several blocks of runs.
        jobs = max(1, min(jobs, runs // 512))
        if store.startswith("etcd://"):
            jobs = 1  # every run empties the one namespace first
    found = []
    with contextlib.ExitStack() as stack:
        try:
            campaign = stack.enter_context(
                open_campaign(args.executor, workers=jobs, address=args.address)
            )
        except CampaignError as exc:
            raise UsageError(f"--executor {args.executor}: {exc}") from None
        pool = campaign.pool
        progress = stack.enter_context(progress_bar(unit="runs"))
        for d in scenario.discipline_list():
            task = progress.add_task(markup(d.name), total=runs, visible=not args.quiet)
            found.append(
                explore_preset(
                    scenario,
                    d,
                    runs=runs,
                    schedule=schedule,
                    depth=depth,
                    seed=seed,
                    store=store,
                    stop_at_first=args.stop_at_first,
                    progress=lambda n, task=task: progress.update(task, completed=n),  # type: ignore[misc]
                    pool=pool,
                    workers=campaign.workers,
                )
            )
    for d, f in zip(scenario.discipline_list(), found, strict=True):
        path = histories.get(d.name)
        if path is not None:
            replay = seed if f.first_violation_seed is None else f.first_violation_seed
            run_discipline(
                scenario.with_seed(replay),
                d,
                store=store,
                schedule=schedule,
                depth=depth,
                history=path,
            )
    shrunk: dict[str, dict[str, object]] = {}
    if args.shrink:
        base = simulation.overrides(args)
        for d, f in zip(scenario.discipline_list(), found, strict=True):
            if f.first_violation_seed is None:
                continue
            small = shrink(
                scenario,
                d,
                seed=f.first_violation_seed,
                schedule=schedule,
                depth=depth,
                store=store,
            )
            argv = replay_argv(
                args.scenario,
                d.name,
                seed=f.first_violation_seed,
                schedule=schedule,
                depth=small.depth,
                overrides={**base, **small.overrides},
            )
            shrunk[d.name] = {
                "seed": f.first_violation_seed,
                "kinds": small.kinds,
                "overrides": small.overrides,
                "depth": small.depth,
                "tries": small.tries,
                "command": shell_line(argv),
            }
    doc = explore_document(scenario, schedule, depth, seed, found, shrunk, perf=bool(args.perf))
    if not args.quiet:
        out = simulation.human_stream(doc_out)
        table_console(out).print(render_explore_table(scenario, schedule, depth, found))
        for name, info in shrunk.items():
            print(
                f"{safe_text(name)}: shrunk in {info['tries']} runs to {info['kinds']}; replay:",
                file=out,
            )
            print(f"  {info['command']}", file=out)
    outs.write(doc_out, dumps(doc))
    # Exit status 1: a violation was found (docs/reference/exit-codes.md).
    return 1 if any(f.violating_runs for f in found) else 0
