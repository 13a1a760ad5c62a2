"""A run's state as one hashable value, for the bounded search's visited-state pruning.

The state at a scheduling decision is everything the rest of the run can depend on:

* the store: every endpoint's control record (alias, rollback, version, lease holder, token,
  expiry, highest fence), the stored plan generations, and whether a stale flip, an empty
  answer or a dangling refusal has happened (the verdict's part of the store's counters);
* each task's position and locals: the chain of coroutine frames it is suspended in (code
  and instruction offset of each) and their local variables (numbers, strings, containers of
  them; a simulator object by its type, its state being taken once, below);
* the clock: virtual time, the pending timers (when, and whose), the ready events;
* the simulator's objects: the plan board, the planner's generation and random stream, each
  enactor's idle flag, random streams and fault cursor, each supervisor's down flag, the
  operator's pending repairs and alarm, and the metrics' part that a verdict reads (served
  generations, dangling endpoints, plans not yet converged, violations seen).

Two decisions with equal fingerprints have the same futures, so the search need not explore
the second (the rule for the preemption bound and sleep sets is in
:class:`~dnsrace.sim.schedule.DfsSchedule`). What the fingerprint leaves out must not matter
to the rest of the run: counters that only feed the report (time integrals, the timeline,
call counts). A local of a type not named here counts by its type alone; a simulator object
with state of its own must be added to :func:`simulation_state`.
"""

from __future__ import annotations

import asyncio
import operator
import random
from array import array
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["simulation_state", "task_positions"]

_SCALARS = frozenset({int, float, str, bytes, bool, type(None)})
_SEQUENCES = frozenset({tuple, list, deque, array})
_OPAQUE: dict[type, str] = {}
"""Types stood in for by their name alone (filled as they are met)."""


def _task_name(task: asyncio.Task[Any]) -> str:
    """A task's name, the same in every run (asyncio numbers unnamed tasks per process)."""
    name = task.get_name()
    return "main" if name.startswith("Task-") else name


def _canon(value: object, depth: int = 0) -> Hashable:
    """A hashable stand-in for one local variable's value."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in _SEQUENCES:
        if depth > 4:
            return kind.__qualname__
        return tuple([_canon(v, depth + 1) for v in value])  # type: ignore[attr-defined]
    if kind is set or kind is frozenset:
        return frozenset([_canon(v, depth + 1) for v in value])  # type: ignore[attr-defined]
    if kind is dict:
        return frozenset(
            [(_canon(k, depth + 1), _canon(v, depth + 1)) for k, v in value.items()]  # type: ignore[attr-defined]
        )
    if isinstance(value, tuple | list | deque | array):  # a subclass (a named tuple ...)
        return (kind.__qualname__, _canon(list(value), depth))
    if isinstance(value, dict):  # a Counter, a defaultdict ...
        return (kind.__qualname__, _canon(dict(value), depth))
    if isinstance(value, set | frozenset):
        return (kind.__qualname__, _canon(set(value), depth))
    if isinstance(value, asyncio.Task):
        return ("task", _task_name(value))
    if isinstance(value, BaseException):
        return (kind.__qualname__, _canon(value.args, depth + 1))
    # Shared simulator objects (store, board, metrics, enactor ...): their state is taken
    # once by simulation_state, not per frame that holds them.
    name = _OPAQUE[kind] = kind.__qualname__
    return name


_first = operator.itemgetter(0)


def _frames(coro: Any) -> list[Hashable]:
    """Where a suspended coroutine is, down its chain of awaits: code, offset, locals."""
    out: list[Hashable] = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        local = frame.f_locals
        scalars, opaque = _SCALARS, _OPAQUE
        out.append(
            (
                frame.f_code.co_qualname,
                frame.f_lasti,
                # By name: the order of ``f_locals`` is the order its cached dict first saw
                # each name bound, which two visits of one state need not share (a local
                # unbound at an earlier read comes last); equal states must look equal.
                tuple(
                    sorted(
                        [
                            (k, v if (t := type(v)) in scalars else (opaque.get(t) or _canon(v)))
                            for k, v in local.items()
                        ],
                        key=_first,
                    )
                ),
            )
        )
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return out


def _handle_owner(handle: asyncio.Handle) -> str:
    """Whose event a ready or timed handle is: a task's name, or a callback's name (a
    sleep's timer by the task that sleeps)."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return _task_name(owner)
    args: Any = handle._args
    if args and isinstance(args[0], asyncio.Future):
        owners = [getattr(cb, "__self__", None) for cb, _ in (args[0]._callbacks or ())]
        waiters = [_task_name(t) for t in owners if isinstance(t, asyncio.Task)]
        return f"{getattr(callback, '__qualname__', '?')}{sorted(waiters)}"
    return str(getattr(callback, "__qualname__", type(callback).__qualname__))


def task_positions(loop: asyncio.AbstractEventLoop) -> tuple[Hashable, ...]:
    """Every live task of ``loop`` by name, with its frames; the clock, timers, ready events."""
    tasks = sorted(
        ((_task_name(t), _frames(t.get_coro())) for t in asyncio.all_tasks(loop)),
        key=lambda item: item[0],
    )
    heap = loop._scheduled  # type: ignore[attr-defined]
    timers = sorted((h._when, _handle_owner(h)) for h in heap if not h._cancelled)
    ready = sorted(_handle_owner(h) for h in loop._ready)  # type: ignore[attr-defined]
    return (loop.time(), tuple(timers), tuple(ready), tuple((n, tuple(f)) for n, f in tasks))


def _rng(rng: random.Random | None) -> Hashable:
    if rng is None:
        return None
    # A stream not drawn from yet (dnsrace.seeds seeds it at its first draw) is in its
    # initial state, which its name determines: no seeding and no 625-word state to hash. A
    # stream that was drawn from is never back in that state, so the fingerprints tell
    # apart exactly the states that hashing every state would.
    name = rng.__dict__.get("_key")
    if name is not None:
        return ("initial", name)
    return hash(rng.getstate())


def simulation_state(
    loop: asyncio.AbstractEventLoop,
    raw_store: Any,
    endpoints: Sequence[int],
    board: Any,
    planner: Any,
    supervisors: Sequence[Any],
    operator: Any,
    metrics: Any,
) -> Hashable:
    """The fingerprint of one run's state (see the module docstring)."""
    stats = raw_store.stats()
    store = (
        tuple(tuple(raw_store.state(e))[2:] for e in endpoints),
        tuple(raw_store.plan_generations()),
        stats["stale_flips"] > 0,
        stats["empty_answers"] > 0,
        stats["dangling_rejections"] > 0,
    )
    sim = (
        (board.newest, board.applied, board.automation_on, frozenset(board.published_at)),
        # The fleet's random stream only moves when a plan is published: the generation
        # says where it is.
        planner.generation,
        tuple(
            (
                s.down,
                s.enactor.idle,
                _rng(s.enactor.rng),
                s.faults._next_pause,
                _rng(s.faults._latency_rng),
                _rng(s.faults._slow_rng),
            )
            for s in supervisors
        ),
        (
            operator.pending,
            tuple(sorted(operator._empty_since.items())),
            operator._detect_after,
            _rng(operator.rng),
            operator.probes_state(),
        ),
        (
            frozenset(metrics.served.items()),
            frozenset(metrics.dangling),
            bool(metrics.ever_stuck),
            tuple(metrics._pending),
            metrics._threshold,
            metrics.stale_flips_observed > 0,
        ),
    )
    return (store, sim, task_positions(loop))


StateFn = Callable[[], Hashable]
