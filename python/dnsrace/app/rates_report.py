"""The seed range's outputs (``--seeds A-B``): its JSON document, its table and its plot.

The numbers come from :func:`dnsrace.sim.rates.run_seeds`; this module only lays them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from dnsrace.app.doors.text import markup
from dnsrace.app.report import SCHEMA_VERSION, _num, _round
from dnsrace.sim.scenario import Scenario

__all__ = ["plot_rates", "rates_document", "render_rates_table"]


def rates_document(
    scenario: Scenario, seeds: tuple[int, int], store: str, found: dict[str, Any]
) -> dict[str, Any]:
    """The JSON document (docs/reference/json.md, "Seed ranges"): byte-identical for the same
    scenario, seeds and store, however many processes ran it."""
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "kind": "rates",
        "scenario": scenario.name,
        "seeds": list(seeds),
        "clock": scenario.clock,
        "store": store,
        "endpoints": scenario.total_endpoints,
        "enactors": scenario.enactors.count,
        "duration_s": scenario.duration_s,
        "alarm": scenario.operator.alarm,
        "disciplines": {d.name: d.knobs() for d in scenario.discipline_list()},
        "rates": found["rates"],
        "per_seed": found["per_seed"],
    }
    rounded: dict[str, Any] = _round(doc)
    return rounded


def _spread(d: dict[str, Any], digits: int = 0) -> str:
    return " / ".join(_num(d[k], digits) for k in ("median", "p90", "max"))


def _probability(r: dict[str, Any]) -> str:
    p = r["regional_incident_per_hour"]
    low, high = p["wilson95"]
    return f"{p['p']:.2f} [{low:.2f}, {high:.2f}]"


_ROWS: list[tuple[str, Any]] = [
    ("regional incident / h [95% Wilson]", _probability),
    ("runs with a regional incident", lambda r: f"{r['runs_with_regional_incident']}/{r['seeds']}"),
    ("stuck endpoints (med / p90 / max)", lambda r: _spread(r["stuck_endpoints"])),
    ("empty endpoint-s (med / p90 / max)", lambda r: _spread(r["empty_endpoint_seconds"])),
    ("time to detect s (med / p90 / max)", lambda r: _spread(r["time_to_detect_s"])),
    ("time to repair s (med / p90 / max)", lambda r: _spread(r["time_to_repair_s"])),
    ("stale flips (med / p90 / max)", lambda r: _spread(r["stale_flips"])),
    ("runs ending with stuck endpoints", lambda r: str(r["runs_with_stuck_at_end"])),
    ("... of them unseen by any alarm", lambda r: str(r["runs_with_unseen_stuck"])),
]


def render_rates_table(doc: dict[str, Any]) -> Table:
    """One column per discipline, one row per rate."""
    a, b = doc["seeds"]
    caption = (
        f"scenario {markup(doc['scenario'])}, seeds {a}-{b}, {doc['endpoints']:,} endpoints, "
        f"{doc['duration_s']:g} s per run, alarm on {doc['alarm']}"
    )
    table = Table(caption=caption, caption_justify="left")
    table.add_column("rate over seeds", style="bold")
    for name in doc["rates"]:
        table.add_column(markup(name).replace("+", "\n+"), justify="right", no_wrap=True)
    for label, cell in _ROWS:
        table.add_row(label, *(cell(r) for r in doc["rates"].values()))
    return table


def plot_rates(doc: dict[str, Any], path: str | Path) -> None:
    """Two panels: the regional incident probability per hour with its Wilson interval, and
    each seed's stuck endpoints (a dot per seed, the median as a bar), per discipline."""
    from dnsrace.app.plot import pyplot

    plt = pyplot()
    names = list(doc["rates"])
    xs = list(range(len(names)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 1.3 * len(names) + 2), 7))
    for x, name in zip(xs, names, strict=True):
        r = doc["rates"][name]["regional_incident_per_hour"]
        low, high = r["wilson95"]
        top.errorbar([x], [r["p"]], yerr=[[r["p"] - low], [high - r["p"]]], fmt="o", capsize=6)
        stuck = [s["stuck_endpoints"] for s in doc["per_seed"][name]]
        bottom.scatter([x] * len(stuck), stuck, s=12, alpha=0.6)
        median = doc["rates"][name]["stuck_endpoints"]["median"]
        bottom.hlines([median], x - 0.3, x + 0.3, colors="black")
    a, b = doc["seeds"]
    top.set_ylim(-0.03, 1.03)
    top.set_ylabel("P(regional incident) per hour")
    top.set_title(
        f"{doc['scenario']}: seeds {a}-{b}, {doc['endpoints']:,} endpoints (95 % Wilson intervals)",
        fontsize=10,
    )
    bottom.set_ylabel("endpoints stuck per run")
    bottom.set_yscale("symlog")
    for ax in (top, bottom):
        ax.set_xticks(xs, [n.replace("+", "\n+") for n in names], fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
