"""Clocks and random streams: virtual time is instant and repeatable, real time is real."""

from __future__ import annotations

import asyncio
import time

import pytest

from dnsrace.seeds import substream
from dnsrace.sim.clock import VirtualDeadlock, VirtualEventLoop, run


async def _workers() -> list[tuple[str, float]]:
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []

    async def worker(name: str, step: float, count: int) -> None:
        for _ in range(count):
            await asyncio.sleep(step)
            log.append((name, loop.time()))

    await asyncio.gather(worker("a", 1.5, 3), worker("b", 1.0, 4), worker("c", 3600.0, 2))
    return log


def test_virtual_time_jumps_instead_of_sleeping() -> None:
    start = time.perf_counter()
    log = run(_workers, "virtual")
    assert time.perf_counter() - start < 1.0  # two simulated hours, no wall time
    assert log == [
        ("b", 1.0),
        ("a", 1.5),
        ("b", 2.0),
        ("a", 3.0),  # scheduled before b's third sleep ended: ties run in scheduling order
        ("b", 3.0),
        ("b", 4.0),
        ("a", 4.5),
        ("c", 3600.0),
        ("c", 7200.0),
    ]


def test_virtual_runs_are_repeatable() -> None:
    assert run(_workers, "virtual") == run(_workers, "virtual")


def test_virtual_timeouts_and_wait_for() -> None:
    async def main() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        never: asyncio.Future[None] = loop.create_future()
        try:
            await asyncio.wait_for(never, timeout=42.0)
        except TimeoutError:
            return True, loop.time()
        return False, loop.time()

    assert run(main, "virtual") == (True, 42.0)


def test_virtual_deadlock_is_detected() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()  # nothing will ever resolve it

    with pytest.raises(VirtualDeadlock):
        run(main, "virtual")


def test_virtual_loop_starts_at_given_time_and_handles_call_later() -> None:
    loop = VirtualEventLoop(start=100.0)
    try:
        fired: list[float] = []
        loop.call_later(5.0, lambda: fired.append(loop.time()))
        loop.run_until_complete(asyncio.sleep(10.0))
        assert fired == [105.0]
        assert loop.time() == 110.0
    finally:
        loop.close()


def test_real_clock_runs_on_uvloop_in_real_time() -> None:
    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(0.05)
        return type(loop).__module__, loop.time() - t0

    module, elapsed = run(main, "real")
    assert module.startswith("uvloop")
    assert 0.04 <= elapsed < 1.0


def test_substreams_are_deterministic_and_independent() -> None:
    a1 = [substream(7, "enactor", "A").random() for _ in range(3)]
    a2 = [substream(7, "enactor", "A").random() for _ in range(3)]
    assert a1 == a2
    assert substream(7, "enactor", "A").random() != substream(7, "enactor", "B").random()
    assert substream(7, "planner").random() != substream(8, "planner").random()
    # Names are separated, not concatenated: ("ab", "c") is not ("a", "bc").
    assert substream(1, "ab", "c").random() != substream(1, "a", "bc").random()
