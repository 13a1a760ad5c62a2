"""Reports: the JSON document of a run, the side-by-side terminal table and the progress bar.

The JSON document (``build_document``) has sorted keys and floats rounded to 6 decimals, and
on the virtual clock it contains nothing measured on the wall clock: the same scenario, seed
and store give byte-identical output. Wall-time figures (``perf``) are added only for
real-clock runs or on request (``include_perf``), under their own key.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dnsrace.atomicfile import write_atomic
from dnsrace.sim.explore import KINDS, PresetExploration
from dnsrace.sim.runner import RunResult
from dnsrace.sim.scenario import Scenario

__all__ = [
    "SCHEMA_VERSION",
    "build_document",
    "dumps",
    "explore_document",
    "perf_line",
    "progress_bar",
    "render_explore_table",
    "render_table",
    "table_console",
    "write_atomic",
]

SCHEMA_VERSION = 1


def _round(value: Any) -> Any:
    """Round floats to 6 decimals everywhere (stable text, no noise digits)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        r = round(value, 6)
        return 0.0 if r == 0 else r
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def build_document(
    scenario: Scenario, results: Sequence[RunResult], *, include_perf: bool | None = None
) -> dict[str, Any]:
    """The run's JSON document (docs/reference/json.md)."""
    if include_perf is None:
        include_perf = scenario.clock == "real"
    store = results[0].store if results else "rust"
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "clock": scenario.clock,
        "store": store,
        "endpoints": scenario.total_endpoints,
        "regional_endpoint": scenario.endpoints.regional,
        "enactors": scenario.enactors.count,
        "duration_s": scenario.duration_s,
        "disciplines": {r.discipline.name: r.discipline.knobs() for r in results},
        "results": {r.discipline.name: r.metrics for r in results},
        "timelines": {
            r.discipline.name: {**r.timeline.to_json(), "enactor_names": list(r.enactor_names)}
            for r in results
        },
    }
    if include_perf:
        doc["perf"] = {r.discipline.name: r.perf for r in results}
    rounded: dict[str, Any] = _round(doc)
    return rounded


def dumps(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


# ---------------------------------------------------------------------------- terminal table


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _bad(text: str, bad: bool) -> str:
    return f"[bold red]{text}[/]" if bad else f"[green]{text}[/]"


def _metric(path: str, *, digits: int = 1, bad_if_set: bool = False) -> Any:
    """A table cell showing ``metrics[path]`` (dotted); red when ``bad_if_set`` and non-zero."""

    def cell(r: RunResult) -> str:
        value: Any = r.metrics
        for key in path.split("."):
            value = value[key]
        text = _num(value, digits)
        return _bad(text, bool(value)) if bad_if_set else text

    return cell


def _converged(r: RunResult) -> str:
    m = r.metrics
    return _bad(f"{m['plans_converged']}/{m['plans_published']}", not m["converged"])


_ROWS: list[tuple[str, Any]] = [
    ("guard / lock", lambda r: f"{r.discipline.guard}\n{r.discipline.lock}"),
    ("clean-up (trees kept)", lambda r: f"{r.discipline.cleanup} ({r.discipline.trees_kept})"),
    ("stale flips", _metric("stale_flips", bad_if_set=True)),
    ("empty answers", _metric("empty_answers", bad_if_set=True)),
    ("empty endpoint-s", _metric("empty_endpoint_seconds", digits=0, bad_if_set=True)),
    ("stuck endpoints", _metric("stuck_endpoints", bad_if_set=True)),
    ("stuck endpoint-s", _metric("stuck_endpoint_seconds", digits=0, bad_if_set=True)),
    ("plans converged", _converged),
    ("convergence p50 s", _metric("convergence_s.p50")),
    ("convergence p99 s", _metric("convergence_s.p99")),
    ("convergence max s", _metric("convergence_s.max")),
    ("goodput flips/s", _metric("goodput_flips_per_s")),
    ("wasted writes", _metric("wasted_writes")),
    ("lock retries", _metric("lock_retries")),
    ("lease wait s", _metric("lease_wait_s")),
    ("correct-time fraction", _metric("correct_time_fraction", digits=4)),
    ("fleet stuck endpoints", _metric("fleet.stuck_endpoints", bad_if_set=True)),
    ("fleet stale flips", _metric("fleet.stale_flips", bad_if_set=True)),
    ("regional empty s", _metric("regional.empty_seconds", bad_if_set=True)),
    ("regional incidents", _metric("regional.incidents", bad_if_set=True)),
    ("regional stuck", _metric("regional.stuck", bad_if_set=True)),
    ("regional stale flips", _metric("regional.stale_flips", bad_if_set=True)),
    ("regional final gen", _metric("regional.final_generation")),
]
"""The table's rows, top to bottom: (label, cell function)."""


def render_table(scenario: Scenario, results: Sequence[RunResult]) -> Table:
    """Presets side by side: one column per discipline, one row per metric."""
    caption = (
        f"scenario {escape(scenario.name)}, seed {scenario.seed}, "
        f"{scenario.total_endpoints:,} endpoints, "
        f"{scenario.enactors.count} enactors, {scenario.clock} clock"
    )
    table = Table(caption=caption, caption_justify="left", show_lines=False)
    table.add_column("metric", style="bold")
    for r in results:
        table.add_column(
            escape(r.discipline.name).replace("+", "\n+"), justify="right", no_wrap=True
        )
    for label, cell in _ROWS:
        table.add_row(label, *(cell(r) for r in results))
    return table


def explore_document(
    scenario: Scenario,
    schedule: str,
    depth: int,
    seed: int,
    found: Sequence[PresetExploration],
    shrunk: dict[str, dict[str, Any]],
    *,
    perf: bool,
) -> dict[str, Any]:
    """The JSON document of ``dnsrace explore`` (same seed, same bytes unless ``perf``)."""
    doc: dict[str, Any] = {
        "scenario": scenario.name,
        "schedule": schedule,
        "depth": depth if schedule == "pct" else None,
        "seed": seed,
        "runs": max((f.runs for f in found), default=0),
        "results": {f.discipline: f.as_json(perf=perf) for f in found},
    }
    if shrunk:
        doc["shrunk"] = shrunk
    rounded: dict[str, Any] = _round(doc)
    return rounded


def render_explore_table(
    scenario: Scenario, schedule: str, depth: int, found: Sequence[PresetExploration]
) -> Table:
    """One row per discipline: runs, violating runs by kind, first violating seed, speed."""
    how = f"pct, depth {depth}" if schedule == "pct" else schedule
    table = Table(
        caption=f"scenario {escape(scenario.name)}, {how} schedules", caption_justify="left"
    )
    for col in ("discipline", "runs", "violating", *KINDS, "first seed", "runs/s"):
        table.add_column(col.replace("_", " "), justify="left" if col == "discipline" else "right")
    for f in found:
        table.add_row(
            f.discipline,
            _num(f.runs),
            _bad(_num(f.violating_runs), bool(f.violating_runs)),
            *(_bad(_num(f.by_kind[k]), bool(f.by_kind[k])) for k in KINDS),
            _num(f.first_violation_seed),
            f"{f.runs_per_s:,.0f}",
        )
    return table


def perf_line(result: RunResult) -> str:
    """Wall time and the store's share of it, for stderr."""
    p = result.perf
    return (
        f"{result.discipline.name}: {p['run_s']:.1f} s {result.scenario.clock} time in "
        f"{p['wall_s']:.2f} s wall, {p['cpu_s']:.2f} s CPU: store calls {p['store_s']:.2f} s "
        f"({100 * p['store_share']:.0f}% of CPU), Python {p['python_s']:.2f} s"
    )


@contextmanager
def progress_bar(console: Console | None = None, unit: str = "s simulated") -> Iterator[Progress]:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""
    console = console or Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f} " + unit),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal or bool(os.environ.get("CI")),
        transient=True,
    )
    with progress:
        yield progress


def table_console(file: Any = None) -> Console:
    """A console for the table: as wide as the terminal, or 140 columns when not a terminal."""
    console = Console(file=file or sys.stdout)
    if not console.is_terminal:
        console = Console(file=file or sys.stdout, width=140)
    return console
