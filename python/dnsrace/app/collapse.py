"""``dnsrace collapse``: the lease managers' metastable collapse, preset by preset, and its
phase diagram (``--sweep``); also the collapse phase of ``incident --then collapse`` and of
``run`` with a ``[collapse]`` section. Output files are written only after every run."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "add_collapse_options",
    "add_parser",
    "collapse_document",
    "config_from_args",
    "run_presets",
]

SCHEMA = "dnsrace.collapse/1"


def _non_negative_number(kind: str) -> Callable[[str], float]:
    """An argparse type: a finite number >= 0, ``kind`` naming it in the error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


_non_negative = _non_negative_number("a number of seconds")
_fraction = _non_negative_number("a number")


def _deadline(text: str) -> float:
    if text == "none":
        return math.inf  # no deadline (None is "not given")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be seconds or 'none', got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be > 0 (or 'none'), got {text}")
    return value


def _seconds_list(text: str) -> tuple[float, ...]:
    values = tuple(_non_negative(v) for v in text.split(",") if v.strip())
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


def add_collapse_options(p: argparse.ArgumentParser, count: Callable[[int], type]) -> None:
    """Options shared by ``collapse`` and ``incident --then collapse``."""
    p.add_argument(
        "--recovery",
        metavar="PRESET|a,b|all",
        help="recovery presets (aws2025, throttle, lifo_drop, backoff, renewals_first, "
        "restart, restart_scheduled; default: all, with --sweep: aws2025)",
    )
    p.add_argument("--droplets", type=count(1), default=None, help="droplets (1000000)")
    p.add_argument("--managers", type=count(1), default=None, help="lease managers (32)")
    p.add_argument("--horizon-s", type=_non_negative, help="simulated seconds (21600)")
    p.add_argument("--deadline-s", type=_deadline, help="work deadline, or 'none' (450)")
    p.add_argument("--load-cost", type=_fraction, help="load-dependent cost factor (2; 0: off)")
    p.add_argument("--utilisation", type=_fraction, help="steady renewal load / capacity (0.5)")
    p.add_argument(
        "--no-retry", action="store_true", help="failed or late work is not queued again"
    )


def add_parser(sub: Any, count: Callable[[int], type]) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "collapse", help="phase 2: the lease managers' metastable collapse (DWFM)"
    )
    add_collapse_options(p, count)
    p.add_argument("--trigger-s", type=_non_negative, help="dependency outage length (1800)")
    p.add_argument("--trigger-at-s", type=_non_negative, help="outage start (600)")
    p.add_argument("--seed", type=count(0), help="root seed (1)")
    p.add_argument("--json", metavar="PATH", help="write the JSON document here ('-': stdout)")
    p.add_argument("--plot", metavar="PATH", help="leased fraction, queue, goodput PNG")
    p.add_argument(
        "--sweep", action="store_true", help="phase diagram: trigger length x offered load"
    )
    p.add_argument(
        "--jobs", type=count(1), default=1, help="sweep cells in this many processes (1)"
    )
    p.add_argument("--table", metavar="PATH", help="with --sweep: also write the table here")
    p.add_argument("--triggers", type=_seconds_list, help="with --sweep: trigger lengths (s)")
    p.add_argument("--loads", type=_seconds_list, help="with --sweep: offered loads")
    p.add_argument("--quiet", action="store_true", help="no table on stdout")
    return p


def config_from_args(args: argparse.Namespace, base: Any) -> Any:
    """Apply the command-line knobs over a :class:`CollapseConfig` (validated)."""
    changes: dict[str, Any] = {}
    for flag, name in (
        ("droplets", "droplets"),
        ("managers", "managers"),
        ("horizon_s", "horizon_s"),
        ("load_cost", "load_cost"),
        ("utilisation", "utilisation"),
        ("trigger_s", "trigger_s"),
        ("trigger_at_s", "trigger_at_s"),
        ("seed", "seed"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = int(value) if name in ("droplets", "managers", "seed") else value
    deadline = getattr(args, "deadline_s", None)
    if deadline is not None:
        changes["deadline_s"] = None if math.isinf(deadline) else deadline
    return base.replace(**changes)


def recoveries(args: argparse.Namespace) -> tuple[Any, ...]:
    from dnsrace.collapse.config import resolve_presets

    default = "aws2025" if getattr(args, "sweep", False) else "all"
    presets = resolve_presets(args.recovery or default)
    if args.no_retry:
        presets = tuple(dataclasses.replace(p, retry="off") for p in presets)
    return presets


def run_presets(config: Any, recoveries: Sequence[Any]) -> list[Any]:
    from dnsrace.collapse.managers import simulate

    return [simulate(config, r) for r in recoveries]


def _config_dict(config: Any) -> dict[str, Any]:
    out = dataclasses.asdict(config)
    out["outages"] = [list(w) for w in config.windows]
    out.pop("presets", None)
    return dict(out)


def collapse_document(config: Any, runs: Sequence[Any]) -> dict[str, Any]:
    from dnsrace.collapse.metrics import summary

    return {
        "schema": SCHEMA,
        "config": _config_dict(config),
        "results": {run.recovery.name: summary(run) for run in runs},
        "restarts": {run.recovery.name: run.restarts for run in runs},
    }


def render_table(doc: dict[str, Any]) -> str:
    from dnsrace.collapse.metrics import FIELDS

    heads = [
        "preset",
        "recovered",
        "t_recover_s",
        "metastable",
        "leased_min",
        "leased_end",
        "goodput/s",
        "retries",
        "expired",
        "queue_max",
        "blocked_droplet_h",
    ]
    rows = [heads]
    for name, fig in doc["results"].items():
        values = [fig[f] for f in FIELDS]
        values[-1] = fig["launch_blocked_droplet_s"] / 3600.0
        cells = [name]
        for v in values:
            if isinstance(v, float):
                cells.append(f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}")
            else:
                cells.append(str(v))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def sweep_table(results: Sequence[Any]) -> str:
    marks = {"ok": ".", "recovered": "r", "stuck": "X"}
    lines = []
    for res in results:
        lines.append(
            f"{res.recovery}: rows offered load (utilisation), columns trigger (s); "
            ". no harm, r recovered by itself, X stuck (metastable)"
        )
        lines.append("load  " + " ".join(f"{t:>5.0f}" for t in res.triggers))
        for load, row in zip(res.loads, res.outcomes, strict=True):
            lines.append(f"{load:4.2f}  " + " ".join(f"{marks[o]:>5}" for o in row))
        lines.append("")
    return "\n".join(lines)


def _check_path(path: str | None, flag: str) -> None:
    from dnsrace.app.cli import UsageError

    if path is None or path == "-":
        return
    if Path(path).is_dir():
        raise UsageError(f"{flag}: {path} is a directory")
    if not Path(path).resolve().parent.is_dir():
        raise UsageError(f"{flag}: directory {Path(path).resolve().parent} does not exist")


def needs(plot: bool) -> None:
    from dnsrace.app.cli import UsageError

    try:
        import numpy  # noqa: F401
    except ImportError:
        raise UsageError("collapse needs numpy; pip install 'dnsrace[numpy]'") from None
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib; pip install 'dnsrace[plot]'") from None


def main(args: argparse.Namespace) -> int:
    from dnsrace.app.cli import UsageError
    from dnsrace.app.report import dumps, write_atomic
    from dnsrace.collapse.config import CollapseConfig, CollapseError

    for path, flag in ((args.json, "--json"), (args.plot, "--plot"), (args.table, "--table")):
        _check_path(path, flag)
    for flag in ("table", "triggers", "loads"):
        if getattr(args, flag) and not args.sweep:
            raise UsageError(f"--{flag}: needs --sweep")
    needs(bool(args.plot))
    try:
        chosen = recoveries(args)
        config = config_from_args(args, CollapseConfig())
        if args.sweep:
            config = config if args.droplets is not None else config.replace(droplets=100_000)
    except CollapseError as exc:
        raise UsageError(str(exc)) from None
    out = sys.stdout if args.json != "-" else sys.stderr
    if args.sweep:
        return _sweep(args, config, chosen, out)
    runs = run_presets(config, chosen)
    doc = collapse_document(config, runs)
    if not args.quiet:
        print(render_table(doc), file=out)
        for run in runs:
            print(f"{run.recovery.name}: {run.wall_s:.1f} s wall", file=sys.stderr)
    if args.plot:
        from dnsrace.app.collapse_plot import plot_runs

        tmp = Path(args.plot).with_name(f".{Path(args.plot).name}.tmp.png")
        plot_runs(runs, tmp)
        tmp.replace(args.plot)
    _emit(args.json, dumps(doc), write_atomic)
    return 0


def _emit(path: str | None, data: bytes, write_atomic: Any) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    elif path:
        write_atomic(path, data)


def _sweep(args: argparse.Namespace, config: Any, recoveries: Sequence[Any], out: Any) -> int:
    from dnsrace.app.cli import UsageError
    from dnsrace.app.report import dumps, write_atomic
    from dnsrace.collapse.sweep import DEFAULT_LOADS, DEFAULT_TRIGGERS, sweep

    loads = args.loads or DEFAULT_LOADS
    if any(not 0 < x < 10 for x in loads):
        raise UsageError("--loads: each must be in (0, 10)")
    results = sweep(
        config,
        recoveries,
        triggers=args.triggers or DEFAULT_TRIGGERS,
        loads=loads,
        jobs=int(args.jobs),
    )
    table = sweep_table(results)
    if not args.quiet:
        print(table, file=out)
    doc = {
        "schema": SCHEMA + "-sweep",
        "config": _config_dict(config),
        "sweep": {
            r.recovery: {
                "triggers_s": list(r.triggers),
                "loads": list(r.loads),
                "outcomes": r.outcomes,
            }
            for r in results
        },
    }
    if args.plot:
        from dnsrace.app.collapse_plot import plot_phase_diagram

        tmp = Path(args.plot).with_name(f".{Path(args.plot).name}.tmp.png")
        plot_phase_diagram(results, tmp)
        tmp.replace(args.plot)
    if args.table:
        write_atomic(args.table, table.encode())
    _emit(args.json, dumps(doc), write_atomic)
    return 0
