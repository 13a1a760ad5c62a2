"""``dnsrace view RUN.json|HISTORY -o OUT.html [--check-result PATH]``."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from dnsrace.app import inputs
from dnsrace.app.view.history import (
    MAX_ENDPOINTS,
    HistoryError,
    check_result,
    load_json,
    read_history,
    render_history,
)
from dnsrace.app.view.run import RunDocError, render_run
from dnsrace.atomicfile import write_atomic
from dnsrace.history import max_states_option, timeout_option

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "view",
        help="an interactive HTML timeline of a run's JSON or of a history (one file, offline)",
    )
    p.add_argument("input", metavar="RUN.json|HISTORY")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html")
    p.add_argument(
        "--check-result",
        metavar="PATH",
        help="a history's saved checker result (JSON) instead of checking it now",
    )
    p.add_argument(
        "--timeout",
        type=timeout_option,
        metavar="S",
        help="history: give the checker at most S seconds, at most a day (default 60; its "
        "verdict may be unknown)",
    )
    p.add_argument(
        "--max-states",
        type=max_states_option,
        metavar="N",
        help="history: the checker keeps at most N states (default 8000000; past it the "
        "verdict is unknown)",
    )
    p.add_argument(
        "--max-endpoints",
        type=inputs.bounded_int(1, 10_000),
        default=MAX_ENDPOINTS,
        help=f"history: endpoints drawn, failing ones first ({MAX_ENDPOINTS})",
    )


def _kind(path: str) -> tuple[str, Any]:
    """``("run", document)`` or ``("history", None)``, from the file's content."""
    if path.endswith(".jsonl"):
        return "history", None
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror or exc}") from None
    first = head.split(b"\n", 1)[0].strip()
    if first.startswith(b"{") and first.endswith(b"}") and b'"op"' in first:
        return "history", None
    doc = load_json(path)
    if isinstance(doc, dict) and "op" in doc and "client" in doc:
        return "history", None
    return "run", doc


def _checker(
    path: str, timeout: float | None, max_states: int | None
) -> tuple[dict[str, Any] | None, str]:
    """The checker's verdict with each endpoint's linearisation, if ``dnsrace.history`` (the
    linearizability checker) is installed; else None and a note for the page."""
    try:
        history = importlib.import_module("dnsrace.history")
    except ImportError:
        return None, "no linearizability checker in this build (dnsrace.history): not checked"
    from dnsrace import errors

    invalid = getattr(errors, "InvalidHistory", None)
    try:
        result = history.check(path, timeout=timeout, max_states=max_states, linearizations=True)
    except Exception as exc:
        if invalid is not None and isinstance(exc, invalid):
            raise HistoryError(str(exc)) from None
        raise
    if not isinstance(result, dict):
        raise HistoryError(f"{path}: the checker returned {type(result).__name__}, not a result")
    return dict(result), ""


def main(args: argparse.Namespace) -> int:
    inputs.check_outputs([("-o", args.output)])
    try:
        kind, doc = _kind(args.input)
        if kind == "run":
            if args.check_result is not None:
                raise HistoryError("--check-result: only for a history")
            try:
                text = render_run(doc)
            except RunDocError as exc:
                raise HistoryError(f"{args.input}: {exc}") from None
        else:
            ops = read_history(args.input)
            note = ""
            result: dict[str, Any] | None
            if args.check_result is not None:
                result = check_result(
                    load_json(args.check_result), ops, f"--check-result {args.check_result}"
                )
            else:
                result, note = _checker(args.input, args.timeout, args.max_states)
                if result is not None:
                    result = check_result(result, ops, "checker result")
            text = render_history(ops, result, max_endpoints=int(args.max_endpoints), note=note)
    except HistoryError as exc:
        raise inputs.InputError(str(exc)) from None
    write_atomic(args.output, text.encode("utf-8"))
    return 0
