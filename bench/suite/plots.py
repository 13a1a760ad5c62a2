"""The report's PNGs (matplotlib, Agg). Each figure is drawn from the results document only;
a section that did not run leaves its figure out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.suite.peers.base import MODES
from bench.suite.peers.registry import PEERS


def _figure(*grid: int, **options: Any) -> tuple[Any, Any, Any]:
    """pyplot (Agg), and a new figure with its axes (``plt.subplots``' arguments)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*grid, **options)
    return plt, fig, axes


def _label(ax: Any, x: str, y: str, title: str | None = None, **grid: Any) -> None:
    """The axis labels, the title and the light grid every figure has."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3, **grid)


def _save(plt: Any, fig: Any, path: Path) -> bool:
    """Write the figure at the report's resolution and free it; True: a figure was drawn."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def throughput(doc: dict[str, Any], path: Path) -> bool:
    rows = [r for r in doc.get("peers", []) if r["status"] == "ok"]
    if not rows:
        return False
    plt, fig, ax = _figure(figsize=(7, 4.5))
    for peer in PEERS:
        pts = sorted((r["n"], r["batch_rate"]["if_newer"]) for r in rows if r["peer"] == peer)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=peer)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _label(
        ax,
        "endpoints",
        "batch CAS flip, endpoints/s",
        "Generation-CAS batch flip throughput",
        which="both",
    )
    ax.legend()
    return _save(plt, fig, path)


def cas_overhead(doc: dict[str, Any], path: Path) -> bool:
    n = doc["settings"]["cas_size"]
    rows = [r for r in doc.get("peers", []) if r["status"] == "ok" and r["profile"] and r["n"] == n]
    if not rows:
        return False
    plt, fig, axes = _figure(1, 2, figsize=(10, 4.2), sharey=True)
    width = 0.8 / len(rows)
    for ax, key, title in (
        (axes[0], "batch_over_lww", "batch calls"),
        (axes[1], "single_over_lww", "single calls"),
    ):
        for k, r in enumerate(rows):
            xs = [j + k * width for j in range(len(MODES) - 1)]
            ax.bar(xs, [r[key][m] for m in MODES[1:]], width, label=r["peer"])
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks([j + width * (len(rows) - 1) / 2 for j in range(len(MODES) - 1)])
        ax.set_xticklabels(MODES[1:])
        ax.set_title(f"{title}, {n:,} endpoints")
    axes[0].set_ylabel("time over lww (same store, same round)")
    axes[1].legend(fontsize=8)
    return _save(plt, fig, path)


def contention(doc: dict[str, Any], path: Path) -> bool:
    rows = doc.get("contention", [])
    if not rows:
        return False
    plt, fig, axes = _figure(1, 2, figsize=(10, 4.2))
    for ax, kind in zip(axes, ("batch", "single"), strict=True):
        for mode in ("lww", "if_newer"):
            for sets, style in (("disjoint", "-"), ("overlapping", "--")):
                pts = sorted(
                    (r["threads"], r["flips_per_s"])
                    for r in rows
                    if r["kind"] == kind and r["mode"] == mode and r["sets"] == sets
                )
                if pts:
                    ax.plot(*zip(*pts, strict=True), style, marker="o", label=f"{mode}, {sets}")
        ax.set_xscale("log", base=2)
        counts = sorted({r["threads"] for r in rows})
        ax.set_xticks(counts)
        ax.set_xticklabels([str(c) for c in counts])
        _label(
            ax,
            "threads",
            "endpoint flips attempted per second (all threads)",
            f"RecordStore, {kind} calls",
        )
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def sim_cost(doc: dict[str, Any], path: Path) -> bool:
    sim = doc.get("sim")
    if not sim:
        return False
    plt, fig, ax = _figure(figsize=(7, 4.5))
    for preset, exp in sim["timing"]["exponent"].items():
        pts = sorted(
            (r["endpoints"], r["timing"]["wall_s"]) for r in sim["rows"] if r["preset"] == preset
        )
        label = preset if exp is None else f"{preset} (exponent {exp:.2f})"
        ax.plot(*zip(*pts, strict=True), marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _label(
        ax,
        "endpoints",
        "wall s, incident replay (virtual clock)",
        "Simulation cost vs fleet size",
        which="both",
    )
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def violations(doc: dict[str, Any], path: Path) -> bool:
    rows = doc.get("violations", [])
    if not rows:
        return False
    axes_names = list(dict.fromkeys(r["axis"] for r in rows))
    plt, fig, axes = _figure(1, len(axes_names), figsize=(5 * len(axes_names), 4.2), squeeze=False)
    labels = {"pause": "pause median / lease TTL", "enactors": "enactors", "rate": "plans/min"}
    for ax, axis in zip(axes[0], axes_names, strict=True):
        for preset in dict.fromkeys(r["preset"] for r in rows):
            pts = sorted(
                (r["value"], r["share"])
                for r in rows
                if r["axis"] == axis and r["preset"] == preset
            )
            ax.plot(*zip(*pts, strict=True), marker="o", label=preset)
        ax.set_xscale("log")
        values = sorted({r["value"] for r in rows if r["axis"] == axis})
        ax.set_xticks(values)
        ax.set_xticklabels([f"{v:g}" for v in values])
        ax.minorticks_off()
        ax.set_ylim(-0.05, 1.05)
        _label(ax, labels.get(axis, axis), "share of runs violating")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Violating runs per preset (schedule exploration)")
    return _save(plt, fig, path)


def draw_all(doc: dict[str, Any], out: Path) -> list[str]:
    drawn = []
    for name, fn in (
        ("throughput.png", throughput),
        ("cas_overhead.png", cas_overhead),
        ("contention.png", contention),
        ("sim_cost.png", sim_cost),
        ("violations.png", violations),
    ):
        path = out / name
        if fn(doc, path):
            drawn.append(name)
        elif path.exists():
            path.unlink()  # a figure of an earlier run must not pass for this one's
    return drawn


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.suite.plots DIR``: draw the figures again from ``DIR/suite.json``."""
    import sys

    import orjson

    out = Path((sys.argv[1:] if argv is None else argv or ["bench/results"])[0])
    doc = orjson.loads((out / "suite.json").read_bytes())
    print(", ".join(draw_all(doc, out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
