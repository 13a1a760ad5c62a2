"""A deterministic virtual clock for asyncio simulations (guide: docs/guide/store.md,
"Determinism with dnsrace.clock").

:class:`VirtualEventLoop` is an ordinary asyncio ``SelectorEventLoop`` whose ``time()`` is a
number the loop owns and whose selector never blocks. When every task waits, the loop jumps
virtual time to the next timer instead of sleeping: a simulated hour costs no wall time, and
nothing depends on the wall clock or on thread timing, so a run is a pure function of its inputs
(byte-repeatable output for the same seed). Timers due at the same instant run in an order fixed
by the order they were scheduled (the standard loop's heap).

With a ``seed`` (or any :class:`Schedule`), the loop runs one ready task
step per iteration, the one a seeded random stream picks: each ``await`` between two steps
becomes a scheduling decision, so different seeds explore different interleavings and the same
seed replays the same one.

**Threads.** A thread finishes in wall-clock time, which a virtual clock cannot see, so work
handed to a thread would make the run depend on how fast the machine is. The rule:

* ``threads="inline"`` (the default): ``asyncio.to_thread`` and ``loop.run_in_executor`` run
  the function on the loop's own thread, as one loop step at its turn, taking zero virtual
  time (the executor argument is ignored). Runs stay repeatable; the function must finish on
  its own (a function that waits for another task would wait forever).
* ``threads="refuse"``: the same calls raise :class:`VirtualThreadError` at the call, saying
  why and what to do.

Threads you start yourself (``threading.Thread``, your own executor with
``asyncio.wrap_future``) are outside the clock: a task that waits for one is reported as a
:class:`VirtualDeadlock` once nothing else is left to run.

This module needs only the standard library (``pip install dnsrace`` without extras).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import heapq
import math
import selectors
import sys
import threading
import types
from asyncio import events, format_helpers
from asyncio.base_events import _run_until_complete_cb  # type: ignore[attr-defined]
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Literal, Protocol, TypeVar

from dnsrace.errors import DnsraceError, InvalidArgument
from dnsrace.history._context import task_factory
from dnsrace.seeds import substream

__all__ = [
    "RandomSchedule",
    "Schedule",
    "ThreadPolicy",
    "VirtualDeadlock",
    "VirtualEventLoop",
    "VirtualThreadError",
    "run",
]

ThreadPolicy = Literal["inline", "refuse"]
T = TypeVar("T")

_THREAD_POLICIES: tuple[str, ...] = ("inline", "refuse")
_CoroutineType = types.CoroutineType

# asyncio caps one select() timeout at this many seconds (base_events.MAXIMUM_SELECT_TIMEOUT).
_MAX_SELECT_TIMEOUT = 24 * 3600
# asyncio rebuilds its timer heap when more than this many timers are scheduled and more than
# this share of them is cancelled (base_events._MIN_SCHEDULED_TIMER_HANDLES and
# _MIN_CANCELLED_TIMER_HANDLES_FRACTION): the FIFO fast path does the same, so that timers due
# at the same instant leave the heap in the same order.
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_FRACTION = 0.5
# The FIFO fast path polls the real selector (the loop's self-pipe) once per this many
# iterations, and whenever no timer is left.
_POLL_EVERY = 64


class Schedule(Protocol):
    """Chooses the index of the ready handle to run next; counts its decisions.

    The loop's extension point: :mod:`dnsrace.sim.schedule` adds PCT, POS and depth-first
    search over the same protocol."""

    steps: int

    def pick(self, ready: deque[asyncio.Handle]) -> int: ...


class RandomSchedule:
    """A uniformly random ready task at every step (what ``seed=`` gives)."""

    def __init__(self, seed: int) -> None:
        self.steps = 0
        self._rng = substream(seed, "schedule", "random")

    def pick(self, ready: deque[asyncio.Handle]) -> int:
        self.steps += 1
        n = len(ready)
        if n == 1:
            return 0
        # self._rng.randrange(n), drawn as it draws (n's bit length of random bits, drawn
        # again while out of range): the same numbers without its two Python frames per step.
        k = n.bit_length()
        r = self._rng.getrandbits(k)
        while r >= n:
            r = self._rng.getrandbits(k)
        return r


class VirtualDeadlock(DnsraceError, RuntimeError):
    """Every task waits on something that no timer will ever trigger."""


class VirtualThreadError(DnsraceError, RuntimeError):
    """Work was handed to a thread on a virtual clock created with ``threads="refuse"``."""


def _deadlock() -> VirtualDeadlock:
    message = "virtual clock: every task is blocked and no timer is pending (deadlock)"
    if threading.active_count() > 1:
        # The one case where the wait may end: a thread the clock cannot see.
        message += (
            "; if a task waits for a thread you started yourself, note that the virtual clock"
            " cannot wait for threads: hand the work to asyncio.to_thread, which it runs inline"
        )
    return VirtualDeadlock(message)


def _is_finite_number(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def _shown(value: object) -> str:
    """``repr(value)`` for an error message, short, and never an error itself."""
    try:
        text = repr(value)
    except Exception:  # an int too long to print, a repr that raises
        return f"a value of type {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _schedule_problem(schedule: object) -> str | None:
    if schedule is None or callable(getattr(schedule, "pick", None)):
        return None
    return (
        f"schedule must have a pick(ready) method returning an index, got {_shown(schedule)}"
        " (or pass seed=N for a seeded random schedule)"
    )


def _callable_name(func: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """The user's function behind ``asyncio.to_thread``'s ``partial(context.run, func, ...)``."""
    target: Any = func
    if isinstance(func, functools.partial):
        target = func.func
        args = func.args
    if getattr(target, "__name__", None) == "run" and args and callable(args[0]):
        target = args[0]  # Context.run(func, ...): the function is the first argument
    return getattr(target, "__qualname__", None) or repr(target)


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


class _ReadyHandle(asyncio.Handle):
    """asyncio's ``Handle`` as :meth:`VirtualEventLoop.call_soon` makes it outside debug mode:
    its fields stored in place, without the debug-mode check and the two ``__init__`` frames
    (a run makes one per step)."""

    __slots__ = ()
    # Made by a call of the class, its fields then stored in place: object's own C __init__
    # (no frame), cheaper than object.__new__(cls), which slices its argument tuple.
    __init__ = object.__init__


class _VirtualTimer(asyncio.TimerHandle):
    """asyncio's ``TimerHandle`` made (by :func:`_new_timer`) and cancelled without its
    debug-mode checks (only made outside debug): every ``asyncio.sleep`` makes one and
    cancels it when it wakes."""

    __slots__ = ()
    __init__ = object.__init__  # as _ReadyHandle's
    _when: float
    _scheduled: bool

    def cancel(self) -> None:
        if not self._cancelled:
            if self._scheduled:
                self._loop._timer_cancelled_count += 1  # type: ignore[attr-defined]
            self._cancelled = True
            if self._loop._debug:  # type: ignore[attr-defined]
                self._repr = repr(self)
            self._callback = None
            self._args = None  # type: ignore[assignment]


def _new_timer(
    when: float,
    callback: Callable[..., object],
    args: tuple[Any, ...],
    loop: asyncio.AbstractEventLoop,
    context: Any,
) -> _VirtualTimer:
    """A :class:`_VirtualTimer`, scheduled (about to be pushed on the heap), its fields
    stored in place: one frame, not the two of its ``__init__`` (a run makes one per
    ``asyncio.sleep``)."""
    timer: Any = _VirtualTimer()
    timer._when = when
    timer._scheduled = True
    timer._callback = callback
    timer._args = args
    timer._loop = loop
    timer._context = contextvars.copy_context() if context is None else context
    timer._cancelled = False
    timer._repr = None
    timer._source_traceback = None
    return timer  # type: ignore[no-any-return]


def _report_callback_error(
    loop: asyncio.AbstractEventLoop, handle: asyncio.Handle, exc: BaseException
) -> None:
    """What ``Handle._run`` does with a callback's exception: the loop's exception handler."""
    callback, args = handle._callback, handle._args  # type: ignore[attr-defined]
    source = format_helpers._format_callback_source(callback, args)
    context: dict[str, Any] = {
        "message": f"Exception in callback {source}",
        "exception": exc,
        "handle": handle,
    }
    if handle._source_traceback:  # type: ignore[attr-defined]
        context["source_traceback"] = handle._source_traceback  # type: ignore[attr-defined]
    loop.call_exception_handler(context)


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time: sleeping costs no wall time and the run is repeatable.

    ``start`` is the virtual time of the first step. With a ``schedule`` (an object whose
    ``pick(ready)`` returns the index of the ready handle to run next), the loop runs one ready
    handle per iteration, the one the schedule picks, instead of every ready handle in FIFO
    order. ``threads`` is the thread rule of the module docstring.
    """

    def __init__(
        self,
        start: float = 0.0,
        schedule: Schedule | None = None,
        *,
        threads: ThreadPolicy = "inline",
    ) -> None:
        self._virtual_now = 0.0
        self._fifo_polls = 0
        self.schedule = schedule
        self.threads: ThreadPolicy = threads
        super().__init__(_NonBlockingSelector(self._advance))
        # Checked after the base init, whose finaliser expects its fields.
        problem = _schedule_problem(schedule)
        if threads not in _THREAD_POLICIES:
            problem = f"threads must be 'inline' or 'refuse', got {_shown(threads)}"
        elif not _is_finite_number(start):
            problem = f"start must be a finite number of seconds, got {_shown(start)}"
        if problem is not None:
            self.close()
            raise InvalidArgument(problem)
        self._virtual_now = float(start)
        # Every task is a history client of its own from its creation: asyncio.to_thread's
        # inline step runs outside any task, and knows its task only from the context.
        self.set_task_factory(task_factory)

    def time(self) -> float:
        return self._virtual_now

    # asyncio runs the timers due before time() + _clock_resolution. Past about 1e8 virtual
    # seconds a float step exceeds the real clock's resolution (1 ns), so time() + resolution
    # == time() and a timer due now never ran: the loop spun forever (a run started at an
    # epoch time, or one three years long). The resolution grows with the float step instead.
    @property
    def _clock_resolution(self) -> float:
        return max(self._base_resolution, 2 * math.ulp(self._virtual_now))

    @_clock_resolution.setter
    def _clock_resolution(self, value: float) -> None:
        self._base_resolution = value

    def run_until_complete(self, future: Any) -> Any:
        """asyncio's ``run_until_complete``; for a coroutine outside debug mode and without a
        task factory (an exploration's every run), the same steps with its layers inlined:
        the same task (``Task-N``), the same done callback (one more ready handle at the
        end), the same ``run_forever`` set-up and tear-down."""
        me: Any = self
        if (
            me._debug
            or me._task_factory is not None
            or (type(future) is not _CoroutineType and not asyncio.iscoroutine(future))
        ):
            return super().run_until_complete(future)
        # The base's _check_closed and _check_running (and its is_running), inline: the same
        # tests and messages, three frames fewer per run.
        if me._closed:
            raise RuntimeError("Event loop is closed")
        if me._thread_id is not None:
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")
        task: asyncio.Task[Any] = asyncio.Task(future, loop=self)
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        task.add_done_callback(_run_until_complete_cb)
        try:
            self._run_forever_inline()
        except BaseException:
            if task.done() and not task.cancelled():
                task.exception()  # consumed, as asyncio does: the caller has no task to ask
            raise
        finally:
            task.remove_done_callback(_run_until_complete_cb)
        if not task.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return task.result()

    def _run_forever_inline(self) -> None:
        """``run_forever`` outside debug mode, once checked (no coroutine origin tracking to
        switch on and off)."""
        me: Any = self
        if me._coroutine_origin_tracking_enabled:
            me._set_coroutine_origin_tracking(False)
        old_hooks = sys.get_asyncgen_hooks()
        try:
            me._thread_id = threading.get_ident()
            sys.set_asyncgen_hooks(
                firstiter=me._asyncgen_firstiter_hook, finalizer=me._asyncgen_finalizer_hook
            )
            events._set_running_loop(self)
            while True:
                self._run_once()
                if me._stopping:
                    break
        finally:
            me._stopping = False
            me._thread_id = None
            events._set_running_loop(None)
            sys.set_asyncgen_hooks(*old_hooks)

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

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        """Run ``func(*args)`` by the thread rule: inline as one loop step, or refused.

        ``asyncio.to_thread`` comes here too. Inline, the function runs on the loop's thread
        when its turn comes (FIFO, or the schedule's pick), in zero virtual time; the returned
        future carries its result or exception. Cancelling the future before its turn means the
        function never runs, as with a thread pool's queued work.
        """
        self._check_closed()  # type: ignore[attr-defined]
        if self.threads == "refuse":
            raise VirtualThreadError(
                f"virtual clock: {_callable_name(func, args)} was handed to a thread"
                " (asyncio.to_thread or loop.run_in_executor), but a thread finishes in"
                " wall-clock time, which the virtual clock cannot see, so the run would not be"
                " repeatable. Call the function directly, or pass threads='inline' (to"
                " clock.run or VirtualEventLoop) to run such work on the loop's thread at its"
                " turn, or run on a real-time loop."
            )
        future: asyncio.Future[T] = self.create_future()

        def step() -> None:
            if future.cancelled():
                return
            try:
                result = func(*args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self.call_soon(step)
        return future

    # The scheduled loop's fast path: exploration runs many short runs of ~50 steps, where
    # asyncio's per-callback bookkeeping (debug checks, one frame per layer) is a large share.
    # Outside debug mode these do what the base methods do, with fewer calls; in debug mode
    # (or on a closed loop, to raise as the base does) the base methods run. The base
    # call_later comes to call_at.
    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        if self._debug or self._closed:  # type: ignore[attr-defined]
            return super().call_soon(callback, *args, context=context)
        handle: Any = _ReadyHandle()
        handle._callback = callback
        handle._args = args
        handle._loop = self
        handle._context = contextvars.copy_context() if context is None else context
        handle._cancelled = False
        handle._repr = None
        handle._source_traceback = None
        self._ready.append(handle)  # type: ignore[attr-defined]
        return handle  # type: ignore[no-any-return]

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        # The base call_later is call_at(time() + delay): the same instant, two frames fewer
        # (every asyncio.sleep with a delay comes here).
        if delay is None or self._debug or self._closed:  # type: ignore[attr-defined]
            return super().call_later(delay, callback, *args, context=context)
        timer = _new_timer(self._virtual_now + delay, callback, args, self, context)
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        return timer

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        if when is None or self._debug or self._closed:  # type: ignore[attr-defined]
            return super().call_at(when, callback, *args, context=context)
        timer = _new_timer(when, callback, args, self, context)
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        return timer

    def _run_once(self) -> None:
        schedule = self.schedule
        if schedule is None:
            if self._debug:  # type: ignore[attr-defined]
                super()._run_once()  # type: ignore[misc]
            else:
                self._run_fifo()
            return
        # One scheduled step per iteration of the base loop's run_forever, which stops after
        # the iteration that set _stopping: the steps run here in a row until then, the same
        # steps in the same order, without a method call and a re-read of the fields each.
        ready: Any = self._ready  # type: ignore[attr-defined]
        heap: list[Any] = self._scheduled  # type: ignore[attr-defined]
        pick = schedule.pick
        # The random schedule's draw, inline (RandomSchedule.pick, step for step): the most
        # run schedule, where a method call per step is a visible share of the step.
        # (getrandbits looked up at each draw: the stream becomes a plain Random at its first
        # draw, after which the lookup finds the C method; a method bound before would not.)
        rng = schedule._rng if type(schedule) is RandomSchedule else None
        heappop = heapq.heappop
        while True:
            if not ready:
                while heap and heap[0]._cancelled:
                    heappop(heap)._scheduled = False
                    self._timer_cancelled_count -= 1
                if not heap:
                    if self._stopping:  # type: ignore[attr-defined]
                        return
                    raise _deadlock()
                if heap[0]._when > self._virtual_now:
                    self._virtual_now = heap[0]._when
                self._ready_due_timers(ready, heap)
                if not ready:
                    if self._stopping:  # type: ignore[attr-defined]
                        return
                    continue
            elif heap and heap[0]._when <= self._virtual_now:
                # Most steps find a task ready and no timer due: one test, not the loop's.
                self._ready_due_timers(ready, heap)
            if rng is not None:
                schedule.steps += 1
                n = len(ready)
                if n == 1:  # no draw, as RandomSchedule.pick: the one ready handle
                    handle = ready.popleft()
                else:
                    k = n.bit_length()
                    index = rng.getrandbits(k)
                    while index >= n:
                        index = rng.getrandbits(k)
                    if index == 0:
                        handle = ready.popleft()
                    else:
                        handle = ready[index]
                        del ready[index]
            else:
                # A pick that raises or is refused fails the run; its clean-up (the runner
                # cancels what is left) then goes in FIFO order, so no task is left unclosed.
                try:
                    index = pick(ready)
                except BaseException:
                    self.schedule = None
                    raise
                if not (isinstance(index, int) and 0 <= index < len(ready)):
                    self.schedule = None
                    raise InvalidArgument(
                        f"schedule.pick returned {_shown(index)}, not an index of the"
                        f" {len(ready)} ready handles"
                    )
                if index == 0:
                    handle = ready.popleft()
                else:
                    handle = ready[index]
                    del ready[index]
            if not handle._cancelled:
                try:
                    # Most steps are a task's step, which takes no argument: a plain call
                    # then, not one that builds a tuple of the callback and its arguments.
                    if handle._args:
                        handle._context.run(handle._callback, *handle._args)
                    else:
                        handle._context.run(handle._callback)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    _report_callback_error(self, handle, exc)
                handle = None  # as Handle._run: no cycle through a raised exception
            if self._stopping or self.schedule is not schedule:  # type: ignore[attr-defined]
                return  # stopped, or a step changed the schedule: the next iteration sees it

    def _ready_due_timers(self, ready: Any, heap: list[Any]) -> None:
        """Move the timers due now from the heap to the ready queue, in the heap's order."""
        heappop = heapq.heappop
        now = self._virtual_now
        while heap and heap[0]._when <= now:
            handle = heappop(heap)
            handle._scheduled = False
            if handle._cancelled:
                self._timer_cancelled_count -= 1
            else:
                ready.append(handle)

    def _run_fifo(self) -> None:
        """asyncio's own ``_run_once`` (Python 3.11-3.13, outside debug mode), iteration for
        iteration, on virtual time: the same cancelled-timer clean-up, the same timers made
        ready, every handle ready at the iteration's start run in FIFO order, so the same
        order, whatever runs. What it leaves out is what the virtual clock never needs per
        iteration: the real selector (only the self-pipe, written by another thread or a
        signal) is polled every ``_POLL_EVERY`` iterations and whenever no timer is left, not
        at each one (a ~50 us simulated step spent a tenth of its time in that epoll call),
        and the base loop's frames (``time()``, the resolution property, ``select``,
        ``Handle._run``) are inlined. As in the scheduled loop, iterations run in a row here
        until one sets ``_stopping`` (the base ``run_forever`` checks it after each)."""
        heappop = heapq.heappop
        real = self._selector._real  # type: ignore[attr-defined]
        base_resolution = self._base_resolution
        ulp = math.ulp
        polls = self._fifo_polls
        while True:
            heap: list[Any] = self._scheduled  # type: ignore[attr-defined]
            sched_count = len(heap)
            if (
                sched_count > _MIN_SCHEDULED_TIMER_HANDLES
                and self._timer_cancelled_count / sched_count > _MIN_CANCELLED_FRACTION
            ):
                kept = []
                for handle in heap:
                    if handle._cancelled:
                        handle._scheduled = False
                    else:
                        kept.append(handle)
                heapq.heapify(kept)
                # (asyncio's own field, which mypy does not know: set by name)
                object.__setattr__(self, "_scheduled", kept)
                heap = kept
                self._timer_cancelled_count = 0
            else:
                while heap and heap[0]._cancelled:
                    self._timer_cancelled_count -= 1
                    heappop(heap)._scheduled = False
            ready: Any = self._ready  # type: ignore[attr-defined]
            timeout: float | None = None
            if ready or self._stopping:  # type: ignore[attr-defined]
                timeout = 0
            elif heap:
                timeout = min(max(0, heap[0]._when - self._virtual_now), _MAX_SELECT_TIMEOUT)
            polls += 1
            if timeout is None or polls >= _POLL_EVERY:
                polls = 0
                events = real.select(0)
                if events:
                    self._process_events(events)  # type: ignore[attr-defined]
                elif timeout is None or timeout > 0:
                    self._advance(timeout)
                events = None
            elif timeout > 0:
                self._advance(timeout)
            now = self._virtual_now
            resolution = 2 * ulp(now)
            end_time = now + (resolution if resolution > base_resolution else base_resolution)
            while heap:
                if heap[0]._when >= end_time:
                    break
                handle = heappop(heap)
                handle._scheduled = False
                ready.append(handle)
            for _ in range(len(ready)):
                if not ready:
                    break  # a step dropped the queued rest (a settled verdict-only run does)
                handle = ready.popleft()
                if handle._cancelled:
                    continue
                try:
                    handle._context.run(handle._callback, *handle._args)
                except (SystemExit, KeyboardInterrupt):
                    self._fifo_polls = polls
                    raise
                except BaseException as exc:
                    _report_callback_error(self, handle, exc)
            handle = None  # as Handle._run: no cycle through a raised exception
            if self._stopping or self.schedule is not None or self._debug:  # type: ignore[attr-defined]
                self._fifo_polls = polls
                return

    def _advance(self, timeout: float | None) -> None:
        if timeout is None:
            raise _deadlock()
        scheduled = self._scheduled  # type: ignore[attr-defined]  # the standard loop's heap
        if scheduled and timeout < _MAX_SELECT_TIMEOUT:
            # Jump exactly to the next timer: now + (when - now) can land a rounding error
            # short of it, which would cost an extra empty loop iteration.
            self._virtual_now = max(self._virtual_now, scheduled[0].when())
        else:
            self._virtual_now += timeout


def run(
    main: Coroutine[Any, Any, T],
    *,
    seed: int | None = None,
    start: float = 0.0,
    threads: ThreadPolicy = "inline",
    schedule: Schedule | None = None,
) -> T:
    """Run the coroutine ``main`` to completion on a new virtual clock and close the clock.

    ``seed=None`` keeps asyncio's own order (first scheduled, first run); an integer seed draws
    every next task step from a random stream of that seed (same seed, same interleaving).
    ``schedule`` passes any other schedule instead (not together with ``seed``). ``start`` is
    the virtual time at the start; ``threads`` is the thread rule (``"inline"`` or ``"refuse"``).
    """
    if not asyncio.iscoroutine(main):
        raise InvalidArgument(
            f"expected a coroutine, got {_shown(main)}: call the coroutine function, run(main())"
        )
    if seed is not None and schedule is not None:
        main.close()
        raise InvalidArgument("give a seed or a schedule, not both")
    problem = _schedule_problem(schedule)
    if problem is not None:
        main.close()
        raise InvalidArgument(problem)
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed.bit_length() > 64:
            main.close()
            raise InvalidArgument(f"seed must be an int of at most 64 bits, got {_shown(seed)}")
        schedule = RandomSchedule(seed)
    try:
        loop = VirtualEventLoop(start, schedule, threads=threads)
    except BaseException:
        main.close()  # not run: close it, so Python does not warn it was never awaited
        raise
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        return runner.run(main)
