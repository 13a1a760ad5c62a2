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
  A bug that needs more than ``depth - 1`` preemptions is never found, whatever the number
  of runs: "PCT found nothing" is not a proof.
* ``pos``: partial order sampling (Yuan, Yang, Gu, CAV 2018). Every pending event (a task's
  next step) gets a random priority; the highest-priority ready event runs; then the ready
  events that *race* with it (their store footprints conflict) draw new priorities, while
  the others keep theirs. Unlike random walks, it does not favour the orders that many
  independent steps make look alike, and unlike PCT it has no depth to guess.

Footprints: before a step that calls the store, a task may :meth:`declare` what the call
reads and writes (keys such as ``("alias", endpoint)``, ``("lease", endpoint)``, ``"trees"``,
``"board"``); the enactor does so through :func:`declare`. Two footprints conflict when one
writes a key the other reads or writes. A step with no declaration (the planner, the
clients, the operator, timers) conflicts with every step: over-approximating keeps POS's
re-draws, and any reduction built on footprints, on the safe side.

A schedule sees asyncio handles; a handle belongs to the task whose step or wake-up it runs
(its callback's ``__self__``), or to its own callback otherwise (timers such as the
operator's).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Final, Literal

from dnsrace.clock import RandomSchedule, Schedule
from dnsrace.seeds import substream

__all__ = [
    "SCHEDULES",
    "DfsNode",
    "DfsSchedule",
    "FifoSchedule",
    "Footprint",
    "Nondeterminism",
    "PctSchedule",
    "PosSchedule",
    "RandomSchedule",
    "Schedule",
    "ScheduleCut",
    "ScheduleName",
    "conflicts",
    "declare",
    "event_name",
    "make_schedule",
    "replay_schedule",
]

ScheduleName = Literal["clock", "random", "pct", "pos"]
SCHEDULES: Final[tuple[str, ...]] = ("clock", "random", "pct", "pos")

Footprint = tuple[frozenset[Hashable], frozenset[Hashable]]
"""What one step reads and what it writes (keys of the shared state)."""

LOCAL: Final[Footprint] = (frozenset(), frozenset())
"""A step that touches nothing shared (a wake-up before a wait, a backoff)."""


def conflicts(a: Footprint | None, b: Footprint | None) -> bool:
    """Whether two steps may not commute: one writes what the other reads or writes
    (``None``, an undeclared step, conflicts with everything)."""
    if a is None or b is None:
        return True
    (a_reads, a_writes), (b_reads, b_writes) = a, b
    return not (
        a_writes.isdisjoint(b_reads)
        and a_writes.isdisjoint(b_writes)
        and b_writes.isdisjoint(a_reads)
    )


def declare(
    reads: Iterable[Hashable] = (),
    writes: Iterable[Hashable] = (),
    *,
    task: asyncio.Task[Any] | None = None,
) -> None:
    """Tell the running loop's schedule what the next step of ``task`` (default: the current
    task) reads and writes (nothing happens unless that schedule uses footprints)."""
    schedule = getattr(asyncio.get_running_loop(), "schedule", None)
    if schedule is not None and getattr(schedule, "uses_footprints", False):
        owner = task if task is not None else asyncio.current_task()
        schedule.declare(owner, (frozenset(reads), frozenset(writes)))


class FifoSchedule:
    """asyncio's order, one step at a time: used to count the steps of a run."""

    def __init__(self) -> None:
        self.steps = 0

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        return 0


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

    def _best(self, ready: deque[asyncio.Handle]) -> int:
        # Each ready handle's owner takes its priority when first seen (drawn in queue
        # order); written out here, not as two calls per ready handle per step.
        priority = self._priority
        best, best_p = 0, -1.0
        for i, handle in enumerate(ready):
            callback = handle._callback  # type: ignore[attr-defined]
            owner = getattr(callback, "__self__", None) or callback
            p = priority.get(owner)
            if p is None:
                p = priority[owner] = self.depth + self._rng.random()
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


# The timer callback of ``asyncio.sleep(d > 0)``: it completes the sleeper's future, nothing
# else (the sleeper's own wake-up is a later step of its task).
_SLEEP_DONE: Final = asyncio.futures._set_result_unless_cancelled  # type: ignore[attr-defined]
# asyncio's own callbacks that only complete a future or stop the loop at the run's end.
_LOCAL_CALLBACKS: Final = frozenset(
    {"_set_result_unless_cancelled", "gather.<locals>._done_callback", "_run_until_complete_cb"}
)


def _is_local(owner: object) -> bool:
    return not isinstance(owner, asyncio.Task) and (
        getattr(owner, "__qualname__", None) in _LOCAL_CALLBACKS
        and getattr(owner, "__module__", "").startswith("asyncio")
    )


class PosSchedule:
    """Partial order sampling: random event priorities, re-drawn for the events that race
    with the one that runs (Yuan, Yang, Gu, "Partial Order Aware Concurrency Sampling",
    CAV 2018, the basic POS algorithm)."""

    uses_footprints = True

    def __init__(self, seed: int) -> None:
        self.steps = 0
        self._rng = random.Random(substream(seed, "schedule", "pos").getrandbits(64))
        # id(handle) -> (handle, its priority): each handle is one event (a task's next
        # step); holding the handle keeps its id from being reused while it waits.
        self._events: dict[int, tuple[asyncio.Handle, float]] = {}
        self._footprints: dict[object, Footprint] = {}

    def declare(self, owner: object, footprint: Footprint) -> None:
        """``owner``'s next step touches ``footprint`` (until it declares another)."""
        self._footprints[owner] = footprint

    def _footprint(self, handle: asyncio.Handle) -> Footprint | None:
        owner = _owner(handle)
        if owner is _SLEEP_DONE:
            return LOCAL  # a sleep's timer only completes its future
        return self._footprints.get(owner)

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        events, rng = self._events, self._rng
        best, best_p = 0, -1.0
        for i, handle in enumerate(ready):
            event = events.get(id(handle))
            if event is None:
                event = events[id(handle)] = (handle, rng.random())
            if event[1] > best_p:
                best, best_p = i, event[1]
        chosen = ready[best]
        del events[id(chosen)]  # it runs now; its task's next step is a new event
        if len(ready) > 1:
            # Every pending event that races with the chosen one draws a fresh priority (in
            # queue order, so the draws are reproducible); the others keep theirs.
            ran = self._footprint(chosen)
            for i, handle in enumerate(ready):
                if i != best and conflicts(ran, self._footprint(handle)):
                    events[id(handle)] = (handle, rng.random())
        return best


def make_schedule(name: str, seed: int, *, depth: int = 3, horizon: int = 1000) -> Schedule | None:
    """The schedule called ``name`` (``None`` for ``clock``: asyncio's own loop iteration)."""
    if name == "clock":
        return None
    if name == "random":
        return RandomSchedule(seed)
    if name == "pct":
        return PctSchedule(seed, depth, horizon)
    if name == "pos":
        return PosSchedule(seed)
    raise ValueError(f"unknown schedule {name!r} (one of {', '.join(SCHEDULES)})")


# ---------------------------------------------------------------------- bounded DFS


def event_name(handle: asyncio.Handle) -> str:
    """A name for a ready event that is the same in every run of one scenario: the task's
    name (``main`` for the run's own task), or the callback's qualified name."""
    return _owner_name(_owner(handle))


def _owner_name(owner: object) -> str:
    if isinstance(owner, asyncio.Task):
        name = owner.get_name()
        return "main" if name.startswith("Task-") else name
    return str(getattr(owner, "__qualname__", type(owner).__name__))


class ScheduleCut(Exception):
    """Raised by a DFS schedule to end a run early: the rest of it would only repeat what
    the search covered already (a redundant order, or a state visited before)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Visited = dict[Hashable, list[tuple[int, frozenset[str]]]]
"""Fingerprint (state, last task) -> the (preemptions used, sleep set) of each visit."""


class Nondeterminism(RuntimeError):
    """A replayed prefix asked for an event that is not ready: the run is not a function of
    its schedule (a bug of the simulator, or a step that reads the wall clock)."""


class DfsNode:
    """One scheduling decision on the current path of a depth-first search."""

    __slots__ = ("choice", "done", "footprints", "last", "names", "preempted", "sleep")

    def __init__(
        self,
        names: list[str],
        footprints: dict[str, Footprint | None],
        last: str | None,
        preempted: int,
        sleep: set[str],
    ) -> None:
        self.names = names
        self.footprints = footprints
        self.last = last
        """The event's task that ran the step before (a switch away from it, while it is
        still ready, is a preemption)."""
        self.preempted = preempted
        """Preemptions on the path before this decision."""
        self.sleep = sleep
        """Events that need not run here: an equivalent order was explored already."""
        self.done: set[str] = set()
        self.choice = ""

    def cost(self, name: str) -> int:
        """Preemptions that choosing ``name`` here adds (0 or 1)."""
        return int(self.last is not None and name != self.last and self.last in self.names)


class DfsSchedule:
    """Replays the choices of ``path`` (decisions of earlier runs), then extends it: at each
    new decision the task that ran before continues if it can (no preemption), else the
    first ready event by name that is not asleep. Steps that touch nothing shared (a sleep's
    timer, a step declared ``LOCAL``) run at once and are no decision: they commute with
    every other step (a persistent set of one).

    With ``sleep_sets``, a new decision's sleep set is its parent's sleep set plus the events
    explored before the parent's choice, less those that conflict with that choice (Godefroid's
    sleep sets). A decision where every ready event is asleep, or where the only events
    within ``preemptions`` are, makes the run *redundant*: it only repeats an explored order.
    """

    uses_footprints = True
    whole_run = True
    """The search covers every step of a run, its tasks' unwinding at the end included
    (a verdict-only run does not skip it: the counts would change)."""

    def __init__(
        self,
        path: list[DfsNode],
        preemptions: int,
        *,
        sleep_sets: bool = True,
        visited: Visited | None = None,
        cut: bool = False,
    ) -> None:
        self.steps = 0
        self.path = path
        self.preemptions = preemptions
        self.sleep_sets = sleep_sets
        self.redundant = False
        self.visited = visited
        """States seen by the search so far (``None``: no state pruning)."""
        self.cut = cut
        """End a run with :class:`ScheduleCut` once it is redundant or revisits a state,
        instead of running it to its end."""
        self.state: Callable[[], Hashable] | None = None
        """The run's state fingerprint (set by the runner when ``visited`` is given)."""
        self._replay = len(path)
        self._depth = 0
        self._last: str | None = None
        self._footprints: dict[object, Footprint] = {}

    @property
    def uses_fingerprints(self) -> bool:
        return self.visited is not None

    def _seen_before(self, names: list[str], node: DfsNode) -> bool:
        """Record this decision's state; whether an earlier visit covered it: same state and
        last task, with no more preemptions used and a sleep set no larger (so it explored
        at least every order this one would)."""
        if self.visited is None or self.state is None or len(names) < 2:
            # One event ready: no choice here, the next choice's state says as much.
            return False
        key = (self.state(), self._last)
        sleep = frozenset(node.sleep)
        visits = self.visited.setdefault(key, [])
        if any(p <= node.preempted and s <= sleep for p, s in visits):
            return True
        visits.append((node.preempted, sleep))
        return False

    def declare(self, owner: object, footprint: Footprint) -> None:
        self._footprints[owner] = footprint

    def _new_node(self, names: list[str], footprints: dict[str, Footprint | None]) -> DfsNode:
        parent = self.path[-1] if self.path else None
        if parent is None:
            return DfsNode(names, footprints, self._last, 0, set())
        preempted = parent.preempted + parent.cost(parent.choice)
        sleep: set[str] = set()
        if self.sleep_sets:
            ran = parent.footprints.get(parent.choice)
            sleep = {
                e
                for e in parent.sleep | parent.done
                if e != parent.choice and not conflicts(parent.footprints.get(e), ran)
            }
        return DfsNode(names, footprints, self._last, preempted, sleep)

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        declared = self._footprints
        owners = [_owner(handle) for handle in ready]
        for i, owner in enumerate(owners):
            if _is_local(owner) or declared.get(owner) == LOCAL:
                return i  # touches nothing shared: commutes with every step, no decision
        names: list[str] = []
        for owner in owners:
            name = _owner_name(owner)
            while name in names:
                name += "'"  # two ready events of one owner: numbered in queue order
            names.append(name)
        depth = self._depth
        self._depth += 1
        if depth < self._replay:
            node = self.path[depth]
            if node.choice not in names:
                raise Nondeterminism(f"step {depth}: {node.choice!r} is not ready ({names})")
            choice = node.choice
        elif self.redundant:
            choice = self._last if self._last in names else min(names)
        else:
            footprints = {n: declared.get(o) for n, o in zip(names, owners, strict=True)}
            node = self._new_node(names, footprints)
            if self._seen_before(names, node):
                raise ScheduleCut("visited")
            allowed = [
                n
                for n in names
                if n not in node.sleep and node.preempted + node.cost(n) <= self.preemptions
            ]
            if not allowed:
                self.redundant = True
                if self.cut:
                    raise ScheduleCut("redundant")
                choice = self._last if self._last in names else min(names)
            else:
                choice = self._last if self._last in allowed else min(allowed)
                node.choice = choice
                self.path.append(node)
        self._last = choice.rstrip("'")
        return names.index(choice)


def replay_schedule(choices: list[str]) -> DfsSchedule:
    """A schedule that makes the decisions ``choices`` (a DFS run's event names, in order),
    then continues as the search would: the run the search saw, step for step."""
    path = []
    for choice in choices:
        node = DfsNode([choice], {}, None, 0, set())
        node.choice = choice
        path.append(node)
    return DfsSchedule(path, preemptions=len(choices) + 1)
