"""A recorded history (JSON lines, one operation per endpoint per line) -> the page's data.

:func:`read_history` is a small reader for the viewer: it refuses what the page could not
draw honestly (truncated or non-JSON lines, wrong types, an unknown ``op``, a return before
its call, a client whose calls go back in time), naming the line. The checker
(``dnsrace.history``) has the strict reader of the format.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from dnsrace.app.view.page import page

__all__ = [
    "OPS",
    "HistoryError",
    "check_result",
    "history_data",
    "read_history",
    "render_history",
]

OPS = ("flip", "read", "acquire", "renew", "release", "put_tree", "delete_tree")
"""The operations of the jsonl format (docs/guide/checker.md)."""

MAX_ENDPOINTS = 24
"""Endpoints drawn by default: the failing ones first, then the lowest ids."""


class HistoryError(ValueError):
    """A history (or checker result) the viewer cannot draw; the message names the line."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_op(op: Any, where: str) -> dict[str, Any]:
    """One operation's shape; ``where`` prefixes the message (``PATH:LINE``)."""
    if not isinstance(op, dict):
        raise HistoryError(f"{where}: must be a JSON object")
    for key in ("client", "endpoint", "call", "return"):
        if key not in op:
            raise HistoryError(f"{where}: {key}: missing")
        if not _is_int(op[key]) or op[key] < 0:
            raise HistoryError(f"{where}: {key}: must be an integer >= 0, got {op[key]!r}")
    if op.get("op") not in OPS:
        raise HistoryError(f"{where}: op: unknown operation {op.get('op')!r}")
    for key in ("input", "output"):
        if not isinstance(op.get(key), dict):
            raise HistoryError(f"{where}: {key}: must be an object")
    if op["return"] < op["call"]:
        raise HistoryError(f"{where}: return {op['return']} is before call {op['call']}")
    return op


def read_history(path: str | os.PathLike[str], data: bytes | None = None) -> list[dict[str, Any]]:
    """Every operation of the history at ``path``, checked (see the module's docstring);
    ``data``: its bytes, already read (through the CLI's input door)."""
    name = os.fspath(path)
    if data is None:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise HistoryError(f"{name}: {exc.strerror or exc}") from None
    if data and not data.endswith(b"\n"):
        # A writer killed mid-line leaves a last line without its newline.
        last = data.count(b"\n") + 1
        raise HistoryError(f"{name}:{last}: truncated (no end of line)")
    import orjson

    ops: list[dict[str, Any]] = []
    last_call: dict[int, int] = {}
    for number, raw in enumerate(data.splitlines(), 1):
        where = f"{name}:{number}"
        if not raw.strip():
            raise HistoryError(f"{where}: empty line")
        try:
            op = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            # orjson also refuses integers beyond 64 bits and nesting past its limit here.
            raise HistoryError(f"{where}: not JSON ({exc.msg})") from None
        if number == 1 and isinstance(op, dict) and set(op) == {"truncated"}:
            continue  # a truncated history's mark (the checker says unknown, and why)
        check_op(op, where)
        client = op["client"]
        if op["call"] < last_call.get(client, 0):
            raise HistoryError(
                f"{where}: client {client}'s call {op['call']} is before its previous call "
                f"{last_call[client]} (times must not go back)"
            )
        last_call[client] = op["call"]
        ops.append(op)
    if not ops:
        raise HistoryError(f"{name}: no operations")
    return ops


def check_result(result: Any, ops: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """A checker result's shape (``verdict``, ``illegal``, ``linearizations``, ...) with op
    numbers inside the history, returned with op indexes from 0 (the checker numbers ops from
    ``op_base``: 1 today, 0 in results saved before it said). Errors name ops as the result
    numbers them."""
    n = len(ops)
    if not isinstance(result, dict):
        raise HistoryError(f"{where}: must be a JSON object")
    base = result.get("op_base", 0)
    if base not in (0, 1) or isinstance(base, bool):
        raise HistoryError(f"{where}: op_base: must be 0 or 1")
    if base == 1:
        result = _from_zero(result)
    checked: dict[str, Any] = result
    if result.get("verdict") not in ("ok", "illegal", "unknown"):
        raise HistoryError(f"{where}: verdict: must be ok, illegal or unknown")

    def indexes(value: Any, field: str) -> list[int]:
        if not isinstance(value, list) or not all(_is_int(i) and 0 <= i < n for i in value):
            raise HistoryError(
                f"{where}: {field}: must be a list of op numbers in {base}..{n - 1 + base}"
            )
        return value

    illegal = result.get("illegal")
    if illegal is not None:
        if not isinstance(illegal, dict) or not _is_int(illegal.get("endpoint")):
            raise HistoryError(f"{where}: illegal: must be null or an object with an endpoint")
        for i in indexes(illegal.get("window"), "illegal.window"):
            if ops[i]["endpoint"] != illegal["endpoint"]:
                raise HistoryError(f"{where}: illegal.window: op {i + base} is on another endpoint")
        if not isinstance(illegal.get("reason", ""), str):
            raise HistoryError(f"{where}: illegal.reason: must be a string")
    lins = result.get("linearizations", {})
    if not isinstance(lins, dict):
        raise HistoryError(f"{where}: linearizations: must be an object")
    for key, order in lins.items():
        for i in indexes(order, f"linearizations.{key}"):
            if str(ops[i]["endpoint"]) != key:
                raise HistoryError(
                    f"{where}: linearizations.{key}: op {i + base} is on endpoint "
                    f"{ops[i]['endpoint']}"
                )
    violations = result.get("domain_violations", [])
    if not isinstance(violations, list):
        raise HistoryError(f"{where}: domain_violations: must be a list")
    for i, v in enumerate(violations):
        if not isinstance(v, dict) or not _is_int(v.get("endpoint")):
            raise HistoryError(f"{where}: domain_violations[{i}]: must be an object")
        indexes(v.get("ops"), f"domain_violations[{i}].ops")
    for key in ("unknown_endpoints", "illegal_endpoints"):
        listed = result.get(key, [])
        if not isinstance(listed, list) or not all(_is_int(e) for e in listed):
            raise HistoryError(f"{where}: {key}: must be a list of integers")
    return checked


def _from_zero(result: dict[str, Any]) -> dict[str, Any]:
    """A result numbered from 1, renumbered from 0 (what does not fit is left for the shape
    checks to refuse)."""

    def down(value: Any) -> Any:
        if isinstance(value, list):
            return [i - 1 if _is_int(i) else i for i in value]
        return value

    out = dict(result, op_base=0)
    illegal = out.get("illegal")
    if isinstance(illegal, dict):
        out["illegal"] = dict(illegal, window=down(illegal.get("window")))
    lins = out.get("linearizations")
    if isinstance(lins, dict):
        out["linearizations"] = {k: down(v) for k, v in lins.items()}
    violations = out.get("domain_violations")
    if isinstance(violations, list):
        out["domain_violations"] = [
            dict(v, ops=down(v.get("ops"))) if isinstance(v, dict) else v for v in violations
        ]
    return out


def _short(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items() if v is not None)


def _label(op: dict[str, Any]) -> str:
    inp, out = _short(op["input"]), _short(op["output"])
    return f"{op['op']}({inp}) -> {out}" if inp else f"{op['op']} -> {out}"


def _points(order: list[int], ops: list[dict[str, Any]], t0: int) -> list[list[int]]:
    """A linearisation point per op, in order: the earliest instant inside the op's interval
    not before the previous point (as the checker's order allows)."""
    out: list[list[int]] = []
    prev = 0
    for i in order:
        op = ops[i]
        t = min(max(op["call"] - t0, prev), op["return"] - t0)
        out.append([i, t])
        prev = t
    return out


def history_data(
    ops: list[dict[str, Any]],
    result: dict[str, Any] | None,
    *,
    max_endpoints: int = MAX_ENDPOINTS,
    note: str = "",
) -> dict[str, Any]:
    """The page's data: the endpoints to draw (failing ones first), their ops and lanes."""
    by_endpoint: defaultdict[int, list[int]] = defaultdict(list)
    for i, op in enumerate(ops):
        by_endpoint[op["endpoint"]].append(i)
    t0 = min(op["call"] for op in ops)
    illegal = (result or {}).get("illegal")
    violations = (result or {}).get("domain_violations", []) if result else []
    lins = (result or {}).get("linearizations", {}) if result else {}
    unknown = set((result or {}).get("unknown_endpoints", [])) if result else set()
    also_illegal = set((result or {}).get("illegal_endpoints", [])) if result else set()
    failing: list[int] = []
    if illegal is not None:
        failing.append(illegal["endpoint"])
    failing += sorted(e for e in also_illegal if e not in failing)
    failing += [v["endpoint"] for v in violations if v["endpoint"] not in failing]
    rest = sorted(e for e in by_endpoint if e not in failing)
    shown = [e for e in failing if e in by_endpoint] + rest
    shown = shown[: max(max_endpoints, len(failing))]
    panels = []
    for e in shown:
        idx = by_endpoint[e]
        fail = illegal["window"] if illegal is not None and illegal["endpoint"] == e else []
        viol = sorted({i for v in violations if v["endpoint"] == e for i in v["ops"]})
        order = lins.get(str(e), [])
        status = "unchecked"
        if result is not None:
            status = "ok"
            if e in unknown:
                status = "unknown"
            if viol:
                status = "violation"
            if fail or e in also_illegal:
                status = "illegal"
        panels.append(
            {
                "endpoint": e,
                "status": status,
                "clients": sorted({ops[i]["client"] for i in idx}),
                "ops": [
                    [
                        i,
                        ops[i]["client"],
                        ops[i]["op"],
                        ops[i]["call"] - t0,
                        ops[i]["return"] - t0,
                        _label(ops[i]),
                    ]
                    for i in idx
                ],
                "lin": _points(order, ops, t0),
                "fail": fail,
                "violations": viol,
                "reason": illegal.get("reason", "") if fail and illegal is not None else "",
            }
        )
    return {
        "kind": "history",
        "operations": len(ops),
        "endpoints_total": len(by_endpoint),
        "verdict": result["verdict"] if result is not None else None,
        "elapsed_s": result.get("elapsed_s") if result is not None else None,
        "domain_violations": [
            {
                "check": str(v.get("check", "")),
                "endpoint": v["endpoint"],
                "ops": v["ops"],
                "detail": str(v.get("detail", "")),
            }
            for v in violations
        ],
        "note": note,
        "panels": panels,
    }


def render_history(
    ops: list[dict[str, Any]],
    result: dict[str, Any] | None,
    *,
    max_endpoints: int = MAX_ENDPOINTS,
    note: str = "",
) -> str:
    """The HTML page of a history (``ops`` in file order; op index = position) and, if
    given, the checker's result for it."""
    if not ops:
        raise HistoryError("history: no operations")
    for i, op in enumerate(ops):
        check_op(op, f"operation {i}")
    if result is not None:
        result = check_result(result, ops, "check result")
    data = history_data(ops, result, max_endpoints=max_endpoints, note=note)
    verdict = data["verdict"] or "not checked"
    return page(f"dnsrace history: {len(ops):,} operations, {verdict}", data)


def load_json(path: str) -> Any:
    """A JSON file; a malformed one raises :class:`HistoryError` with its line."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}:{exc.lineno}: {exc.msg}") from None
