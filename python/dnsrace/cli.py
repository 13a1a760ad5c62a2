"""Command line: ``dnsrace incident`` (the 2025 replay) and ``dnsrace run SCENARIO.toml``.

Both print the side-by-side table on stdout and wall-time figures on stderr, and optionally
write the JSON document (``--json PATH``) and the timeline picture (``--plot PATH``). Bad input
exits with status 2 and one line on stderr naming the culprit; output files are written only
after every run has finished, each atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from dnsrace.sim.backend import STORES, BackendError, backend
from dnsrace.sim.disciplines import ALL, DisciplineError, resolve_names
from dnsrace.sim.runner import RunResult, run_discipline
from dnsrace.sim.scenario import Scenario, ScenarioError, incident_scenario, load_scenario

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
        def __new__(cls, text: str) -> _Count:  # type: ignore[misc]
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


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--discipline",
        metavar="PRESET|all",
        help=f"one preset, a comma-separated list or 'all' ({', '.join(ALL)})",
    )
    p.add_argument("--seed", type=_count(0), help="root seed (default: the scenario's)")
    p.add_argument("--clock", choices=["virtual", "real"], help="virtual (default) or real time")
    p.add_argument(
        "--duration",
        type=_seconds,
        metavar="S",
        help="seconds during which the planner publishes and faults strike",
    )
    p.add_argument(
        "--store",
        choices=STORES,
        default="rust",
        help="record store: the Rust core (default) or the pure-Python reference",
    )
    p.add_argument("--json", metavar="PATH", help="write the JSON document here ('-': stdout)")
    p.add_argument("--plot", metavar="PATH", help="draw the regional timeline PNG here")
    p.add_argument(
        "--perf", action="store_true", help="add wall-time figures to the JSON (not deterministic)"
    )
    p.add_argument("--quiet", action="store_true", help="no table, no progress, no perf lines")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dnsrace",
        description="Reproduce, measure and prevent the planner/enactor DNS race of Oct 2025.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    inc = sub.add_parser("incident", help="replay the 2025 incident across write disciplines")
    inc.add_argument(
        "--endpoints",
        type=_count(0),
        default=1000,
        help="endpoints besides the regional one (default 1000)",
    )
    inc.add_argument("--enactors", type=_count(1), default=3, help="enactors (default 3)")
    _add_common(inc)
    run = sub.add_parser("run", help="run a scenario file")
    run.add_argument("scenario", metavar="SCENARIO.toml")
    _add_common(run)
    # Listed for --help; its own options are parsed by dnsrace.modes (see _main).
    sub.add_parser(
        "modes",
        help="the store's flip modes on one stale write race (dnsrace modes --help)",
        add_help=False,
    )
    return parser


def _scenario(args: argparse.Namespace) -> Scenario:
    presets: tuple[str, ...] | None = None
    if args.discipline is not None:
        names = [n.strip() for n in args.discipline.split(",") if n.strip()]
        if not names:
            raise UsageError("--discipline: empty")
        try:
            presets = tuple(resolve_names(names, "--discipline"))
        except DisciplineError as exc:
            raise UsageError(str(exc)) from None
    if args.command == "incident":
        scenario = incident_scenario(
            seed=1 if args.seed is None else args.seed,
            endpoints=args.endpoints,
            enactors=args.enactors,
            clock=args.clock or "virtual",
            presets=presets or ("all",),
        )
    else:
        scenario = load_scenario(args.scenario)
        if args.seed is not None:
            scenario = scenario.replace(seed=int(args.seed))
        if args.clock is not None:
            scenario = scenario.replace(clock=args.clock)
        if presets is not None:
            import dataclasses

            scenario = scenario.replace(
                disciplines=dataclasses.replace(scenario.disciplines, presets=presets, custom=())
            )
    if args.duration is not None:
        scenario = scenario.replace(duration_s=args.duration)
    return scenario


def _check_output(path: str | None, flag: str) -> None:
    if path is None or path == "-":
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{flag}: directory {parent} does not exist")


def _run_all(scenario: Scenario, store: str, quiet: bool) -> list[RunResult]:
    from dnsrace.report import progress_bar

    disciplines = scenario.discipline_list()
    results: list[RunResult] = []
    horizon = scenario.duration_s + scenario.drain_s
    with progress_bar() as progress:
        for d in disciplines:
            task = progress.add_task(d.name, total=horizon, visible=not quiet)
            result = run_discipline(
                scenario,
                d,
                store=store,
                progress=lambda t, task=task: progress.update(task, completed=t),  # type: ignore[misc]
            )
            progress.update(task, completed=horizon)
            results.append(result)
    return results


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["modes"]:
        from dnsrace import modes

        return modes.main(argv[1:])
    args = build_parser().parse_args(argv)
    scenario = _scenario(args)
    _check_output(args.json, "--json")
    _check_output(args.plot, "--plot")
    try:
        backend(args.store)
    except BackendError as exc:
        raise UsageError(f"--store: {exc}") from None
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

    from dnsrace.report import (
        build_document,
        dumps,
        perf_line,
        render_table,
        table_console,
        write_atomic,
    )

    results = _run_all(scenario, args.store, args.quiet)
    doc = build_document(scenario, results, include_perf=True if args.perf else None)
    data = dumps(doc)
    if not args.quiet:
        table_console(sys.stdout if args.json != "-" else sys.stderr).print(
            render_table(scenario, results)
        )
        for r in results:
            print(perf_line(r), file=sys.stderr)
    if args.plot:
        from dnsrace.plot import plot_timeline

        tmp = Path(args.plot).with_name(f".{Path(args.plot).name}.tmp.png")
        plot_timeline(results, tmp)
        tmp.replace(args.plot)
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
    except (ScenarioError, UsageError) as exc:
        print(f"dnsrace: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dnsrace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
