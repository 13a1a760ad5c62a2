"""``dnsrace schema scenario|collapse``: the JSON Schema of a configuration file, for an
editor to validate scenario files against."""

from __future__ import annotations

import argparse
from typing import Any

from dnsrace.app.doors.outputs import Outputs

__all__ = ["KINDS", "register"]

KINDS = ("scenario", "collapse")


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of a scenario or collapse file")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("-o", "--output", default="-", metavar="PATH", help="'-': stdout (default)")
    p.set_defaults(handler=main, needs=("orjson",))


def main(args: argparse.Namespace) -> int:
    import orjson

    outs = Outputs()
    out = outs.add("-o", args.output)
    from dnsrace.config import json_schema

    schema = json_schema(args.kind)
    outs.write(out, orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return 0
