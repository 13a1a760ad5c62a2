"""The distributed commands: ``planner``, ``enactor`` and ``cluster-run``.

``cluster-run`` starts everything on one machine; ``planner`` and ``enactor`` are the same
roles for running on several hosts against one cluster (docs/guide/etcd.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.args import UsageError
from dnsrace.app.commands import simulation
from dnsrace.app.doors import inputs
from dnsrace.app.doors.extras import require
from dnsrace.app.doors.outputs import Outputs
from dnsrace.app.doors.text import markup
from dnsrace.sim.scenario import Scenario, ScenarioError, apply_overrides

__all__ = ["COMMANDS", "register"]

COMMANDS = ("planner", "enactor", "cluster-run")

_HELP = {
    "cluster-run": "the planner and enactors as processes on etcd, faults as signals",
    "planner": "the planner role (with clients and operator) as a process on etcd",
    "enactor": "one enactor role as a process on etcd",
}


def register(sub: Any) -> None:
    for command in COMMANDS:
        p = sub.add_parser(command, help=_HELP[command])
        p.add_argument("scenario", help="scenario TOML (clock = 'real'), or a run's scenario.json")
        p.add_argument("--backend", required=True, metavar="etcd://HOST:PORT[,...][/NS]")
        simulation.add_set(p)
        p.add_argument("--seed", type=types.count(0))
        if command == "enactor":
            p.add_argument(
                "--name", required=True, help="this enactor's name (one of the scenario's)"
            )
            p.add_argument("--discipline", required=True, metavar="PRESET")
        if command in ("planner", "enactor"):
            p.add_argument(
                "--events", required=True, metavar="PATH", help="where to record (JSONL)"
            )
        if command == "cluster-run":
            p.add_argument(
                "--discipline",
                metavar="PRESET[,PRESET...]",
                help="presets to run one after the other (default: the scenario's)",
            )
            p.add_argument("--json", metavar="PATH", help="'-': stdout")
            p.add_argument("--plot", metavar="PATH")
            p.add_argument("--workdir", metavar="DIR", help="keep the processes' records here")
            p.add_argument("--quiet", action="store_true")
        runtime = "rich" if command == "cluster-run" else "uvloop"
        p.set_defaults(needs=(runtime, "orjson", "pydantic"))
        p.set_defaults(handler=main)


def _load(args: argparse.Namespace) -> Scenario:
    data = inputs.load_scenario_document(args.scenario)
    changes = simulation.overrides(args)
    if changes:
        data = apply_overrides(data, changes)
    scenario = simulation.validate_scenario(data, args.scenario)
    if args.seed is not None:
        scenario = scenario.with_seed(int(args.seed))
    if scenario.clock != "real":
        raise ScenarioError(
            "clock",
            "processes run in real time: the scenario needs clock = 'real' "
            "(scale a virtual-clock scenario down first; see scenarios/cluster.toml)",
        )
    return scenario


def main(args: argparse.Namespace) -> int:
    from dnsrace.sim.disciplines import DisciplineError, lookup

    command = args.command
    if not str(args.backend).startswith("etcd://"):
        raise UsageError(f"--backend: {args.backend!r} is not etcd://HOST:PORT[,...][/NS]")
    require("etcd", f"dnsrace {command}")
    from dnsrace.backends.etcd import parse_etcd_url

    scenario = _load(args)
    url = str(parse_etcd_url(args.backend))
    try:
        if command == "planner":
            from dnsrace.dist.roles import run_planner

            events = _events(args)
            run_planner(scenario, url, Path(events))
            return 0
        if command == "enactor":
            from dnsrace.dist.roles import run_enactor

            if args.name not in scenario.enactor_names:
                raise ScenarioError(
                    "--name", f"{args.name!r} is not one of {', '.join(scenario.enactor_names)}"
                )
            discipline = lookup(args.discipline)
            events = _events(args)
            run_enactor(scenario, url, args.name, discipline, Path(events))
            return 0
    except DisciplineError as exc:
        raise UsageError(str(exc)) from None
    return _cluster_run(scenario, url, args)


def _events(args: argparse.Namespace) -> str:
    out = Outputs([args.scenario]).add("--events", args.events, text=False)
    assert out is not None and out.path is not None
    return out.path


def _cluster_run(scenario: Scenario, url: str, args: argparse.Namespace) -> int:
    from dnsrace.app.report import build_document, dumps, progress_bar, render_table, table_console
    from dnsrace.backends.etcd.client import EtcdClient
    from dnsrace.backends.etcd.url import parse_etcd_url
    from dnsrace.dist.cluster import cluster_run
    from dnsrace.sim.disciplines import DisciplineError, lookup, resolve_names

    outs = Outputs([args.scenario])
    json_out = outs.add("--json", args.json)
    plot_out = outs.add("--plot", args.plot, text=False, picture=True)
    if plot_out is not None:
        require("plot", "--plot")
    try:
        if args.discipline:
            names = resolve_names(
                [n.strip() for n in args.discipline.split(",") if n.strip()], "--discipline"
            )
            disciplines = [lookup(n) for n in names]
        else:
            disciplines = scenario.discipline_list()
    except DisciplineError as exc:
        raise UsageError(str(exc)) from None
    EtcdClient(parse_etcd_url(url).endpoints, connect_timeout_s=3.0).close()
    horizon = scenario.duration_s + scenario.drain_s
    if not args.quiet:
        print(
            f"dnsrace: cluster-run: {len(disciplines)} x up to {horizon:.0f} s of real time "
            f"on {url}",
            file=sys.stderr,
        )
    results = []
    with progress_bar() as progress:
        for d in disciplines:
            task = progress.add_task(markup(d.name), total=horizon, visible=not args.quiet)
            workdir = Path(args.workdir) / d.name if args.workdir else None
            run = cluster_run(
                scenario,
                d,
                url,
                workdir=workdir,
                progress=lambda t, task=task: progress.update(task, completed=t),  # type: ignore[misc]
            )
            progress.update(task, completed=horizon)
            results.append(run.result)
    doc = build_document(scenario, results, include_perf=False)
    if not args.quiet:
        table_console(simulation.human_stream(json_out)).print(render_table(scenario, results))
    if plot_out is not None:
        from dnsrace.app.plot import plot_timeline

        outs.stage(plot_out, lambda tmp: plot_timeline(results, tmp))
    outs.stage(json_out, dumps(doc))
    outs.commit()
    return 0
