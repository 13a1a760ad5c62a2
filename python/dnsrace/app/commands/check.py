"""``dnsrace check HISTORY``: the linearizability verdict; exit status 0 ok, 1 illegal,
3 unknown; bad input exits 2 with the line named and writes nothing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.args import UsageError
from dnsrace.app.doors import inputs
from dnsrace.app.doors.outputs import Outputs
from dnsrace.app.doors.text import safe_text

__all__ = ["EXIT_ILLEGAL", "EXIT_UNKNOWN", "register"]

EXIT_ILLEGAL = 1
EXIT_UNKNOWN = 3


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check a recorded history for linearizability (exit 0 ok, 1 illegal, 3 unknown)",
    )
    p.add_argument("history", metavar="HISTORY", help="a jsonl history (docs/guide/checker.md)")
    types.add_checker_bounds(p)
    p.add_argument("--json", metavar="PATH", help="write the result document here ('-': stdout)")
    p.add_argument(
        "--html",
        metavar="OUT",
        help="also draw the history and the verdict as one self-contained HTML page "
        "(as dnsrace view does; the linearisations are put in; '-': stdout)",
    )
    p.add_argument(
        "--linearizations",
        action="store_true",
        help="put each endpoint's linearisation in the JSON (small histories)",
    )
    p.set_defaults(handler=main, needs=("orjson",))


def main(args: argparse.Namespace) -> int:
    import orjson

    from dnsrace import history
    from dnsrace.errors import InvalidHistory

    outs = Outputs([args.history])
    json_out = outs.add("--json", args.json)
    html_out = outs.add("--html", args.html)
    data = inputs.read_file(args.history, "history")
    try:
        result = history.check(
            data,
            timeout=args.timeout,
            max_states=args.max_states,
            linearizations=args.linearizations or html_out is not None,
        )
        html = None
        if html_out is not None:
            from dnsrace.app.view import HistoryError, render_history

            try:
                html = render_history([dict(op) for op in history.read(data)], dict(result))
            except HistoryError as exc:
                raise UsageError(f"--html: {exc}") from None
    except InvalidHistory as exc:
        raise UsageError(f"{args.history}: {exc}") from None
    if not args.linearizations:
        result.pop("linearizations", None)  # asked for the page only
    document = orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n"
    out = sys.stderr if outs.stdout_taken else sys.stdout  # the document may own stdout
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
            f"{safe_text(str(illegal['reason']))}",
            file=out,
        )
    for v in result["domain_violations"]:
        print(
            f"  {safe_text(str(v['check']))} (endpoint {v['endpoint']}, ops {v['ops']}): "
            f"{safe_text(str(v['detail']))}",
            file=out,
        )
    if result["unknown_endpoints"]:
        shown = result["unknown_endpoints"][:10]
        reason = safe_text(str(result.get("unknown_reason", "")))
        print(f"  unknown for endpoints {shown}: {reason}", file=out)
    outs.stage(json_out, document)
    if html is not None:
        outs.stage(html_out, html.encode("utf-8"))
    outs.commit()
    return {"ok": 0, "illegal": EXIT_ILLEGAL}.get(result["verdict"], EXIT_UNKNOWN)
