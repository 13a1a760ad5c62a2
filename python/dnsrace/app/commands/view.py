"""``dnsrace view RUN.json|HISTORY -o OUT.html [--check-result PATH]``: one self-contained,
interactive HTML page ('-o -': standard output)."""

from __future__ import annotations

import argparse
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.doors import inputs
from dnsrace.app.doors.outputs import Outputs

__all__ = ["register"]


def register(sub: Any) -> None:
    from dnsrace.app.view.history import MAX_ENDPOINTS

    p = sub.add_parser(
        "view",
        help="an interactive HTML timeline of a run's JSON or of a history (one file, offline)",
    )
    p.add_argument("input", metavar="RUN.json|HISTORY")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html", help="'-': stdout")
    p.add_argument(
        "--check-result",
        metavar="PATH",
        help="a history's saved checker result (JSON) instead of checking it now",
    )
    types.add_checker_bounds(p, what="history: ")
    p.add_argument(
        "--max-endpoints",
        type=types.bounded_int(1, 10_000),
        default=MAX_ENDPOINTS,
        help=f"history: endpoints drawn, failing ones first ({MAX_ENDPOINTS})",
    )
    p.set_defaults(handler=main, needs=("orjson",))


def _is_history(path: str, data: bytes) -> bool:
    """A history (one operation per line) rather than a run document, from name and content."""
    if path.endswith(".jsonl"):
        return True
    first = data[: 1 << 16].split(b"\n", 1)[0].strip()
    return first.startswith(b"{") and first.endswith(b"}") and b'"op"' in first


def _checker(data: bytes, timeout: float | None, max_states: int | None) -> dict[str, Any]:
    """The checker's verdict with each endpoint's linearisation."""
    import importlib

    from dnsrace.app.view.history import HistoryError
    from dnsrace.errors import InvalidHistory

    history = importlib.import_module("dnsrace.history")

    try:
        return dict(
            history.check(data, timeout=timeout, max_states=max_states, linearizations=True)
        )
    except InvalidHistory as exc:
        raise HistoryError(str(exc)) from None


def main(args: argparse.Namespace) -> int:
    from dnsrace.app.view.history import HistoryError
    from dnsrace.app.view.run import RunDocError, render_run

    outs = Outputs([args.input, args.check_result])
    out = outs.add("-o", args.output)
    assert out is not None
    data = inputs.read_file(args.input, "history")
    try:
        if not _is_history(args.input, data):
            if args.check_result is not None:
                raise HistoryError("--check-result: only for a history")
            doc = inputs.parse_json(data, args.input, "run")
            if isinstance(doc, dict) and "op" in doc and "client" in doc:
                # A one-operation history without the .jsonl name.
                return _history(args, data, outs, out)
            try:
                text = render_run(doc)
            except RunDocError as exc:
                raise HistoryError(f"{args.input}: {exc}") from None
        else:
            return _history(args, data, outs, out)
    except HistoryError as exc:
        raise inputs.InputError(str(exc)) from None
    outs.write(out, text.encode("utf-8"))
    return 0


def _history(args: argparse.Namespace, data: bytes, outs: Outputs, out: Any) -> int:
    from dnsrace.app.view.history import HistoryError, check_result, read_history, render_history

    try:
        ops = read_history(args.input, data)
        result: dict[str, Any] | None
        if args.check_result is not None:
            where = f"--check-result {args.check_result}"
            saved = inputs.load_json(args.check_result, "check result", where)
            result = check_result(saved, ops, where)
        else:
            result = check_result(
                _checker(data, args.timeout, args.max_states), ops, "checker result"
            )
        text = render_history(ops, result, max_endpoints=int(args.max_endpoints))
    except HistoryError as exc:
        raise inputs.InputError(str(exc)) from None
    outs.write(out, text.encode("utf-8"))
    return 0
