"""``dnsrace incident``: the October 2025 replay across write disciplines."""

from __future__ import annotations

import argparse
from typing import Any

from dnsrace.app.commands import collapse, simulation

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("incident", help="replay the 2025 incident across write disciplines")
    simulation.add_incident_sizes(p)
    simulation.add_common(p)
    p.add_argument(
        "--alarm",
        choices=["probes", "regional"],
        help="what the operator's alarm watches: every endpoint the clients probe (default) "
        "or the regional endpoint only, as in the public account",
    )
    p.add_argument(
        "--then",
        choices=["collapse"],
        help="feed each discipline's regional empty windows to the lease managers (phase 2)",
    )
    collapse.add_collapse_options(p)
    p.set_defaults(handler=main, needs=("rich", "orjson", "pydantic"))


def main(args: argparse.Namespace) -> int:
    return simulation.execute(args)
