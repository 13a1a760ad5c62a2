"""Command line: ``dnsrace incident`` (the 2025 replay), ``dnsrace run SCENARIO.toml``,
``dnsrace explore SCENARIO.toml`` (schedule exploration) and ``dnsrace modes``.

``incident`` and ``run`` print the side-by-side table on stdout and wall-time figures on
stderr, and optionally write the JSON document (``--json PATH``) and the timeline picture
(``--plot PATH``). ``explore`` prints a table of violating runs per discipline. Bad input
exits with status 2 and one line on stderr naming the culprit, before anything runs; output
files are written only after every run has finished, each atomically.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from dnsrace.app import collapse as collapse_cli
from dnsrace.app import inputs
from dnsrace.backends import BackendError, backend
from dnsrace.errors import DnsraceError
from dnsrace.history import max_states_option, timeout_option
from dnsrace.sim.disciplines import KNOWN, Discipline, DisciplineError, resolve_names
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import (
    MAX_ENDPOINTS,
    Scenario,
    ScenarioError,
    apply_overrides,
    incident_scenario,
    load_scenario_data,
    parse_override,
    parse_scenario,
)
from dnsrace.sim.schedule import SCHEDULES

__all__ = ["main"]

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage; one line naming the problem is easier to act on.
        self.exit(EXIT_USAGE, f"dnsrace: error: {message}\n")


def _count(minimum: int) -> type:
    class _Count(int):
        def __new__(cls, text: str) -> _Count:
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
            if value < minimum:
                raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
            return super().__new__(cls, value)

    _Count.__name__ = f"integer >= {minimum}"
    return _Count


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--discipline",
        metavar="PRESET|all",
        help=f"one preset, a comma-separated list or 'all' ({', '.join(KNOWN)})",
    )
    p.add_argument("--seed", type=_count(0), help="root seed (default: the scenario's)")
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="who runs first among tasks ready at the same instant (virtual clock): "
        "clock (asyncio's order, default), random, or pct",
    )
    p.add_argument(
        "--depth",
        type=inputs.bounded_int(1, inputs.MAX_DEPTH),
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


def _add_common(p: argparse.ArgumentParser) -> None:
    _add_scenario_options(p)
    p.add_argument("--clock", choices=["virtual", "real"], help="virtual (default) or real time")
    p.add_argument(
        "--duration",
        type=_seconds,
        metavar="S",
        help="seconds during which the planner publishes and faults strike",
    )
    p.add_argument("--plot", metavar="PATH", help="draw the regional timeline PNG here")
    p.add_argument(
        "--jobs",
        type=inputs.bounded_int(1, inputs.MAX_JOBS),
        help="disciplines run side by side in this many processes (default: one per core; "
        "the real clock always runs one at a time)",
    )
    p.add_argument(
        "--perf", action="store_true", help="add wall-time figures to the JSON (not deterministic)"
    )
    _add_history(p, "each discipline's run")


def _add_history(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--history",
        metavar="PATH",
        help=f"record the history of {what} (jsonl, docs/guide/checker.md; dnsrace check reads "
        "it); with several disciplines: PATH's stem + '.DISCIPLINE' + its suffix",
    )


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one scenario field, VALUE in TOML syntax (repeatable), "
        "e.g. --set endpoints.count=0 --set 'operator.detect_s=[5.0, 10.0]'",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dnsrace",
        description="Reproduce, measure and prevent the planner/enactor DNS race of Oct 2025.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    inc = sub.add_parser("incident", help="replay the 2025 incident across write disciplines")
    inc.add_argument(
        "--endpoints",
        type=inputs.bounded_int(0, MAX_ENDPOINTS),
        default=100_000,
        help="endpoints besides the regional one (default 100000)",
    )
    inc.add_argument(
        "--enactors", type=inputs.bounded_int(1, 100), default=3, help="enactors (default 3)"
    )
    _add_common(inc)
    inc.add_argument(
        "--then",
        choices=["collapse"],
        help="feed each discipline's regional empty windows to the lease managers (phase 2)",
    )
    collapse_cli.add_collapse_options(inc, _count)
    collapse_cli.add_parser(sub, _count)
    from dnsrace.app.view import cli as view_cli

    view_cli.add_parser(sub)
    run = sub.add_parser("run", help="run a scenario file (with a [collapse] section: phase 2)")
    run.add_argument("scenario", metavar="SCENARIO.toml")
    _add_common(run)
    _add_set(run)
    run.add_argument(
        "--snapshot",
        metavar="PATH",
        help="save each discipline's final store here (RecordStore.restore reads it back); "
        "with several disciplines: PATH's stem + '.DISCIPLINE' + its suffix",
    )
    exp = sub.add_parser("explore", help="search seeded schedules for violations")
    exp.add_argument("scenario", metavar="SCENARIO.toml")
    exp.add_argument(
        "--runs",
        type=inputs.bounded_int(1, inputs.MAX_RUNS),
        default=1000,
        help="runs per discipline (1000)",
    )
    _add_scenario_options(exp)
    _add_set(exp)
    exp.add_argument(
        "--stop-at-first", action="store_true", help="stop a discipline at its first violation"
    )
    exp.add_argument(
        "--shrink",
        action="store_true",
        help="with --stop-at-first: shrink each first violation and print its replay line",
    )
    exp.add_argument(
        "--perf", action="store_true", help="put runs per second in the JSON (not deterministic)"
    )
    _add_history(
        exp, "a replay of each discipline's first violating run (of its first run if none)"
    )
    exp.add_argument(
        "--jobs",
        type=inputs.bounded_int(1, inputs.MAX_JOBS),
        help="worker processes sharing each discipline's runs (default: one per core; the "
        "result does not depend on it)",
    )
    chk = sub.add_parser(
        "check",
        help="check a recorded history for linearizability (exit 0 ok, 1 illegal, 3 unknown)",
    )
    chk.add_argument("history", metavar="HISTORY", help="a jsonl history (docs/guide/checker.md)")
    chk.add_argument(
        "--timeout",
        type=timeout_option,
        metavar="S",
        help="give up after S seconds, at most a day: verdict unknown, exit 3 (default 60; "
        "docs/reference/bounds.md)",
    )
    chk.add_argument(
        "--max-states",
        type=max_states_option,
        metavar="N",
        help="give up on an endpoint whose search keeps more than N states: verdict unknown, "
        "exit 3 (default 8000000, about 140 MB)",
    )
    chk.add_argument("--json", metavar="PATH", help="write the result document here ('-': stdout)")
    chk.add_argument(
        "--html",
        metavar="OUT",
        help="also draw the history and the verdict as one self-contained HTML page "
        "(as dnsrace view does; the linearisations are put in)",
    )
    chk.add_argument(
        "--linearizations",
        action="store_true",
        help="put each endpoint's linearisation in the JSON (small histories)",
    )
    for name, text in (
        ("cluster-run", "the planner and enactors as processes on etcd, faults as signals"),
        ("planner", "the planner role (with clients and operator) as a process on etcd"),
        ("enactor", "one enactor role as a process on etcd"),
    ):
        # Listed for --help; parsed by dnsrace.app.dist_cli (see _main).
        sub.add_parser(name, help=text, add_help=False)
    # Listed for --help; its own options are parsed by dnsrace.app.modes (see _main).
    sub.add_parser(
        "modes",
        help="the store's flip modes on one stale write race (dnsrace modes --help)",
        add_help=False,
    )
    return parser


def _presets(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.discipline is None:
        return None
    names = [n.strip() for n in args.discipline.split(",") if n.strip()]
    if not names:
        raise UsageError("--discipline: empty")
    try:
        return tuple(resolve_names(names, "--discipline"))
    except DisciplineError as exc:
        raise UsageError(str(exc)) from None


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return dict(parse_override(text) for text in getattr(args, "set", []))


def _scenario(args: argparse.Namespace) -> Scenario:
    presets = _presets(args)
    if args.command == "incident":
        scenario = incident_scenario(
            seed=1 if args.seed is None else int(args.seed),
            endpoints=int(args.endpoints),
            enactors=int(args.enactors),
            clock=getattr(args, "clock", None) or "virtual",
            presets=presets or ("all",),
        )
    else:
        data = load_scenario_data(args.scenario)
        overrides = _overrides(args)
        if overrides:
            data = apply_overrides(data, overrides)
        args.collapse_table = data.pop("collapse", None) if args.command == "run" else None
        scenario = parse_scenario(data)
        if args.seed is not None:
            scenario = scenario.with_seed(int(args.seed))
        if getattr(args, "clock", None) is not None:
            scenario = scenario.replace(clock=args.clock)
        if presets is not None:
            import dataclasses

            scenario = scenario.replace(
                disciplines=dataclasses.replace(scenario.disciplines, presets=presets, custom=())
            )
    if getattr(args, "duration", None) is not None:
        scenario = scenario.replace(duration_s=args.duration)
    schedule = args.schedule or "clock"
    if schedule != "clock" and scenario.clock != "virtual":
        raise UsageError(f"--schedule {schedule}: needs the virtual clock")
    return scenario


def _snapshots(args: argparse.Namespace, scenario: Scenario) -> dict[str, str]:
    path = getattr(args, "snapshot", None)
    if path is None:
        return {}
    return inputs.snapshot_paths(path, [d.name for d in scenario.discipline_list()])


def _histories(args: argparse.Namespace, scenario: Scenario) -> dict[str, str]:
    path = getattr(args, "history", None)
    if path is None:
        return {}
    try:
        return inputs.snapshot_paths(path, [d.name for d in scenario.discipline_list()])
    except inputs.InputError as exc:
        raise UsageError(str(exc).replace("--snapshot", "--history", 1)) from None


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


def _run_all(
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
            d.name: progress.add_task(d.name, total=horizon, visible=not quiet) for d in disciplines
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
        with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_worker_init, initargs=(queue,)
        ) as pool:
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


def _explore(args: argparse.Namespace, scenario: Scenario) -> int:
    from dnsrace.app.report import (
        dumps,
        explore_document,
        progress_bar,
        render_explore_table,
        table_console,
        write_atomic,
    )
    from dnsrace.sim.explore import explore_preset, replay_command, shrink

    if args.shrink and not args.stop_at_first:
        raise UsageError("--shrink: needs --stop-at-first")
    if scenario.clock != "virtual":
        raise UsageError(f"{args.scenario}: exploration needs clock = 'virtual'")
    args.depth = int(args.depth)
    schedule = args.schedule or "random"
    if schedule == "clock":
        raise UsageError("--schedule clock: exploration needs random or pct")
    seed = scenario.seed if args.seed is None else int(args.seed)
    runs = int(args.runs)
    jobs = int(args.jobs) if args.jobs is not None else (os.cpu_count() or 1)
    # Worker processes pay off only when each gets several blocks of runs.
    jobs = max(1, min(jobs, runs // 512))
    if args.store.startswith("etcd://"):
        jobs = 1  # every run empties the one namespace first
    found = []
    with contextlib.ExitStack() as stack:
        pool = None
        if jobs > 1:
            pool = stack.enter_context(
                concurrent.futures.ProcessPoolExecutor(
                    jobs, mp_context=multiprocessing.get_context("spawn")
                )
            )
        progress = stack.enter_context(progress_bar(unit="runs"))
        for d in scenario.discipline_list():
            task = progress.add_task(d.name, total=runs, visible=not args.quiet)
            found.append(
                explore_preset(
                    scenario,
                    d,
                    runs=runs,
                    schedule=schedule,
                    depth=int(args.depth),
                    seed=seed,
                    store=args.store,
                    stop_at_first=args.stop_at_first,
                    progress=lambda n, task=task: progress.update(task, completed=n),  # type: ignore[misc]
                    pool=pool,
                    workers=jobs,
                )
            )
    for d, f in zip(scenario.discipline_list(), found, strict=True):
        path = args.histories.get(d.name)
        if path is not None:
            replay = seed if f.first_violation_seed is None else f.first_violation_seed
            run_discipline(
                scenario.with_seed(replay),
                d,
                store=args.store,
                schedule=schedule,
                depth=int(args.depth),
                history=path,
            )
    shrunk: dict[str, dict[str, object]] = {}
    if args.shrink:
        base = _overrides(args)
        for d, f in zip(scenario.discipline_list(), found, strict=True):
            if f.first_violation_seed is None:
                continue
            small = shrink(
                scenario,
                d,
                seed=f.first_violation_seed,
                schedule=schedule,
                depth=args.depth,
                store=args.store,
            )
            command = replay_command(
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
                "command": command,
            }
    doc = explore_document(
        scenario, schedule, args.depth, seed, found, shrunk, perf=bool(args.perf)
    )
    data = dumps(doc)
    if not args.quiet:
        out = sys.stdout if args.json != "-" else sys.stderr
        table_console(out).print(render_explore_table(scenario, schedule, args.depth, found))
        for name, info in shrunk.items():
            print(f"{name}: shrunk in {info['tries']} runs to {info['kinds']}; replay:", file=out)
            print(f"  {info['command']}", file=out)
    if args.json == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    elif args.json:
        write_atomic(args.json, data)
    return 0


def _store_name(args: argparse.Namespace) -> str:
    """The store the runs use: ``--backend`` if given (checked now: a malformed URL or an
    unreachable cluster is a usage error, before any run), else ``--store``."""
    name = str(args.store)
    chosen = getattr(args, "backend", None)
    if chosen is not None:
        name = "rust" if chosen == "embedded" else chosen
        if name not in ("rust", "reference") and not name.startswith("etcd://"):
            raise UsageError(
                f"--backend: {chosen!r} is not embedded, reference or etcd://HOST:PORT[,...]"
            )
    try:
        chosen_backend = backend(name)
        if name.startswith("etcd://"):
            from dnsrace.backends.etcd.client import EtcdClient
            from dnsrace.backends.etcd.url import parse_etcd_url

            EtcdClient(parse_etcd_url(name).endpoints, connect_timeout_s=3.0).close()
        del chosen_backend
    except (BackendError, DnsraceError) as exc:
        raise UsageError(f"--backend: {exc}") from None
    return name


def _phase2_setup(args: argparse.Namespace) -> tuple[Any, tuple[Any, ...], str] | None:
    """The collapse phase's config, presets and trigger source, checked before anything runs
    (``incident --then collapse``, or ``run`` with a ``[collapse]`` section)."""
    from dnsrace.collapse.config import CollapseConfig, CollapseError, config_from_mapping

    table = getattr(args, "collapse_table", None)
    if args.command == "incident" and args.then == "collapse":
        collapse_cli.needs(False)
        try:
            config = collapse_cli.config_from_args(args, CollapseConfig())
            recoveries = collapse_cli.recoveries(args)
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
    collapse_cli.needs(False)
    from dnsrace.collapse.config import resolve_presets

    try:
        config = config_from_mapping(table, CollapseConfig())
        recoveries = resolve_presets(",".join(config.presets), "collapse.presets")
    except CollapseError as exc:
        raise UsageError(str(exc)) from None
    return config, recoveries, source


def _phase2(
    setup: tuple[Any, tuple[Any, ...], str],
    results: Sequence[RunResult],
    quiet: bool,
    json_to_stdout: bool,
) -> dict[str, Any]:
    """Run the lease managers once per phase-1 discipline: the dependency is out while the
    regional endpoint answered empty in that discipline's run (``replay``), or for the
    section's own outage (``outage``)."""
    config, recoveries, source = setup
    out: dict[str, Any] = {}
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
        doc = collapse_cli.collapse_document(conf, collapse_cli.run_presets(conf, recoveries))
        out[r.discipline.name] = doc
        if not quiet:
            print(
                f"collapse after {r.discipline.name}:",
                file=sys.stderr if json_to_stdout else sys.stdout,
            )
            print(collapse_cli.render_table(doc), file=sys.stderr if json_to_stdout else sys.stdout)
    return out


EXIT_ILLEGAL = 1
EXIT_UNKNOWN = 3


def _check(args: argparse.Namespace) -> int:
    """``dnsrace check``: the verdict on stdout (or stderr with ``--json -``), exit status
    0 ok, 1 illegal, 3 unknown; bad input exits 2 with the line named and writes nothing."""
    from dnsrace import history
    from dnsrace.app.report import write_atomic
    from dnsrace.errors import InvalidHistory

    inputs.check_outputs([("--json", args.json), ("--html", args.html)])
    if args.html == "-":
        raise UsageError("--html: give a file name")
    try:
        result = history.check(
            args.history,
            timeout=args.timeout,
            max_states=args.max_states,
            linearizations=args.linearizations or args.html is not None,
        )
        html = None
        if args.html is not None:
            from dnsrace.app.view import HistoryError, render_history

            try:
                html = render_history([dict(op) for op in history.read(args.history)], dict(result))
            except HistoryError as exc:
                raise UsageError(f"--html: {exc}") from None
    except InvalidHistory as exc:
        raise UsageError(f"{args.history}: {exc}") from None
    import orjson

    if not args.linearizations:
        result.pop("linearizations", None)  # asked for the page only
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n"
    out = sys.stderr if args.json == "-" else sys.stdout
    elapsed = result["elapsed_s"] or 0.0
    print(
        f"{result['verdict']}: {result['operations']} operations over {result['endpoints']} "
        f"endpoints checked in {elapsed:.2f} s",
        file=out,
    )
    illegal = result["illegal"]
    if illegal is not None:
        print(
            f"  endpoint {illegal['endpoint']}: ops {illegal['window']} cannot be linearised: "
            f"{illegal['reason']}",
            file=out,
        )
    for v in result["domain_violations"]:
        print(f"  {v['check']} (endpoint {v['endpoint']}, ops {v['ops']}): {v['detail']}", file=out)
    if result["unknown_endpoints"]:
        shown = result["unknown_endpoints"][:10]
        print(f"  unknown for endpoints {shown}: {result['unknown_reason']}", file=out)
    if args.json == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    elif args.json:
        write_atomic(args.json, data)
    if html is not None:
        write_atomic(args.html, html.encode("utf-8"))
    return {"ok": 0, "illegal": EXIT_ILLEGAL}.get(result["verdict"], EXIT_UNKNOWN)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["modes"]:
        from dnsrace.app import modes

        return modes.main(argv[1:])
    if argv[:1] and argv[0] in ("planner", "enactor", "cluster-run"):
        from dnsrace.app import dist_cli

        return dist_cli.main(argv)
    args = build_parser().parse_args(argv)
    if args.command == "collapse":
        return collapse_cli.main(args)
    if args.command == "check":
        return _check(args)
    if args.command == "view":
        from dnsrace.app.view import cli as view_cli

        return view_cli.main(args)
    scenario = _scenario(args)
    phase2 = _phase2_setup(args)
    snapshots = _snapshots(args, scenario)
    histories = _histories(args, scenario)
    inputs.check_outputs(
        [
            ("--json", args.json),
            ("--plot", getattr(args, "plot", None)),
            *(("--snapshot", p) for p in snapshots.values()),
            *(("--history", p) for p in histories.values()),
        ]
    )
    args.store = _store_name(args)
    if histories and backend(args.store).new_recording_store is None:
        raise UsageError(f"--history: the {args.store!r} store records no history (use rust)")
    args.histories = histories
    if args.command == "explore":
        return _explore(args, scenario)
    chosen = backend(args.store)
    if snapshots and not hasattr(chosen.new_store, "snapshot"):
        raise UsageError(f"--snapshot: the {args.store!r} store cannot save snapshots")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError(
                "--plot needs matplotlib; install it with: pip install 'dnsrace[plot]'"
            ) from None
    if scenario.clock == "real" and not args.quiet:
        total = scenario.duration_s * len(scenario.discipline_list())
        print(f"dnsrace: real clock: this takes at least {total:.0f} s", file=sys.stderr)

    from dnsrace.app.report import (
        build_document,
        dumps,
        perf_line,
        render_table,
        table_console,
        write_atomic,
    )

    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if scenario.clock == "real" or args.store.startswith("etcd://"):
        # Real-time runs side by side would take each other's CPU; etcd runs share one
        # namespace, which each run empties first.
        jobs = 1
    results = _run_all(
        scenario,
        args.store,
        args.quiet,
        args.schedule or "clock",
        int(args.depth),
        int(jobs),
        snapshots,
        histories,
    )
    doc = build_document(scenario, results, include_perf=True if args.perf else None)
    if phase2 is not None:
        doc["collapse"] = _phase2(phase2, results, args.quiet, args.json == "-")
    data = dumps(doc)
    if not args.quiet:
        table_console(sys.stdout if args.json != "-" else sys.stderr).print(
            render_table(scenario, results)
        )
        for r in results:
            print(perf_line(r), file=sys.stderr)
    if args.plot:
        from dnsrace.app.plot import plot_timeline
        from dnsrace.atomicfile import atomic_output

        with atomic_output(args.plot) as tmp:
            plot_timeline(results, tmp)
    if args.json == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    elif args.json:
        write_atomic(args.json, data)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status."""
    try:
        return _main(argv)
    except (ScenarioError, UsageError, inputs.InputError) as exc:
        # Messages quote what the user typed; escape it so it cannot drive the terminal.
        print(f"dnsrace: error: {inputs.safe_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dnsrace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
