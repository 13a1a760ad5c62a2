"""Schedules: which ready task runs next at a scheduling point (virtual clock only).

Every store call an enactor makes is preceded by a scheduling point (an ``await``). On the
virtual clock, several tasks are often ready at the same instant; a schedule decides their
order, one task step at a time:

* ``clock``: asyncio's own order (first scheduled, first run). The default, and what the
  incident replay uses, so its JSON stays comparable from one version to the next.
* ``random``: at every step, a ready task drawn uniformly from the seed.
* ``pct``: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
  ASPLOS 2010). Each task gets a random priority when first seen; the highest-priority
  ready task always runs; at ``depth - 1`` steps drawn uniformly from ``[1, horizon]`` the
  running task's priority drops below every initial one. A bug of depth ``d`` is found by
  one run with probability at least ``1 / (n * k**(d-1))`` for ``n`` tasks and ``k`` steps.

A schedule sees asyncio handles; a handle belongs to the task whose step or wake-up it runs
(its callback's ``__self__``), or to its own callback otherwise (timers such as the
operator's).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Final, Literal, Protocol

from dnsrace.sim.seeds import substream

__all__ = [
    "SCHEDULES",
    "FifoSchedule",
    "PctSchedule",
    "RandomSchedule",
    "Schedule",
    "ScheduleName",
    "make_schedule",
]

ScheduleName = Literal["clock", "random", "pct"]
SCHEDULES: Final[tuple[str, ...]] = ("clock", "random", "pct")


class Schedule(Protocol):
    """Chooses the index of the ready handle to run next; counts its decisions."""

    steps: int

    def pick(self, ready: deque[asyncio.Handle]) -> int: ...


class FifoSchedule:
    """asyncio's order, one step at a time: used to count the steps of a run."""

    def __init__(self) -> None:
        self.steps = 0

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        return 0


class RandomSchedule:
    """A uniformly random ready task at every step."""

    def __init__(self, seed: int) -> None:
        self.steps = 0
        self._rng = substream(seed, "schedule", "random")

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        n = len(ready)
        return 0 if n == 1 else self._rng.randrange(n)


def _owner(handle: asyncio.Handle) -> object:
    callback = handle._callback  # type: ignore[attr-defined]
    return getattr(callback, "__self__", None) or callback


class PctSchedule:
    """Random priorities with ``depth - 1`` priority change points over ``horizon`` steps."""

    def __init__(self, seed: int, depth: int, horizon: int) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.steps = 0
        self.depth = depth
        self._rng = random.Random(substream(seed, "schedule", "pct").getrandbits(64))
        horizon = max(1, horizon)
        # Change point i (1-based) lowers the running task to priority depth - i: below every
        # initial priority (which lie in [depth, depth + 1)) and below earlier change points.
        self._changes = {self._rng.randint(1, horizon): float(depth - i) for i in range(1, depth)}
        self._priority: dict[object, float] = {}

    def _priority_of(self, owner: object) -> float:
        p = self._priority.get(owner)
        if p is None:
            p = self._priority[owner] = self.depth + self._rng.random()
        return p

    def _best(self, ready: deque[asyncio.Handle]) -> int:
        best, best_p = 0, -1.0
        for i, handle in enumerate(ready):
            p = self._priority_of(_owner(handle))
            if p > best_p:
                best, best_p = i, p
        return best

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        best = self._best(ready)
        lowered = self._changes.get(self.steps)
        if lowered is not None:
            self._priority[_owner(ready[best])] = lowered
            best = self._best(ready)
        return best


def make_schedule(name: str, seed: int, *, depth: int = 3, horizon: int = 1000) -> Schedule | None:
    """The schedule called ``name`` (``None`` for ``clock``: asyncio's own loop iteration)."""
    if name == "clock":
        return None
    if name == "random":
        return RandomSchedule(seed)
    if name == "pct":
        return PctSchedule(seed, depth, horizon)
    raise ValueError(f"unknown schedule {name!r} (one of {', '.join(SCHEDULES)})")
