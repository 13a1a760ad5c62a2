"""Clocks: a deterministic virtual-time asyncio loop and real time on uvloop.

The simulator's coroutines only ever use ``asyncio.sleep`` and ``loop.time()``, so the same
planner, enactor and checker code runs on both clocks:

* ``virtual``: :class:`VirtualEventLoop` is an ordinary ``SelectorEventLoop`` whose ``time()``
  is a number the loop owns and whose selector never blocks. When every task is waiting, the
  loop asks the selector to wait until the next timer; the selector jumps virtual time there
  instead. Nothing depends on the wall clock, the hash seed or thread timing, so a run is a
  pure function of its inputs. Timers due at the same instant run in the order the heap of the
  standard loop yields them, which depends only on the order they were scheduled.
* ``real``: a uvloop loop; time is ``loop.time()`` (monotonic seconds).
"""

from __future__ import annotations

import asyncio
import heapq
import selectors
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from dnsrace.sim.schedule import Schedule

ClockKind = Literal["virtual", "real"]
T = TypeVar("T")

__all__ = ["ClockKind", "VirtualDeadlock", "VirtualEventLoop", "new_loop", "run"]

# asyncio caps one select() timeout at this many seconds (base_events.MAXIMUM_SELECT_TIMEOUT).
_MAX_SELECT_TIMEOUT = 24 * 3600


class VirtualDeadlock(RuntimeError):
    """Every task waits on something that no timer will ever trigger."""


class _NonBlockingSelector(selectors.BaseSelector):
    """Keeps the loop's real file descriptors (its self-pipe) but never waits on them.

    ``select(timeout)`` polls the real descriptors without blocking; if none is ready it
    advances the owning loop's virtual time by ``timeout`` (to the next timer) instead of
    sleeping. A ``None`` timeout with nothing ready means no timer is left: a deadlock.
    """

    def __init__(self, advance: Callable[[float | None], None]) -> None:
        self._real = selectors.DefaultSelector()
        self._advance = advance

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None or timeout > 0:
            self._advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time: sleeping costs no wall time and the run is repeatable.

    With a :class:`~dnsrace.sim.schedule.Schedule`, the loop runs one ready handle per
    iteration, the one the schedule picks, instead of every ready handle in FIFO order: each
    task step between two ``await``s is then a scheduling decision.
    """

    def __init__(self, start: float = 0.0, schedule: Schedule | None = None) -> None:
        self._virtual_now = float(start)
        self.schedule = schedule
        super().__init__(_NonBlockingSelector(self._advance))

    def time(self) -> float:
        return self._virtual_now

    def reset(self, schedule: Schedule | None, start: float = 0.0) -> None:
        """Reuse the loop for another run: drop what the last run left queued (callbacks of
        finished tasks, cancelled timers), so the new run is the run a fresh loop gives."""
        self._ready.clear()  # type: ignore[attr-defined]
        for handle in self._scheduled:  # type: ignore[attr-defined]
            handle._scheduled = False
        self._scheduled.clear()  # type: ignore[attr-defined]
        self._timer_cancelled_count = 0
        self._virtual_now = float(start)
        self.schedule = schedule

    def _run_once(self) -> None:
        schedule = self.schedule
        if schedule is None:
            super()._run_once()  # type: ignore[misc]
            return
        ready: Any = self._ready  # type: ignore[attr-defined]
        heap: list[Any] = self._scheduled  # type: ignore[attr-defined]
        if not ready:
            while heap and heap[0]._cancelled:
                heapq.heappop(heap)._scheduled = False
                self._timer_cancelled_count -= 1
            if not heap:
                if self._stopping:  # type: ignore[attr-defined]
                    return
                raise VirtualDeadlock(
                    "virtual clock: every task is blocked and no timer is pending (deadlock)"
                )
            self._virtual_now = max(self._virtual_now, heap[0]._when)
        now = self._virtual_now
        while heap and heap[0]._when <= now:
            handle = heapq.heappop(heap)
            handle._scheduled = False
            if handle._cancelled:
                self._timer_cancelled_count -= 1
            else:
                ready.append(handle)
        if not ready:
            return
        index = schedule.pick(ready)
        handle = ready[index]
        del ready[index]
        if not handle._cancelled:
            handle._run()

    def _advance(self, timeout: float | None) -> None:
        if timeout is None:
            raise VirtualDeadlock(
                "virtual clock: every task is blocked and no timer is pending (deadlock)"
            )
        scheduled = self._scheduled  # type: ignore[attr-defined]  # the standard loop's heap
        if scheduled and timeout < _MAX_SELECT_TIMEOUT:
            # Jump exactly to the next timer: now + (when - now) can land a rounding error
            # short of it, which would cost an extra empty loop iteration.
            self._virtual_now = max(self._virtual_now, scheduled[0].when())
        else:
            self._virtual_now += timeout


def new_loop(kind: ClockKind, schedule: Schedule | None = None) -> asyncio.AbstractEventLoop:
    """A fresh event loop of the given kind (``real`` needs uvloop and takes no schedule)."""
    if kind == "virtual":
        return VirtualEventLoop(schedule=schedule)
    if schedule is not None:
        raise ValueError("a schedule needs the virtual clock")
    if kind == "real":
        import uvloop

        return uvloop.new_event_loop()
    raise ValueError(f"unknown clock {kind!r}: expected 'virtual' or 'real'")


def run(
    main: Callable[[], Coroutine[Any, Any, T]],
    kind: ClockKind,
    schedule: Schedule | None = None,
) -> T:
    """Run ``main()`` to completion on a new loop of the given kind and close the loop."""
    loop = new_loop(kind, schedule)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        return runner.run(main())
