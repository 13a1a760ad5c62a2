"""What ``incident``, ``run`` and ``explore`` share: their options, the scenario they build
(through the input door), the store they use, and the disciplines' runs side by side."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.args import UsageError
from dnsrace.app.doors import inputs
from dnsrace.app.doors.extras import require
from dnsrace.app.doors.outputs import Output, Outputs
from dnsrace.app.doors.text import markup, safe_text
from dnsrace.sim.disciplines import KNOWN, Discipline, DisciplineError, resolve_names
from dnsrace.sim.pool import worker_pool
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import MAX_ENDPOINTS, Scenario, apply_overrides, incident_scenario
from dnsrace.sim.schedule import SCHEDULES

__all__ = [
    "add_common",
    "add_scenario_options",
    "add_set",
    "build_scenario",
    "overrides",
    "per_discipline_paths",
    "run_all",
    "store_name",
    "validate_scenario",
]


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--discipline",
        metavar="PRESET|all",
        help=f"one preset, a comma-separated list or 'all' ({', '.join(KNOWN)})",
    )
    p.add_argument("--seed", type=types.count(0), help="root seed (default: the scenario's)")
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="who runs first among tasks ready at the same instant (virtual clock): "
        "clock (asyncio's order, default), random, pct, or pos (partial order sampling)",
    )
    p.add_argument(
        "--depth",
        type=types.bounded_int(1, types.MAX_DEPTH),
        default=3,
        help="PCT bug depth: depth-1 change points (3)",
    )
    p.add_argument(
        "--store",
        choices=("rust", "reference"),
        default="rust",
        help="embedded record store: the Rust core (default) or the pure-Python reference",
    )
    p.add_argument(
        "--backend",
        metavar="embedded|reference|etcd://HOST:PORT[,...][/NS]",
        help="where the records live: the embedded store (default, as --store says) or an "
        "etcd v3 cluster (each run empties namespace NS, default 'default', first)",
    )
    p.add_argument("--json", metavar="PATH", help="write the JSON document here ('-': stdout)")
    p.add_argument("--quiet", action="store_true", help="no table, no progress, no perf lines")


def add_common(p: argparse.ArgumentParser) -> None:
    """The options of ``incident`` and ``run``."""
    add_scenario_options(p)
    p.add_argument("--clock", choices=["virtual", "real"], help="virtual (default) or real time")
    p.add_argument(
        "--duration",
        type=types.seconds,
        metavar="S",
        help="seconds during which the planner publishes and faults strike",
    )
    p.add_argument("--plot", metavar="PATH", help="draw the regional timeline PNG here")
    p.add_argument(
        "--jobs",
        type=types.bounded_int(1, types.MAX_JOBS),
        help="disciplines run side by side in this many processes (default: one per core; "
        "the real clock always runs one at a time)",
    )
    p.add_argument(
        "--perf", action="store_true", help="add wall-time figures to the JSON (not deterministic)"
    )
    p.add_argument(
        "--seeds",
        type=types.seed_range,
        metavar="A-B",
        help="run every seed A..B (in --jobs processes) and report rates per discipline: "
        "P(regional incident) per hour with a 95%% Wilson interval, stuck endpoints, empty "
        "endpoint-seconds, time to detect and repair, stale flips (docs/guide/rates.md); "
        "--plot then draws the rates",
    )
    add_executor(p, "with --seeds: where the runs go")
    add_history(p, "each discipline's run")


def add_executor(p: argparse.ArgumentParser, what: str) -> None:
    """``--executor local|ray`` and ``--address``: where a campaign's runs go
    (docs/guide/campaigns.md); the result does not depend on it."""
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help=f"{what}: local processes (default) or the tasks of a Ray cluster (the 'cluster' "
        "extra); the result does not depend on it",
    )
    p.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="with --executor ray: the head of a running Ray cluster (its `ray start --head "
        "--port`); without it a one-node Ray instance is started for the run",
    )


def check_executor(args: argparse.Namespace, store: str) -> None:
    """Refuse what ``--executor``/``--address`` cannot do (``UsageError``), before any work."""
    if args.address is not None and args.executor != "ray":
        raise UsageError("--address: needs --executor ray")
    if args.executor == "ray":
        require("cluster", "--executor ray")
        if store.startswith("etcd://"):
            raise UsageError("--executor ray: runs on the embedded stores only (not etcd)")


def add_history(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--history",
        metavar="PATH",
        help=f"record the history of {what} (jsonl, docs/guide/checker.md; dnsrace check reads "
        "it); with several disciplines: PATH's stem + '.DISCIPLINE' + its suffix",
    )


def add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one scenario field, VALUE in TOML syntax (repeatable), "
        "e.g. --set endpoints.count=0 --set 'operator.detect_s=[5.0, 10.0]'",
    )


def add_incident_sizes(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoints",
        type=types.bounded_int(0, MAX_ENDPOINTS),
        default=100_000,
        help="endpoints besides the regional one (default 100000)",
    )
    p.add_argument(
        "--enactors", type=types.bounded_int(1, 100), default=3, help="enactors (default 3)"
    )


def presets(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.discipline is None:
        return None
    names = [n.strip() for n in args.discipline.split(",") if n.strip()]
    if not names:
        raise UsageError("--discipline: empty")
    try:
        return tuple(resolve_names(names, "--discipline"))
    except DisciplineError as exc:
        raise UsageError(str(exc)) from None


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """The ``--set`` values, each through the input door."""
    return dict(inputs.parse_set(text) for text in getattr(args, "set", []))


def validate_scenario(data: dict[str, Any], where: str) -> Scenario:
    """The schema's verdict on a scenario's tables. The schema raises ScenarioError naming the
    field; anything else it lets escape on hostile values (an overflow, a too-deep structure)
    still becomes one line here."""
    from dnsrace.sim.scenario import ScenarioError, parse_scenario

    try:
        return parse_scenario(data)
    except ScenarioError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def build_scenario(args: argparse.Namespace) -> tuple[Scenario, Any]:
    """The scenario the options describe, and the file's ``[collapse]`` table (``run``)."""
    chosen = presets(args)
    collapse_table = None
    if args.command == "incident":
        scenario = incident_scenario(
            seed=1 if args.seed is None else int(args.seed),
            endpoints=int(args.endpoints),
            enactors=int(args.enactors),
            clock=getattr(args, "clock", None) or "virtual",
            presets=chosen or ("all",),
        )
        if getattr(args, "alarm", None) is not None:
            scenario = scenario.replace(
                operator=dataclasses.replace(scenario.operator, alarm=args.alarm)
            )
    else:
        data = inputs.load_scenario_document(args.scenario)
        changes = overrides(args)
        if changes:
            data = apply_overrides(data, changes)
        if args.command == "run":
            collapse_table = data.pop("collapse", None)
        scenario = validate_scenario(data, args.scenario)
        if args.seed is not None:
            scenario = scenario.with_seed(int(args.seed))
        if getattr(args, "clock", None) is not None:
            scenario = scenario.replace(clock=args.clock)
        if chosen is not None:
            scenario = scenario.replace(
                disciplines=dataclasses.replace(scenario.disciplines, presets=chosen, custom=())
            )
    if getattr(args, "duration", None) is not None:
        scenario = scenario.replace(duration_s=args.duration)
    schedule = args.schedule or "clock"
    if schedule != "clock" and scenario.clock != "virtual":
        raise UsageError(f"--schedule {schedule}: needs the virtual clock")
    return scenario, collapse_table


def per_discipline_paths(flag: str, path: str | None, scenario: Scenario) -> dict[str, str]:
    """Where each discipline's file goes: ``path`` itself for one discipline, else
    ``STEM.DISCIPLINE.SUFFIX`` beside it (``out.snap`` -> ``out.cas.snap``)."""
    import os
    import re

    if path is None:
        return {}
    if path == "-":
        raise UsageError(f"{flag} -: give a file name")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory (give a file name)")
    names = [d.name for d in scenario.discipline_list()]
    if len(names) == 1:
        return {names[0]: path}
    head, tail = os.path.split(path)
    stem, suffix = os.path.splitext(tail)
    # A custom discipline's name may hold any printable character; keep it out of the path.
    return {
        n: os.path.join(head, f"{stem}.{re.sub(r'[^A-Za-z0-9_-]', '_', n)}{suffix}") for n in names
    }


def declare_outputs(outs: Outputs, flags: list[tuple[str, dict[str, str]]]) -> None:
    for flag, paths in flags:
        for p in paths.values():
            outs.add(flag, p, text=False)


def store_name(args: argparse.Namespace) -> str:
    """The store the runs use: ``--backend`` if given (checked now: a malformed URL, a
    missing extra or an unreachable cluster is a usage error, before any run), else
    ``--store``."""
    from dnsrace.backends import BackendError, backend
    from dnsrace.errors import DnsraceError

    name = str(args.store)
    chosen = getattr(args, "backend", None)
    if chosen is not None:
        name = "rust" if chosen == "embedded" else chosen
        if name not in ("rust", "reference") and not name.startswith("etcd://"):
            raise UsageError(
                f"--backend: {chosen!r} is not embedded, reference or etcd://HOST:PORT[,...]"
            )
    if name.startswith("etcd://"):
        require("etcd", "--backend etcd://")
    try:
        backend(name)
        if name.startswith("etcd://"):
            from dnsrace.backends.etcd.client import EtcdClient
            from dnsrace.backends.etcd.url import parse_etcd_url

            EtcdClient(parse_etcd_url(name).endpoints, connect_timeout_s=3.0).close()
    except (BackendError, DnsraceError) as exc:
        raise UsageError(f"--backend: {exc}") from None
    return name


_progress_queue: Any = None


def _worker_init(queue: Any) -> None:
    global _progress_queue
    _progress_queue = queue


def _run_one(
    scenario: Scenario,
    discipline: Discipline,
    store: str,
    schedule: str,
    depth: int,
    snapshot: str | None = None,
    history: str | None = None,
) -> RunResult:
    """One discipline's run in a worker process, reporting simulated time to the parent."""
    queue = _progress_queue

    def report(t: float) -> None:
        if queue is not None:
            queue.put((discipline.name, t))

    return run_discipline(
        scenario,
        discipline,
        store=store,
        schedule=schedule,
        depth=depth,
        progress=report,
        snapshot=snapshot,
        history=history,
    )


def run_all(
    scenario: Scenario,
    store: str,
    quiet: bool,
    schedule: str,
    depth: int,
    jobs: int,
    snapshots: dict[str, str] | None = None,
    histories: dict[str, str] | None = None,
) -> list[RunResult]:
    """Every discipline of the scenario, in ``jobs`` processes (each run is deterministic and
    independent, so the results do not depend on how many run at once)."""
    from dnsrace.app.report import progress_bar

    disciplines = scenario.discipline_list()
    horizon = scenario.duration_s + scenario.drain_s
    jobs = max(1, min(jobs, len(disciplines)))
    with progress_bar() as progress:
        tasks = {
            d.name: progress.add_task(markup(d.name), total=horizon, visible=not quiet)
            for d in disciplines
        }
        if jobs == 1:
            results = []
            for d in disciplines:
                task = tasks[d.name]
                results.append(
                    run_discipline(
                        scenario,
                        d,
                        store=store,
                        schedule=schedule,
                        depth=depth,
                        progress=lambda t, task=task: progress.update(task, completed=t),  # type: ignore[misc]
                        snapshot=(snapshots or {}).get(d.name),
                        history=(histories or {}).get(d.name),
                    )
                )
                progress.update(task, completed=horizon)
            return results
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Manager().Queue()
        with worker_pool(jobs, _worker_init, (queue,)) as pool:
            futures = [
                pool.submit(
                    _run_one,
                    scenario,
                    d,
                    store,
                    schedule,
                    depth,
                    (snapshots or {}).get(d.name),
                    (histories or {}).get(d.name),
                )
                for d in disciplines
            ]
            pending = set(futures)
            while pending:
                _, pending = concurrent.futures.wait(pending, timeout=0.2)
                while not queue.empty():
                    name, t = queue.get()
                    progress.update(tasks[name], completed=t)
            for d in disciplines:
                progress.update(tasks[d.name], completed=horizon)
            return [f.result() for f in futures]


def human_stream(doc: Output | None) -> Any:
    """Where tables and notes go: stdout, unless the document itself goes there."""
    import sys

    return sys.stderr if doc is not None and doc.to_stdout else sys.stdout


def phase2_setup(args: argparse.Namespace, table: Any) -> tuple[Any, tuple[Any, ...], str] | None:
    """The collapse phase's config, presets and trigger source, checked before anything runs
    (``incident --then collapse``, or ``run`` with a ``[collapse]`` section)."""
    from dnsrace.app.commands import collapse as collapse_cmd

    if args.command == "incident" and args.then == "collapse":
        require("numpy", "--then collapse")
        from dnsrace.collapse.config import CollapseConfig, CollapseError

        try:
            config = collapse_cmd.config_from_args(args, CollapseConfig())
            recoveries = collapse_cmd.recoveries(args)
        except CollapseError as exc:
            raise UsageError(str(exc)) from None
        return config, recoveries, "replay"
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UsageError("collapse: must be a table")
    table = dict(table)
    source = table.pop("trigger_from", "outage")
    if source not in ("outage", "replay"):
        raise UsageError(f"collapse.trigger_from: must be 'outage' or 'replay', got {source!r}")
    require("numpy", "a [collapse] section")
    from dnsrace.collapse.config import (
        CollapseConfig,
        CollapseError,
        config_from_mapping,
        resolve_presets,
    )

    try:
        config = config_from_mapping(table, CollapseConfig())
        recoveries = resolve_presets(",".join(config.presets), "collapse.presets")
    except CollapseError as exc:
        raise UsageError(str(exc)) from None
    except (TypeError, OverflowError) as exc:
        raise UsageError(f"collapse: {exc}") from None
    return config, recoveries, source


def phase2(
    setup: tuple[Any, tuple[Any, ...], str], results: list[RunResult], quiet: bool, out: Any
) -> dict[str, Any]:
    """Run the lease managers once per phase-1 discipline: the dependency is out while the
    regional endpoint answered empty in that discipline's run (``replay``), or for the
    section's own outage (``outage``)."""
    from dnsrace.app.commands import collapse as collapse_cmd

    config, recoveries, source = setup
    docs: dict[str, Any] = {}
    for r in results:
        conf = config
        if source == "replay":
            end = r.timeline.end
            windows = tuple(
                (w.start, w.end if w.end is not None else end) for w in r.timeline.empty
            )
            back = max((e for _, e in windows), default=0.0)
            conf = config.replace(
                outages=windows,
                horizon_s=max(config.horizon_s, back + config.metastable_after_s + 1800.0),
            )
        doc = collapse_cmd.collapse_document(conf, collapse_cmd.run_presets(conf, recoveries))
        docs[r.discipline.name] = doc
        if not quiet:
            print(f"collapse after {markup(r.discipline.name)}:", file=out)
            print(collapse_cmd.render_table(doc), file=out)
    return docs


def execute_seeds(args: argparse.Namespace, scenario: Scenario, collapse_table: Any) -> int:
    """``--seeds A-B``: every discipline on every seed, the rates (docs/guide/rates.md)."""
    import os

    from dnsrace.app.rates_report import plot_rates, rates_document, render_rates_table
    from dnsrace.app.report import dumps, progress_bar, table_console
    from dnsrace.campaign import CampaignError, open_campaign
    from dnsrace.sim.rates import run_seeds

    clashes = [
        flag
        for flag, given in (
            ("--seed", args.seed is not None),
            ("--history", getattr(args, "history", None) is not None),
            ("--snapshot", getattr(args, "snapshot", None) is not None),
            ("--then", getattr(args, "then", None) is not None),
            ("--schedule", (args.schedule or "clock") != "clock"),
            ("--perf", bool(args.perf)),
            ("a [collapse] section", collapse_table is not None),
        )
        if given
    ]
    if clashes:
        raise UsageError(f"--seeds: cannot be combined with {', '.join(clashes)}")
    if scenario.clock != "virtual":
        raise UsageError("--seeds: needs the virtual clock")
    store = store_name(args)
    if store.startswith("etcd://"):
        raise UsageError("--seeds: runs on the embedded stores only")
    outs = Outputs([getattr(args, "scenario", None)])
    doc_out = outs.add("--json", args.json)
    plot_out = outs.add("--plot", args.plot, text=False, picture=True)
    if plot_out is not None:
        require("plot", "--plot")
    check_executor(args, store)
    a, b = args.seeds
    seeds = list(range(a, b + 1))
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    total = len(seeds) * len(scenario.discipline_list())
    with contextlib.ExitStack() as stack:
        campaign = None
        if args.executor == "ray":
            try:
                campaign = stack.enter_context(
                    open_campaign("ray", workers=args.jobs, address=args.address)
                )
            except CampaignError as exc:
                raise UsageError(f"--executor ray: {exc}") from None
        progress = stack.enter_context(progress_bar())
        task = progress.add_task(f"{total} runs", total=total, visible=not args.quiet)
        found = run_seeds(
            scenario,
            seeds,
            store=store,
            workers=int(jobs),
            done=lambda _: progress.advance(task),
            campaign=campaign,
        )
    doc = rates_document(scenario, (a, b), store, found)
    if not args.quiet:
        table_console(human_stream(doc_out)).print(render_rates_table(doc))
    if plot_out is not None:
        outs.stage(plot_out, lambda tmp: plot_rates(doc, tmp))
    outs.stage(doc_out, dumps(doc))
    outs.commit()
    return 0


def execute(args: argparse.Namespace) -> int:
    """``incident`` and ``run``: every discipline of the scenario, the table, the outputs."""
    import os
    import sys

    from dnsrace.backends import backend

    scenario, collapse_table = build_scenario(args)
    if getattr(args, "seeds", None) is not None:
        return execute_seeds(args, scenario, collapse_table)
    if args.executor != "local" or args.address is not None:
        raise UsageError("--executor/--address: need --seeds (one run per discipline here)")
    setup = phase2_setup(args, collapse_table)
    snapshots = per_discipline_paths("--snapshot", getattr(args, "snapshot", None), scenario)
    histories = per_discipline_paths("--history", getattr(args, "history", None), scenario)
    outs = Outputs([getattr(args, "scenario", None)])
    doc_out = outs.add("--json", args.json)
    plot_out = outs.add("--plot", args.plot, text=False, picture=True)
    declare_outputs(outs, [("--snapshot", snapshots), ("--history", histories)])
    store = store_name(args)
    if histories and backend(store).new_recording_store is None:
        raise UsageError(f"--history: the {store!r} store records no history (use rust)")
    if snapshots and not hasattr(backend(store).new_store, "snapshot"):
        raise UsageError(f"--snapshot: the {store!r} store cannot save snapshots")
    if plot_out is not None:
        require("plot", "--plot")
    if scenario.clock == "real":
        require("sim", "the real clock", ("uvloop",))
    out = human_stream(doc_out)
    if scenario.clock == "real" and not args.quiet:
        total = scenario.duration_s * len(scenario.discipline_list())
        print(f"dnsrace: real clock: this takes at least {total:.0f} s", file=sys.stderr)

    from dnsrace.app.report import build_document, dumps, perf_line, render_table, table_console

    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if scenario.clock == "real" or store.startswith("etcd://"):
        # Real-time runs side by side would take each other's CPU; etcd runs share one
        # namespace, which each run empties first.
        jobs = 1
    results = run_all(
        scenario,
        store,
        args.quiet,
        args.schedule or "clock",
        int(args.depth),
        int(jobs),
        snapshots,
        histories,
    )
    doc = build_document(scenario, results, include_perf=True if args.perf else None)
    if setup is not None:
        doc["collapse"] = phase2(setup, results, args.quiet, out)
    if not args.quiet:
        table_console(out).print(render_table(scenario, results))
        for r in results:
            print(safe_text(perf_line(r)), file=sys.stderr)
    if plot_out is not None:
        from dnsrace.app.plot import plot_timeline

        outs.stage(plot_out, lambda tmp: plot_timeline(results, tmp))
    outs.stage(doc_out, dumps(doc))
    outs.commit()
    return 0
