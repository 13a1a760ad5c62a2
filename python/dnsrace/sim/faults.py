"""Seeded fault schedules and latencies, one set per enactor.

Every fault is a rate or a distribution that applies to every enactor unless the scenario
names some. Each kind draws from its own random stream (root seed, "faults", kind, enactor),
so turning one kind on or off never moves the others. Onsets fall in ``[0, duration)``; the
drain that follows is calm so that every discipline gets the chance to converge. Lock
contention is not a fault here: it is what happens when enactors really hold the locks.

* latency: every store round trip takes a log-normal time (median ``call_latency_s``) times the
  enactor's own slowness factor (``slow_enactors``, drawn once per enactor).
* pauses: GC-like stop-the-world pauses, Poisson in time, log-normal length capped at
  ``max_s``. A pause that fell due strikes at the enactor's next step, whatever it holds.
* crashes: the enactor task dies (leases stay until they expire) and restarts later with no
  memory.
* slow batches: a batch's write takes ``factor`` times longer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from dnsrace.seeds import substream
from dnsrace.sim.scenario import Scenario

__all__ = ["EnactorFaults"]


def _poisson(
    rng: random.Random, rate_per_min: float, end: float, mark: Callable[[], float]
) -> list[tuple[float, float]]:
    """Poisson onsets in ``[0, end)``, each with a mark (a length) drawn right after it.

    Drawing onset and mark in turn keeps schedules prefix-stable: a longer run only appends.
    """
    events: list[tuple[float, float]] = []
    if rate_per_min <= 0:
        return events
    t = rng.expovariate(rate_per_min / 60.0)
    while t < end:
        events.append((t, mark()))
        t += rng.expovariate(rate_per_min / 60.0)
    return events


def _applies(enactors: tuple[str, ...], name: str) -> bool:
    return not enactors or name in enactors


@dataclass(frozen=True)
class Crash:
    at: float
    restart_after: float


class EnactorFaults:
    """The faults one enactor meets in a run."""

    def __init__(self, scenario: Scenario, name: str) -> None:
        f = scenario.faults
        seed, end = scenario.seed, scenario.duration_s
        self.seed_free = True
        """No stream drawn from or kept: the same faults for every seed of the scenario."""

        e = scenario.enactors
        self._latency_median = e.call_latency_s
        self._latency_sigma = e.call_latency_sigma
        # Streams of faults that are switched off are never drawn from: not even created.
        # (A zero median never draws: every round trip takes no time.)
        self._latency_rng = (
            substream(seed, "faults", "latency", name)
            if e.call_latency_sigma > 0 and e.call_latency_s > 0
            else None
        )
        slow = f.slow_enactors
        self.slowness = 1.0
        if slow.sigma > 0 and _applies(slow.enactors, name):
            self.seed_free = False
            self.slowness = substream(seed, "faults", "slow-enactor", name).lognormvariate(
                0.0, slow.sigma
            )

        p = f.pauses
        self._pauses: list[tuple[float, float]] = []
        if p.rate_per_min > 0 and _applies(p.enactors, name):
            self.seed_free = False
            rng = substream(seed, "faults", "pauses", name)
            mu = math.log(p.median_s)
            self._pauses = _poisson(
                rng, p.rate_per_min, end, lambda: min(p.max_s, rng.lognormvariate(mu, p.sigma))
            )
        self._next_pause = 0

        k = f.crashes
        self.crashes: list[Crash] = []
        if (k.rate_per_min > 0 or k.at_s) and _applies(k.enactors, name):
            self.seed_free = False
            rng = substream(seed, "faults", "crashes", name)
            fixed = substream(seed, "faults", "crashes-at", name)
            crashes = [(t, fixed.uniform(*k.restart_s)) for t in k.at_s if t < end]
            crashes += _poisson(rng, k.rate_per_min, end, lambda: rng.uniform(*k.restart_s))
            self.crashes = [Crash(t, restart) for t, restart in sorted(crashes)]

        s = f.slow_batches
        self._slow_p = s.probability if _applies(s.enactors, name) else 0.0
        self._slow_factor = s.factor
        self._slow_rng = substream(seed, "faults", "slow", name) if self._slow_p else None
        if self._latency_rng is not None or self._slow_rng is not None:
            self.seed_free = False

    @property
    def pauses(self) -> list[tuple[float, float]]:
        """The pause schedule: (onset, length) pairs (what a process runner turns into
        ``SIGSTOP``/``SIGCONT``)."""
        return list(self._pauses)

    @property
    def fixed_latency(self) -> float | None:
        """What every :meth:`call_latency` returns when it draws nothing (None: it draws)."""
        median = self._latency_median * self.slowness
        if median <= 0:
            return 0.0
        return median if self._latency_rng is None else None

    def call_latency(self) -> float:
        """Seconds one store round trip takes."""
        median = self._latency_median * self.slowness
        if median <= 0:
            return 0.0
        if self._latency_rng is None:
            return median
        return median * self._latency_rng.lognormvariate(0.0, self._latency_sigma)

    def pause_due(self, now: float) -> float:
        """Length of the pause striking now (0 if none fell due since the last call).

        Pauses that fell due while the enactor was waiting anyway overlapped that wait; only
        the longest of them is felt here, so no pause ever exceeds ``max_s``.
        """
        longest = 0.0
        pauses = self._pauses
        while self._next_pause < len(pauses) and pauses[self._next_pause][0] <= now:
            longest = max(longest, pauses[self._next_pause][1])
            self._next_pause += 1
        return longest

    @property
    def fixed_slowness(self) -> float | None:
        """What every :meth:`slow_factor` returns when it draws nothing (None: it draws)."""
        return self.slowness if self._slow_rng is None else None

    def slow_factor(self) -> float:
        """How many times slower this batch's write is (1.0 mostly)."""
        factor = self.slowness
        if self._slow_rng is not None and self._slow_rng.random() < self._slow_p:
            factor *= self._slow_rng.uniform(*self._slow_factor)
        return factor
