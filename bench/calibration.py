"""The calibration sweep of docs/guide/calibration.md: how the damage of ``aws2025`` moves with
each knob that sets its breadth, one knob at a time around the incident scenario.

``python -m bench.calibration [--seeds A-B] [--endpoints N] [--jobs J] [PAGE.md]``
(``make calibration``) runs every setting on every seed through the same seed-range code as
``dnsrace incident --seeds`` and writes the table into PAGE (default docs/guide/calibration.md)
between its ``<!-- calibration:begin -->`` and ``<!-- calibration:end -->`` markers, and the
JSON beside the other results (bench/results/calibration.json). Nothing in the table is typed
by hand; no knob is set here to reach a number.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from dnsrace.app.args import seed_range
from dnsrace.app.report import _round, dumps
from dnsrace.atomicfile import write_atomic
from dnsrace.sim.rates import run_seeds
from dnsrace.sim.scenario import Scenario, incident_scenario

BEGIN = "<!-- calibration:begin -->"
END = "<!-- calibration:end -->"
DEFAULT_PAGE = Path("docs/guide/calibration.md")
RESULTS = Path("bench/results/calibration.json")


def _enactors(s: Scenario, **changes: Any) -> Scenario:
    return s.replace(enactors=dataclasses.replace(s.enactors, **changes))


def _pauses(s: Scenario, **changes: Any) -> Scenario:
    pauses = dataclasses.replace(s.faults.pauses, **changes)
    return s.replace(faults=dataclasses.replace(s.faults, pauses=pauses))


def _kept(s: Scenario, kept: int) -> Scenario:
    return s.replace(disciplines=dataclasses.replace(s.disciplines, trees_kept=kept))


# (knob as the scenario names it, value shown, how to set it); the incident's own value first.
SETTINGS: list[tuple[str, str, Any]] = [
    ("(incident scenario)", "as is", lambda s: s),
    ("enactors.pass_s", "15", lambda s: _enactors(s, pass_s=15.0)),
    ("enactors.pass_s", "60", lambda s: _enactors(s, pass_s=60.0)),
    ("enactors.batches_per_pass", "5", lambda s: _enactors(s, batches_per_pass=5)),
    ("enactors.batches_per_pass", "80", lambda s: _enactors(s, batches_per_pass=80)),
    ("faults.pauses.median_s", "0.25", lambda s: _pauses(s, median_s=0.25)),
    ("faults.pauses.median_s", "4", lambda s: _pauses(s, median_s=4.0)),
    ("faults.pauses.rate_per_min", "0", lambda s: _pauses(s, rate_per_min=0.0)),
    ("trees_kept (clean-up age)", "1", lambda s: _kept(s, 1)),
    ("trees_kept (clean-up age)", "10", lambda s: _kept(s, 10)),
    ("trees_kept (clean-up age)", "30", lambda s: _kept(s, 30)),
]


def _cell(d: dict[str, Any], digits: int = 0) -> str:
    return " / ".join("-" if d[k] is None else f"{d[k]:,.{digits}f}" for k in ("median", "p90"))


def table(rows: list[dict[str, Any]], endpoints: int, seeds: tuple[int, int]) -> str:
    a, b = seeds
    lines = [
        f"`aws2025`, {endpoints:,} endpoints, seeds {a}-{b} (one simulated hour each), one knob "
        "changed at a time from the incident scenario. Medians and p90 over seeds; the "
        "interval is the 95 % Wilson interval.",
        "",
        "| knob | value | P(regional incident) / h | stuck endpoints (median / p90) | "
        "share of the fleet (median) | empty endpoint-s (median / p90) | time to repair s "
        "(median / p90) | stale flips (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = row["rates"]
        p = r["regional_incident_per_hour"]
        low, high = p["wilson95"]
        stuck = r["stuck_endpoints"]["median"] or 0.0
        lines.append(
            f"| `{row['knob']}` | {row['value']} | {p['p']:.2f} [{low:.2f}, {high:.2f}] | "
            f"{_cell(r['stuck_endpoints'])} | {stuck / endpoints:.0%} | "
            f"{_cell(r['empty_endpoint_seconds'])} | {_cell(r['time_to_repair_s'])} | "
            f"{r['stale_flips']['median']:,.0f} |"
        )
    return "\n".join(lines)


def splice(page: str, text: str) -> str:
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"dnsrace: error: no {BEGIN} ... {END} block in the page")
    return page[: start + len(BEGIN)] + "\n" + text + "\n" + page[end:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.calibration")
    p.add_argument("page", nargs="?", type=Path, default=DEFAULT_PAGE)
    p.add_argument("--seeds", type=seed_range, default=(1, 8))
    p.add_argument("--endpoints", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    a, b = args.seeds
    base = incident_scenario(endpoints=args.endpoints, presets=("aws2025",))
    rows = []
    for knob, value, change in SETTINGS:
        found = run_seeds(change(base), list(range(a, b + 1)), workers=args.jobs)
        rows.append({"knob": knob, "value": value, "rates": found["rates"]["aws2025"]})
        print(f"{knob} = {value}: done", file=sys.stderr)
    total = base.total_endpoints
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {"endpoints": total, "seeds": [a, b], "discipline": "aws2025", "rows": rows}
    write_atomic(RESULTS, dumps(_round(doc)))
    page = args.page.read_text()
    write_atomic(args.page, splice(page, table(rows, total, (a, b))).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
