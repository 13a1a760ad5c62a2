"""The distributed commands: ``planner``, ``enactor`` and ``cluster-run``.

``cluster-run`` starts everything on one machine; ``planner`` and ``enactor`` are the same
roles for running on several hosts against one cluster (docs/guide/etcd.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from dnsrace.app.inputs import InputError, OneLineParser, check_outputs, safe_text
from dnsrace.errors import DnsraceError
from dnsrace.sim.disciplines import DisciplineError, lookup, resolve_names
from dnsrace.sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_override,
    parse_scenario,
)

__all__ = ["COMMANDS", "main"]

COMMANDS = ("planner", "enactor", "cluster-run")
EXIT_USAGE = 2


def _parser(command: str) -> argparse.ArgumentParser:
    p = OneLineParser(prog=f"dnsrace {command}")
    p.add_argument("scenario", help="scenario TOML (clock = 'real'), or a run's scenario.json")
    p.add_argument("--backend", required=True, metavar="etcd://HOST:PORT[,...][/NS]")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seed", type=int)
    if command == "enactor":
        p.add_argument("--name", required=True, help="this enactor's name (one of the scenario's)")
        p.add_argument("--discipline", required=True, metavar="PRESET")
    if command in ("planner", "enactor"):
        p.add_argument("--events", required=True, metavar="PATH", help="where to record (JSONL)")
    if command == "cluster-run":
        p.add_argument(
            "--discipline",
            metavar="PRESET[,PRESET...]",
            help="presets to run one after the other (default: the scenario's)",
        )
        p.add_argument("--json", metavar="PATH")
        p.add_argument("--plot", metavar="PATH")
        p.add_argument("--workdir", metavar="DIR", help="keep the processes' records here")
        p.add_argument("--quiet", action="store_true")
    return p


def _load(args: argparse.Namespace) -> Scenario:
    path = Path(args.scenario)
    if path.suffix == ".json":
        try:
            scenario = parse_scenario(orjson.loads(path.read_bytes()))
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ScenarioError("scenario", f"cannot read {path}: {exc}") from None
    else:
        scenario = load_scenario(path, dict(parse_override(t) for t in args.set))
    if args.seed is not None:
        scenario = scenario.with_seed(args.seed)
    if scenario.clock != "real":
        raise ScenarioError(
            "clock",
            "processes run in real time: the scenario needs clock = 'real' "
            "(scale a virtual-clock scenario down first; see scenarios/cluster.toml)",
        )
    return scenario


def main(argv: Sequence[str]) -> int:
    command, rest = argv[0], list(argv[1:])
    args = _parser(command).parse_args(rest)
    try:
        return _run(command, args)
    except (ScenarioError, DisciplineError, DnsraceError, InputError) as exc:
        print(f"dnsrace: error: {safe_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _run(command: str, args: argparse.Namespace) -> int:
    from dnsrace.backends.etcd import parse_etcd_url

    scenario = _load(args)
    url = str(parse_etcd_url(args.backend))
    if command == "planner":
        from dnsrace.dist.roles import run_planner

        run_planner(scenario, url, Path(args.events))
        return 0
    if command == "enactor":
        from dnsrace.dist.roles import run_enactor

        if args.name not in scenario.enactor_names:
            raise ScenarioError(
                "--name", f"{args.name!r} is not one of {', '.join(scenario.enactor_names)}"
            )
        run_enactor(scenario, url, args.name, lookup(args.discipline), Path(args.events))
        return 0
    return _cluster_run(scenario, url, args)


def _cluster_run(scenario: Scenario, url: str, args: argparse.Namespace) -> int:
    from dnsrace.app.report import (
        build_document,
        dumps,
        progress_bar,
        render_table,
        table_console,
        write_atomic,
    )
    from dnsrace.backends.etcd.client import EtcdClient
    from dnsrace.backends.etcd.url import parse_etcd_url
    from dnsrace.dist.cluster import cluster_run

    check_outputs([("--json", args.json), ("--plot", args.plot)])
    EtcdClient(parse_etcd_url(url).endpoints, connect_timeout_s=3.0).close()
    if args.discipline:
        names = resolve_names(
            [n.strip() for n in args.discipline.split(",") if n.strip()], "--discipline"
        )
        disciplines = [lookup(n) for n in names]
    else:
        disciplines = scenario.discipline_list()
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
            task = progress.add_task(d.name, total=horizon, visible=not args.quiet)
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
        table_console(sys.stdout if args.json != "-" else sys.stderr).print(
            render_table(scenario, results)
        )
    if args.plot:
        from dnsrace.app.plot import plot_timeline
        from dnsrace.atomicfile import atomic_output

        with atomic_output(args.plot) as tmp:
            plot_timeline(results, tmp)
    data = dumps(doc)
    if args.json == "-":
        sys.stdout.buffer.write(data)
    elif args.json:
        write_atomic(args.json, data)
    return 0
