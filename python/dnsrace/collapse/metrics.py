"""The per-preset figures of a collapse run, each defined once here.

* ``recovered``: at the end of the run at least ``recover_fraction`` of the droplets hold a
  live lease in the store.
* ``time_to_recover_s``: from the dependency's return (the end of the last outage) to the first
  sample from which the leased fraction stays at or above ``recover_fraction`` to the end
  (0 if it never fell below after the return); None if not recovered.
* ``metastable``: ``metastable_after_s`` after the dependency's return the leased fraction was
  still below ``recover_fraction``: the collapse outlived its trigger (a run that recovered
  only through an operator's restart is metastable and recovered).
* ``leased_fraction_min`` / ``leased_fraction_end``: over the samples / at the horizon.
* ``goodput_per_s``: checks completed within their deadline per second, over the whole run.
* ``retries``: work items queued again after failing or missing the deadline.
* ``expired_work``: items whose deadline passed: finished late (result discarded) or dropped
  from the queue before service.
* ``queue_max``: the most items queued at once, summed over the managers.
* ``launch_blocked_droplet_s``: droplet-seconds without a live lease (such a droplet takes no
  new launch), summed over the sample intervals from each interval's starting sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dnsrace.collapse.managers import CollapseRun

__all__ = ["FIELDS", "recovery_time", "summary"]

FIELDS = (
    "recovered",
    "time_to_recover_s",
    "metastable",
    "leased_fraction_min",
    "leased_fraction_end",
    "goodput_per_s",
    "retries",
    "expired_work",
    "queue_max",
    "launch_blocked_droplet_s",
)


def recovery_time(run: CollapseRun) -> float | None:
    c = run.config
    back = c.dependency_back_s
    ok = run.leased >= c.recover_fraction
    if not ok[-1]:
        return None
    bad_after = np.flatnonzero(~ok & (run.times >= back))
    if not len(bad_after):
        return 0.0
    return float(run.times[bad_after[-1] + 1] - back)


def summary(run: CollapseRun) -> dict[str, Any]:
    c = run.config
    back = c.dependency_back_s
    took = recovery_time(run)
    observed_long_enough = run.times[-1] >= back + c.metastable_after_s
    metastable = observed_long_enough and (took is None or took > c.metastable_after_s)
    blocked = float(np.sum((1.0 - run.leased[:-1]) * np.diff(run.times)) * c.droplets)
    return {
        "recovered": took is not None,
        "time_to_recover_s": None if took is None else round(took, 3),
        "metastable": bool(metastable),
        "leased_fraction_min": round(float(run.leased.min()), 6),
        "leased_fraction_end": round(float(run.leased[-1]), 6),
        "goodput_per_s": round(run.successes / c.horizon_s, 3),
        "retries": run.retries,
        "expired_work": run.expired_work,
        "queue_max": run.queue_max,
        "launch_blocked_droplet_s": round(blocked, 1),
    }
