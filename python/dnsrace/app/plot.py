"""Timeline picture of the regional endpoint (needs matplotlib: ``pip install 'dnsrace[plot]'``).

One panel per discipline, drawn as a sequence diagram: the planner's lane on top, one lane per
enactor, the operator at the bottom. Every flip of the regional endpoint is an arrow from the
plan's publication (planner lane) to the moment the enactor flipped it (its lane), so the tilt
is the lag; stale flips are red, repairs green. Spans where the endpoint answered nothing are
shaded red, and hatched where it was stuck as well. The time axis is centred on the first
incident of the first panel that has one (else its first stale flip, else the start).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnsrace.sim.runner import RunResult
from dnsrace.sim.timeline import RegionalTimeline

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

__all__ = ["PlotError", "choose_window", "plot_timeline", "pyplot"]

_STYLE = {
    # outcome: (colour, line width, line style, z-order)
    "advanced": ("#4c72b0", 1.0, "-", 2),
    "same": ("#b0b0b0", 0.8, "-", 1),
    "stale": ("#d62728", 2.4, "-", 4),
    "refused": ("#ff7f0e", 1.0, "--", 2),
    "fenced": ("#ff7f0e", 1.4, ":", 3),
    "missing": ("#9467bd", 1.2, "--", 3),
    "stuck": ("#e377c2", 1.0, ":", 3),
    "repair": ("#2ca02c", 2.4, "-", 4),
}
_LABEL = {
    "advanced": "flip to newer plan",
    "same": "same plan again",
    "stale": "STALE flip (older plan)",
    "refused": "refused by generation check",
    "fenced": "refused by fence",
    "missing": "tree already deleted",
    "stuck": "not updated: alias dangles",
    "repair": "operator repair",
}


class PlotError(RuntimeError):
    """The plot cannot be drawn (matplotlib missing)."""


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files, no display), or :class:`PlotError`
    naming the extra to install: the one place every plotting command gets it from."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotError(
            f"--plot needs matplotlib ({exc}); install it with: pip install 'dnsrace[plot]'"
        ) from None
    return plt


def choose_window(results: Sequence[RunResult]) -> tuple[float, float]:
    """The time span to draw: around the first stuck window, else the first stale flip."""
    ordered = sorted(results, key=lambda r: r.discipline.name != "aws2025")
    for r in ordered:
        tl = r.timeline
        if tl.stuck:
            w = tl.stuck[0]
            stale = [f.t for f in tl.flips if f.outcome == "stale" and f.t <= w.start]
            start = (stale[-1] if stale else w.start) - 90.0
            end = (w.end if w.end is not None else tl.end) + 45.0
            return max(0.0, start), min(tl.end, end)
    for r in ordered:
        stale = [f.t for f in r.timeline.flips if f.outcome == "stale"]
        if stale:
            return max(0.0, stale[0] - 90.0), min(r.timeline.end, stale[0] + 90.0)
    end = max(r.timeline.end for r in results) if results else 1.0
    return 0.0, min(end, 240.0)


def _panel(
    ax: Axes, tl: RegionalTimeline, lanes: list[str], span: tuple[float, float], title: str
) -> set[str]:
    """Draw one discipline; return the outcomes that appear (for the legend)."""
    lo, hi = span
    y = {name: i for i, name in enumerate(lanes)}
    for w in tl.empty:
        end = w.end if w.end is not None else tl.end
        ax.axvspan(w.start, end, color="#d62728", alpha=0.12, lw=0)
    for w in tl.stuck:
        end = w.end if w.end is not None else tl.end
        ax.axvspan(
            w.start,
            end,
            facecolor="none",
            edgecolor="#d62728",
            hatch="//",
            alpha=0.35,
            lw=0,
        )
    pubs = [(g, t) for g, t in tl.publications.items() if lo <= t <= hi]
    ax.plot([t for _, t in pubs], [0] * len(pubs), "|", color="#555555", ms=7)
    seen: set[str] = set()
    for f in tl.flips:
        if not lo <= f.t <= hi:
            continue
        lane = y.get(f.actor)
        if lane is None:
            continue
        colour, width, style, z = _STYLE.get(f.outcome, _STYLE["same"])
        start = (f.t, y["operator"] - 0.35) if f.outcome == "repair" else (f.published_at, 0)
        ax.annotate(
            "",
            xy=(f.t, lane),
            xytext=start,
            zorder=z,
            arrowprops={
                "arrowstyle": "-|>",
                "color": colour,
                "lw": width,
                "ls": style,
                "shrinkA": 0,
                "shrinkB": 1,
                "mutation_scale": 9,
            },
        )
        if f.outcome == "stuck":
            ax.plot([f.t], [lane], "x", color=colour, ms=6, mew=1.6, zorder=z)
        if f.outcome in ("stale", "repair", "advanced", "missing"):
            ax.text(
                f.t,
                lane + 0.28,
                str(f.generation),
                ha="center",
                va="top",
                fontsize=7,
                color=colour,
                zorder=5,
            )
        seen.add(f.outcome)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.4, -0.6)
    ax.set_xlim(lo, hi)
    ax.set_title(title, loc="left", fontsize=9)
    ax.grid(axis="x", color="#eeeeee")
    return seen


def plot_timeline(results: Sequence[RunResult], path: str | Path) -> None:
    """Draw the regional endpoint's timeline of every run to a PNG at ``path``."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not results:
        raise PlotError("nothing to plot")
    span = choose_window(results)
    lanes = ["planner", *results[0].enactor_names, "operator"]
    panel_h = 0.42 * len(lanes) + 0.9
    head_h = 0.9  # inches for the title and the legend
    fig_h = panel_h * len(results) + head_h + 0.5
    fig, axes = plt.subplots(len(results), 1, figsize=(13, fig_h), sharex=True, squeeze=False)
    outcomes: set[str] = set()
    for ax, r in zip(axes[:, 0], results, strict=True):
        m = r.metrics
        title = (
            f"{r.discipline.name}  (guard {r.discipline.guard}, lock {r.discipline.lock}, "
            f"clean-up {r.discipline.cleanup}):  stale flips {m['stale_flips']:,}, "
            f"regional empty {m['regional']['empty_seconds']:.0f} s"
        )
        outcomes |= _panel(ax, r.timeline, lanes, span, title)
    axes[-1, 0].set_xlabel(f"time (s, {results[0].scenario.clock} clock)")
    handles: list[Artist] = [
        Line2D([], [], color=_STYLE[o][0], lw=_STYLE[o][1], ls=_STYLE[o][2], label=_LABEL[o])
        for o in _STYLE
        if o in outcomes
    ]
    handles.append(Patch(facecolor="#d62728", alpha=0.12, label="regional endpoint empty"))
    handles.append(
        Patch(facecolor="none", edgecolor="#d62728", hatch="//", alpha=0.5, label="stuck")
    )
    handles.append(Line2D([], [], color="#555555", marker="|", ls="", label="plan published"))
    top = 1 - head_h / fig_h
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, top),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    name = results[0].timeline.name
    fig.suptitle(
        f"{name}: which plan each enactor flipped it to, and when (arrow: publication -> flip)",
        y=1 - 0.15 / fig_h,
        va="top",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(path, dpi=110)
    plt.close(fig)
