"""Pictures of the collapse (needs matplotlib: ``pip install 'dnsrace[plot]'``).

:func:`plot_runs`: leased fraction, queued work and goodput over time, one line per preset,
the dependency outage shaded and operator restarts marked. :func:`plot_phase_diagram`: per
preset, trigger length x offered load coloured by outcome (no harm, recovered, stuck).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dnsrace.app.plot import pyplot

__all__ = ["plot_phase_diagram", "plot_runs"]


def plot_runs(runs: Sequence[Any], path: str | Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    config = runs[0].config
    for ax in axes:
        for start, end in config.windows:
            ax.axvspan(start / 3600, end / 3600, color="#d62728", alpha=0.15, lw=0)
    for run in runs:
        hours = run.times / 3600
        (line,) = axes[0].plot(hours, run.leased, lw=1.4, label=run.recovery.name)
        axes[1].plot(hours, run.queued, lw=1.2, color=line.get_color())
        axes[2].plot(hours, run.goodput, lw=1.0, color=line.get_color())
        for t in run.restarts:
            axes[0].axvline(t / 3600, color=line.get_color(), ls=":", lw=1)
    axes[0].set_ylabel("droplets with a live lease")
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("queued work items\n(all managers)")
    axes[2].set_ylabel("goodput\n(checks in time / s)")
    axes[2].set_xlabel("simulated hours (red: dependency unavailable; dotted: restart)")
    axes[0].legend(loc="lower right", fontsize=8, ncol=3)
    axes[0].set_title(
        f"Lease managers after a dependency outage: {config.droplets:,} droplets, "
        f"{config.managers} managers"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_phase_diagram(results: Sequence[Any], path: str | Path) -> None:
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    codes = {"ok": 0, "recovered": 1, "stuck": 2}
    colours = ["#2ca02c", "#ffbf3f", "#d62728"]
    cols = min(3, len(results))
    rows = (len(results) + cols - 1) // cols
    # One column of legend entries under a single panel, three under a row of panels.
    legend_rows = 3 if cols == 1 else 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.6 * cols + 1.0, 3.8 * rows + 0.3 * legend_rows), squeeze=False
    )
    for ax in axes.flat[len(results) :]:
        ax.set_visible(False)
    for ax, res in zip(axes.flat, results, strict=False):
        grid = [[codes[o] for o in row] for row in res.outcomes]
        ax.imshow(grid, origin="lower", aspect="auto", cmap=ListedColormap(colours), vmin=0, vmax=2)
        ax.set_xticks(range(len(res.triggers)), [f"{t / 60:.0f}" for t in res.triggers])
        ax.set_yticks(range(len(res.loads)), [f"{x:.2f}" for x in res.loads])
        ax.set_xlabel("trigger: dependency outage (min)")
        ax.set_ylabel("offered load (utilisation)")
        ax.set_title(res.recovery)
    fig.legend(
        handles=[
            Patch(color=colours[0], label="stable: no harm"),
            Patch(color=colours[1], label="vulnerable: dipped, recovered by itself"),
            Patch(color=colours[2], label="metastable: stuck after the trigger"),
        ],
        loc="lower center",
        ncol=3 // legend_rows,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.05 * legend_rows / (rows if cols > 1 else 1) + 0.02, 1, 1))
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
