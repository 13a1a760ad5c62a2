"""The scheduled virtual loop's fast path (call_soon, call_at, its step loop) does what
asyncio's own methods do: the same errors reported, the same order, the same handles."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from dnsrace.clock import RandomSchedule, VirtualEventLoop
from dnsrace.sim.schedule import FifoSchedule


def run_and_close(loop: asyncio.AbstractEventLoop, main: Coroutine[Any, Any, None]) -> None:
    try:
        loop.run_until_complete(main)
    finally:
        loop.close()


def _errors_of(schedule: Any) -> list[dict[str, Any]]:
    loop = VirtualEventLoop(schedule=schedule)
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    order: list[str] = []

    def boom() -> None:
        order.append("boom")
        raise ValueError("callback failed")

    async def main() -> None:
        loop.call_soon(boom)
        loop.call_later(2.0, order.append, "late")
        loop.call_at(1.0, order.append, "early")
        await asyncio.sleep(3.0)
        order.append("end")

    run_and_close(loop, main())
    assert order == ["boom", "early", "late", "end"]
    return seen


def test_a_failing_callback_reaches_the_exception_handler_as_on_asyncios_path() -> None:
    fast = _errors_of(FifoSchedule())
    base = _errors_of(None)  # no schedule: asyncio's own _run_once and Handle._run
    assert len(fast) == len(base) == 1
    assert isinstance(fast[0]["exception"], ValueError)
    assert fast[0]["message"] == base[0]["message"]
    assert fast[0]["message"].startswith("Exception in callback")
    assert isinstance(fast[0]["handle"], asyncio.Handle)


def test_debug_mode_keeps_asyncios_checks() -> None:
    loop = VirtualEventLoop(schedule=FifoSchedule())
    loop.set_debug(True)
    try:
        handle = loop.call_soon(print)
        assert handle._source_traceback  # type: ignore[attr-defined]  # debug: where made
        handle.cancel()
    finally:
        loop.close()


def test_a_schedule_changed_by_a_step_takes_effect_at_the_next_step() -> None:
    loop = VirtualEventLoop(schedule=FifoSchedule())
    order: list[str] = []

    class Last:
        steps = 0

        def pick(self, ready: Any) -> int:
            self.steps += 1
            return len(ready) - 1

    def switch() -> None:
        order.append("switch")
        loop.schedule = Last()
        loop.call_soon(order.append, "a")
        loop.call_soon(order.append, "b")

    async def main() -> None:
        loop.call_soon(switch)
        await asyncio.sleep(1.0)

    run_and_close(loop, main())
    assert order == ["switch", "b", "a"]  # the new schedule picks the last ready handle


class _CalledRandom(RandomSchedule):
    """The random schedule through its pick method (the loop draws inline only for the
    exact class)."""


def _interleaving(schedule: Any) -> list[str]:
    loop = VirtualEventLoop(schedule=schedule)
    order: list[str] = []

    async def worker(name: str) -> None:
        for i in range(12):
            order.append(f"{name}{i}")
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(worker(n) for n in "abcde"))

    run_and_close(loop, main())
    return order


def test_the_inline_random_draw_is_the_random_schedules_pick() -> None:
    for seed in range(1, 8):
        inline, called = RandomSchedule(seed), _CalledRandom(seed)
        assert _interleaving(inline) == _interleaving(called)
        assert inline.steps == called.steps > 60
    assert _interleaving(RandomSchedule(1)) != _interleaving(RandomSchedule(2))


def _timer_order(debug: bool) -> list[int]:
    """Hundreds of timers at a few shared instants, most cancelled (asyncio then rebuilds its
    heap, which reorders equal instants), scheduled from callbacks along the way."""
    import random

    loop = VirtualEventLoop()
    loop.set_debug(debug)
    loop.slow_callback_duration = 1e9  # debug mode: no warnings about slow steps
    rng = random.Random(7)
    order: list[int] = []
    handles: list[asyncio.TimerHandle] = []

    def fire(k: int) -> None:
        order.append(k)
        if k % 2 == 0 and len(handles) < 3000:
            for _ in range(3):
                j = len(handles)
                handles.append(loop.call_later(rng.choice((0.0, 0.5, 1.0)), fire, j))
            for h in rng.sample(handles, 2):
                h.cancel()

    async def main() -> None:
        for k in range(400):
            handles.append(loop.call_at(rng.choice((1.0, 2.0, 3.0)), fire, k))
        for h in rng.sample(handles, 300):
            h.cancel()
        loop.call_soon(fire, -1)
        await asyncio.sleep(50.0)

    run_and_close(loop, main())
    return order


def test_the_fifo_fast_path_runs_timers_in_asyncios_order() -> None:
    # Debug mode takes asyncio's own _run_once; outside it the loop's inlined copy runs.
    fast, base = _timer_order(debug=False), _timer_order(debug=True)
    assert len(fast) > 500
    assert fast == base
