"""Seeded fault schedules, one per enactor.

Each kind of fault draws from its own random stream (root seed, "faults", kind, enactor), so
turning one kind on or off never moves the others. Onsets fall in ``[0, duration)``; the drain
that follows is calm so that every discipline gets the chance to converge.

* contention: episodes during which the enactor's lease attempts fail with some probability,
  as when another writer keeps changing the lock record between the read and the
  compare-and-swap. Scope ``regional``: only the regional endpoint's lock is hot.
* pauses: GC-like stop-the-world pauses, Poisson in time, log-normal length capped at
  ``max_s``. A pause that fell due strikes at the enactor's next pause point; the one inside a
  batch sits between the check (and lease) and the write, where a pause does harm.
* crashes: the enactor task dies (leases stay until they expire) and restarts later with no
  memory.
* slow batches: a batch's write takes ``factor`` times longer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from dnsrace.sim.scenario import Scenario
from dnsrace.sim.seeds import substream

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

        c = f.contention
        self.contention_scope = c.scope
        self._contention_p = c.fail_probability
        self.contention: list[tuple[float, float]] = []
        if _applies(c.enactors, name):
            rng = substream(seed, "faults", "contention", name)
            fixed = substream(seed, "faults", "contention-at", name)
            episodes = [(t, fixed.uniform(*c.duration_s)) for t in c.at_s if t < end]
            episodes += _poisson(rng, c.rate_per_min, end, lambda: rng.uniform(*c.duration_s))
            self.contention = sorted((t, t + length) for t, length in episodes)
        self._contention_rng = substream(seed, "faults", "contention-draws", name)

        p = f.pauses
        self._pauses: list[tuple[float, float]] = []
        if _applies(p.enactors, name):
            rng = substream(seed, "faults", "pauses", name)
            mu = math.log(p.median_s)
            self._pauses = _poisson(
                rng, p.rate_per_min, end, lambda: min(p.max_s, rng.lognormvariate(mu, p.sigma))
            )
        self._next_pause = 0

        k = f.crashes
        self.crashes: list[Crash] = []
        if _applies(k.enactors, name):
            rng = substream(seed, "faults", "crashes", name)
            fixed = substream(seed, "faults", "crashes-at", name)
            crashes = [(t, fixed.uniform(*k.restart_s)) for t in k.at_s if t < end]
            crashes += _poisson(rng, k.rate_per_min, end, lambda: rng.uniform(*k.restart_s))
            self.crashes = [Crash(t, restart) for t, restart in sorted(crashes)]

        s = f.slow_batches
        self._slow_p = s.probability if _applies(s.enactors, name) else 0.0
        self._slow_factor = s.factor
        self._slow_rng = substream(seed, "faults", "slow", name)

    def lock_fails(self, now: float, touches_regional: bool) -> bool:
        """Whether this lease attempt is lost to injected contention."""
        if not self.contention or (self.contention_scope == "regional" and not touches_regional):
            return False
        for start, end in self.contention:
            if start <= now < end:
                return self._contention_rng.random() < self._contention_p
            if start > now:
                break
        return False

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

    def slow_factor(self) -> float:
        if self._slow_p and self._slow_rng.random() < self._slow_p:
            return self._slow_rng.uniform(*self._slow_factor)
        return 1.0
