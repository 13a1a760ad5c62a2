"""``dnsrace run SCENARIO``: every discipline of a scenario file (with a ``[collapse]``
section: phase 2 after each)."""

from __future__ import annotations

import argparse
from typing import Any

from dnsrace.app.commands import simulation

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run a scenario file (with a [collapse] section: phase 2)")
    p.add_argument("scenario", metavar="SCENARIO.toml", help="a scenario (TOML, or JSON by suffix)")
    simulation.add_common(p)
    simulation.add_set(p)
    p.add_argument(
        "--snapshot",
        metavar="PATH",
        help="save each discipline's final store here (RecordStore.restore reads it back); "
        "with several disciplines: PATH's stem + '.DISCIPLINE' + its suffix",
    )
    p.set_defaults(handler=main, needs=("rich", "orjson", "pydantic"))


def main(args: argparse.Namespace) -> int:
    return simulation.execute(args)
