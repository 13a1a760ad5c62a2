"""A simulation run's JSON document -> the page's data (validated, then drawn by the script)."""

from __future__ import annotations

from typing import Any

from dnsrace.app.view.page import page

__all__ = ["RunDocError", "focus_window", "render_run", "run_data"]


class RunDocError(ValueError):
    """The document is not a run document this viewer can draw; the message names the field."""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_opt_num(v: Any) -> bool:
    return v is None or _is_num(v)


def _field(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise RunDocError(f"{where}.{key}: missing")
    return obj[key]


def _rows(value: Any, where: str, kinds: tuple[str, ...]) -> list[list[Any]]:
    """A list of fixed-length rows; ``kinds`` per column: ``num``, ``opt`` (number or null),
    ``int``, ``str``."""
    if not isinstance(value, list):
        raise RunDocError(f"{where}: must be a list")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(kinds):
            raise RunDocError(f"{where}[{i}]: must be a list of {len(kinds)} values")
        for j, (kind, v) in enumerate(zip(kinds, row, strict=True)):
            ok = {
                "num": _is_num(v),
                "opt": _is_opt_num(v),
                "int": isinstance(v, int) and not isinstance(v, bool),
                "str": isinstance(v, str),
            }[kind]
            if not ok:
                raise RunDocError(f"{where}[{i}][{j}]: must be a {kind}, got {v!r}")
    return value


def _dicts(value: Any, where: str, spec: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise RunDocError(f"{where}: must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise RunDocError(f"{where}[{i}]: must be an object")
        for key, kind in spec.items():
            v = _field(item, key, f"{where}[{i}]")
            ok = {
                "num": _is_num(v),
                "opt": _is_opt_num(v),
                "int": isinstance(v, int) and not isinstance(v, bool),
                "optint": v is None or (isinstance(v, int) and not isinstance(v, bool)),
                "str": isinstance(v, str),
            }[kind]
            if not ok:
                raise RunDocError(f"{where}[{i}].{key}: must be a {kind}, got {v!r}")
    return value


def _timeline(tl: Any, where: str) -> dict[str, Any]:
    if not isinstance(tl, dict):
        raise RunDocError(f"{where}: must be an object")
    end = _field(tl, "end", where)
    if not _is_num(end):
        raise RunDocError(f"{where}.end: must be a number")
    names = _field(tl, "enactor_names", where)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RunDocError(f"{where}.enactor_names: must be a list of strings")
    endpoint = _field(tl, "endpoint", where)
    if not isinstance(endpoint, str):
        raise RunDocError(f"{where}.endpoint: must be a string")
    for key in ("empty", "stuck", "automation_off"):
        _rows(_field(tl, key, where), f"{where}.{key}", ("num", "opt"))
    _rows(_field(tl, "publications", where), f"{where}.publications", ("int", "num"))
    _rows(_field(tl, "lock_waits", where), f"{where}.lock_waits", ("num", "str", "num"))
    _rows(_field(tl, "pauses", where), f"{where}.pauses", ("num", "str", "num"))
    _rows(_field(tl, "crashes", where), f"{where}.crashes", ("num", "str"))
    _rows(_field(tl, "cleanups", where), f"{where}.cleanups", ("num", "str", "int", "int", "int"))
    _rows(_field(tl, "repairs", where), f"{where}.repairs", ("num", "int"))
    _rows(_field(tl, "fleet", where), f"{where}.fleet", ("num", "int", "int"))
    _dicts(
        _field(tl, "flips", where),
        f"{where}.flips",
        {
            "t": "num",
            "actor": "str",
            "generation": "int",
            "published_at": "num",
            "before": "optint",
            "after": "optint",
            "outcome": "str",
        },
    )
    _dicts(
        _field(tl, "passes", where),
        f"{where}.passes",
        {"actor": "str", "generation": "int", "start": "num", "end": "opt", "result": "str"},
    )
    return tl


def focus_window(timelines: list[dict[str, Any]]) -> list[float]:
    """The span shown first: around the first stuck window (from the stale flip before it),
    else around the first stale flip, else the first four minutes."""
    for tl in timelines:
        if tl["stuck"]:
            start, end = tl["stuck"][0]
            stale = [f["t"] for f in tl["flips"] if f["outcome"] == "stale" and f["t"] <= start]
            lo = (stale[-1] if stale else start) - 90.0
            hi = (end if end is not None else tl["end"]) + 45.0
            return [max(0.0, lo), min(tl["end"], hi)]
    for tl in timelines:
        stale = [f["t"] for f in tl["flips"] if f["outcome"] == "stale"]
        if stale:
            return [max(0.0, stale[0] - 90.0), min(tl["end"], stale[0] + 90.0)]
    end = max((tl["end"] for tl in timelines), default=1.0)
    return [0.0, min(end, 240.0) or 1.0]


_METRICS = (
    ("stale_flips", "stale flips"),
    ("empty_endpoint_seconds", "empty endpoint-s"),
    ("stuck_endpoints", "stuck endpoints"),
    ("lock_retries", "lock retries"),
    ("plans_skipped", "plans skipped"),
    ("deleted_trees", "trees deleted"),
    ("repairs", "repairs"),
)


def run_data(doc: Any) -> dict[str, Any]:
    """Validate a run document and return the page's data for it."""
    if not isinstance(doc, dict):
        raise RunDocError("run document: must be a JSON object")
    timelines = doc.get("timelines")
    if timelines is None and "results" not in doc:
        raise RunDocError(
            "not a run document (dnsrace run|incident --json) nor a history (one op per line)"
        )
    if timelines is None:
        raise RunDocError(
            "timelines: missing (the document predates them; run dnsrace run/incident again)"
        )
    if not isinstance(timelines, dict) or not timelines:
        raise RunDocError("timelines: must be a non-empty object")
    results = doc.get("results", {})
    knobs = doc.get("disciplines", {})
    if not isinstance(results, dict) or not isinstance(knobs, dict):
        raise RunDocError("results/disciplines: must be objects")
    panels = []
    for name, tl in timelines.items():
        checked = _timeline(tl, f"timelines.{name}")
        metrics = results.get(name, {})
        if not isinstance(metrics, dict):
            raise RunDocError(f"results.{name}: must be an object")
        regional = metrics.get("regional", {})
        figures = [[label, metrics[key]] for key, label in _METRICS if _is_num(metrics.get(key))]
        if isinstance(regional, dict) and _is_num(regional.get("empty_seconds")):
            figures.insert(1, ["regional empty s", regional["empty_seconds"]])
        panels.append(
            {
                "name": name,
                "knobs": knobs.get(name, {}) if isinstance(knobs.get(name), dict) else {},
                "figures": figures,
                "timeline": checked,
            }
        )
    return {
        "kind": "run",
        "scenario": str(doc.get("scenario", "")),
        "seed": doc.get("seed"),
        "clock": str(doc.get("clock", "")),
        "endpoints": doc.get("endpoints"),
        "endpoint": panels[0]["timeline"]["endpoint"],
        "focus": focus_window([p["timeline"] for p in panels]),
        "panels": panels,
    }


def render_run(run: dict[str, Any]) -> str:
    """The HTML page of a run document (raises :class:`RunDocError` naming a bad field)."""
    data = run_data(run)
    title = f"dnsrace timeline: {data['scenario'] or 'run'} (seed {data['seed']})"
    return page(title, data)
