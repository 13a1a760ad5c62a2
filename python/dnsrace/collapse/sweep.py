"""The phase diagram: trigger length x offered load, recovered or stuck, per discipline.

Every cell is one full run of :func:`~dnsrace.collapse.managers.simulate`. A cell's outcome:

* ``ok``: the leased fraction never fell below ``recover_fraction`` (the trigger did no harm);
* ``recovered``: it fell, and was back within ``metastable_after_s`` of the dependency's
  return (before any alarm restart could fire, which waits longer);
* ``stuck``: still below ``recover_fraction`` ``metastable_after_s`` after the return
  (metastable; the restart presets recover later through the restart).

Along a row (one offered load) the stable region is where every trigger length ends ``ok`` or
``recovered``; the vulnerable region is a row that recovers from short triggers and gets stuck
after long ones; the metastable cells are the stuck ones.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dnsrace.collapse.config import CollapseConfig, Recovery
from dnsrace.collapse.managers import simulate
from dnsrace.collapse.metrics import summary

__all__ = ["DEFAULT_LOADS", "DEFAULT_TRIGGERS", "SweepResult", "cell_outcome", "sweep"]

DEFAULT_TRIGGERS = tuple(float(t) for t in range(0, 1801, 200))
DEFAULT_LOADS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)


@dataclass
class SweepResult:
    recovery: str
    triggers: tuple[float, ...]
    loads: tuple[float, ...]
    outcomes: list[list[str]]
    """``outcomes[i][j]``: load ``loads[i]``, trigger ``triggers[j]``."""


def cell_outcome(fig: dict[str, Any], recover_fraction: float) -> str:
    # Judged on the leased fraction alone: a scheduled restart that fires after the fleet
    # recovered by itself does not make the cell stuck, and an alarm restart fires only after
    # the fleet stayed down past the metastability wait.
    if fig["metastable"] or not fig["recovered"]:
        return "stuck"
    return "ok" if fig["leased_fraction_min"] >= recover_fraction else "recovered"


def _cell(config: CollapseConfig, recovery: Recovery) -> str:
    run = simulate(config, recovery)
    return cell_outcome(summary(run), config.recover_fraction)


def sweep(
    config: CollapseConfig,
    recoveries: Sequence[Recovery],
    triggers: Sequence[float] = DEFAULT_TRIGGERS,
    loads: Sequence[float] = DEFAULT_LOADS,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[SweepResult]:
    """Every (preset, load, trigger) cell; the horizon covers the longest trigger and the
    metastability wait, so every cell is judged over the same span."""
    horizon = config.trigger_at_s + max(triggers) + config.metastable_after_s + 1800.0
    cells = [
        (r, i, j, config.replace(utilisation=load, trigger_s=trig, horizon_s=horizon, outages=None))
        for r in recoveries
        for i, load in enumerate(loads)
        for j, trig in enumerate(triggers)
    ]
    grids = {r.name: [[""] * len(triggers) for _ in loads] for r in recoveries}
    done = 0
    if jobs <= 1:
        for r, i, j, c in cells:
            grids[r.name][i][j] = _cell(c, r)
            done += 1
            if progress is not None:
                progress(done)
    else:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_cell, c, r): (r.name, i, j) for r, i, j, c in cells}
            for f in concurrent.futures.as_completed(futures):
                name, i, j = futures[f]
                grids[name][i][j] = f.result()
                done += 1
                if progress is not None:
                    progress(done)
    return [SweepResult(r.name, tuple(triggers), tuple(loads), grids[r.name]) for r in recoveries]
