"""``dnsrace modes``: the store's flip modes on one stale write race (dnsrace.app.modes)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dnsrace.app import args as types
from dnsrace.app.doors.outputs import Outputs

__all__ = ["register"]


def register(sub: Any) -> None:
    from dnsrace.sim.scenario import MAX_ENDPOINTS

    p = sub.add_parser(
        "modes", help="the store's flip modes on one stale write race (lww, if_newer, ...)"
    )
    p.add_argument(
        "--endpoints",
        type=types.bounded_int(1, MAX_ENDPOINTS),
        default=500_000,
        help="endpoints in the race (500000)",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="the rows as JSON ('-': stdout)")
    p.add_argument("--no-reference", action="store_true", help="skip the Python store")
    p.set_defaults(handler=main, needs=("rich", "orjson"))


def main(args: argparse.Namespace) -> int:
    import orjson

    from dnsrace.app.modes import compare, print_table

    outs = Outputs()
    out = outs.add("--json", args.json)
    rows = compare(int(args.endpoints), with_reference=not args.no_reference)
    print_table(rows, sys.stderr if out is not None and out.to_stdout else sys.stdout)
    outs.write(out, orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    return 0
