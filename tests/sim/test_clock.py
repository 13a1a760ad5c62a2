"""dnsrace.clock: seeded runs are byte-repeatable, and threads follow one rule."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dnsrace import Plan, RecordStore, clock
from dnsrace.errors import DnsraceError, InvalidArgument

ROOT = Path(__file__).resolve().parents[2]


async def _contended(seed: int) -> str:
    """Three writers, same-instant wake-ups and a thread hop: a run whose bytes depend on
    the interleaving the seed picks, on the virtual times and on the store's answers."""
    loop = asyncio.get_running_loop()
    store = RecordStore()
    [web] = store.add_endpoints(["web.example.com"])
    for generation in range(1, 7):
        store.put_plan(Plan(generation, {web: [(f"10.0.0.{generation}", generation)]}))
    rng = random.Random(seed)
    log: list[list[object]] = []

    async def writer(name: str, generations: list[int]) -> None:
        for generation in generations:
            await asyncio.sleep(rng.choice([0.0, 0.5, 1.0]))  # many ties at one instant
            applied = await asyncio.to_thread(store.flip, web, generation, "lww")
            log.append([loop.time(), name, generation, applied, store.state(web).alias])

    await asyncio.gather(
        writer("a", [1, 4, 2]), writer("b", [3, 6, 5]), writer("c", [2, 5, 1, 6, 3])
    )
    return json.dumps({"log": log, "serving": store.resolve(web)})


def test_same_seed_gives_identical_bytes() -> None:
    runs = {seed: clock.run(_contended(seed), seed=seed) for seed in range(6)}
    for seed in (0, 5):
        assert clock.run(_contended(seed), seed=seed) == runs[seed]


def test_the_clock_seed_alone_chooses_the_interleaving() -> None:
    # Same simulation (its own random stream fixed), only the clock's seed varies.
    runs = {clock.run(_contended(0), seed=seed) for seed in range(12)}
    assert len(runs) > 1
    assert len({clock.run(_contended(0)) for _ in range(3)}) == 1  # no seed: asyncio's order


def test_seeded_run_is_identical_in_another_process_with_another_hash_seed() -> None:
    here = clock.run(_contended(3), seed=3)
    code = (
        "import sys; sys.path.insert(0, 'tests/sim'); "
        "from test_clock import _contended; from dnsrace import clock; "
        "sys.stdout.write(clock.run(_contended(3), seed=3))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    there = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert there == here


def test_without_seed_the_order_is_asyncios_own() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def step(name: str) -> None:
            await asyncio.sleep(1.0)
            order.append(name)
            await asyncio.sleep(0)
            order.append(name.upper())

        await asyncio.gather(*(step(n) for n in "abcde"))
        return order

    order = clock.run(main())
    # Timers due at one instant leave the heap in an order fixed by the order they were
    # scheduled (not necessarily FIFO); the steps they wake then run first come, first served.
    assert order == clock.run(main())
    assert order[:5] != order[5:] and sorted(order[:5]) == list("abcde")
    assert order[5:] == [n.upper() for n in order[:5]]


def test_to_thread_runs_inline_on_the_loop_thread_in_zero_virtual_time() -> None:
    async def main() -> tuple[int, int, float, int]:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(10.0)
        worker = await asyncio.to_thread(threading.get_ident)
        via_executor = await loop.run_in_executor(None, sum, [1, 2, 3])
        return worker, threading.get_ident(), loop.time(), via_executor

    worker, loop_thread, now, via_executor = clock.run(main())
    assert worker == loop_thread
    assert now == 10.0
    assert via_executor == 6


def test_inline_work_is_a_scheduling_step_and_its_errors_reach_the_caller() -> None:
    async def main() -> list[str]:
        events: list[str] = []

        def work() -> str:
            events.append("work")
            return "done"

        async def other() -> None:
            events.append("other")

        # Handed to the "thread" first, but it runs at its turn, after the task queued before.
        task = asyncio.ensure_future(other())
        events.append(await asyncio.to_thread(work))
        await task
        with pytest.raises(ZeroDivisionError):
            await asyncio.to_thread(lambda: 1 // 0)
        return events

    assert clock.run(main()) == ["other", "work", "done"]


def test_inline_work_cancelled_before_its_turn_never_runs() -> None:
    ran: list[bool] = []

    async def main() -> bool:
        future = asyncio.get_running_loop().run_in_executor(None, lambda: ran.append(True))
        future.cancel()
        await asyncio.sleep(1.0)
        return future.cancelled()

    assert clock.run(main()) is True
    assert ran == []


def test_refuse_raises_at_the_to_thread_call_saying_why_and_what_to_do() -> None:
    def fetch() -> int:
        return 1

    async def main() -> None:
        await asyncio.to_thread(fetch)

    with pytest.raises(clock.VirtualThreadError) as caught:
        clock.run(main(), threads="refuse")
    message = str(caught.value)
    assert "fetch" in message  # names the user's function, not asyncio's wrapper
    assert "wall-clock" in message and "threads='inline'" in message
    assert isinstance(caught.value, DnsraceError)

    async def via_executor() -> None:
        asyncio.get_running_loop().run_in_executor(None, fetch)

    with pytest.raises(clock.VirtualThreadError):
        clock.run(via_executor(), threads="refuse")


def test_waiting_for_a_thread_of_ones_own_is_a_deadlock_that_names_threads() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:

        async def main() -> None:
            await asyncio.get_running_loop().create_future()  # the thread never answers

        with pytest.raises(clock.VirtualDeadlock, match="thread you started"):
            clock.run(main())
    finally:
        release.set()
        thread.join()


def test_bad_arguments_are_refused_without_leaking_the_coroutine() -> None:
    async def main() -> None:
        return None

    with pytest.raises(InvalidArgument, match="threads"):
        clock.run(main(), threads="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="seed"):
        clock.run(main(), seed=True)
    from dnsrace.sim.schedule import FifoSchedule

    with pytest.raises(InvalidArgument, match="not both"):
        clock.run(main(), seed=1, schedule=FifoSchedule())
    for start in ("soon", float("nan"), float("inf"), True):
        with pytest.raises(InvalidArgument, match="start"):
            clock.run(main(), start=start)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"run\(main\(\)\)"):
        clock.run(main)  # type: ignore[arg-type]


def test_the_clock_imports_nothing_optional() -> None:
    code = (
        "import sys, asyncio; from dnsrace import clock; "
        "clock.run(asyncio.sleep(1.0), seed=1); "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('orjson', 'uvloop', 'rich', 'pydantic', 'numpy', 'matplotlib', 'aetcd') "
        "or m in ('dnsrace.sim.runner', 'dnsrace.sim.scenario'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""


class _NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


_HOSTILE: list[object] = [
    None, True, 0, -1, 2**64, 10**400, 10**5000, 1.5, float("nan"), "", "inline", "refuse", [], {},
    object(), _NoRepr(), b"x", 1j,
]  # fmt: skip


@given(
    keyword=st.sampled_from(["seed", "start", "threads", "schedule"]),
    value=st.one_of(
        st.integers(0, len(_HOSTILE) - 1).map(_HOSTILE.__getitem__),
        st.integers(),
        st.floats(),
        st.text(max_size=8),
    ),
)
def test_any_argument_of_run_gives_a_result_or_a_typed_error(keyword: str, value: object) -> None:
    async def main() -> float:
        await asyncio.sleep(1.0)
        return asyncio.get_running_loop().time()

    with contextlib.suppress(DnsraceError):
        clock.run(main(), **{keyword: value})  # type: ignore[arg-type]


@pytest.mark.filterwarnings("error")  # a refused run leaves no coroutine unclosed
def test_a_schedule_is_checked_before_the_run_and_its_picks_during_it() -> None:
    async def main() -> None:
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

    with pytest.raises(InvalidArgument, match="pick"):
        clock.run(main(), schedule=object())  # type: ignore[arg-type]

    class Beyond:
        steps = 0

        def pick(self, ready: object) -> int:
            return 99

    with pytest.raises(InvalidArgument, match="returned 99"):
        clock.run(main(), schedule=Beyond())

    class Broken:
        steps = 0

        def pick(self, ready: object) -> int:
            raise LookupError("the schedule's own bug")

    with pytest.raises(LookupError, match="own bug"):
        clock.run(main(), schedule=Broken())
    gc.collect()  # an unclosed coroutine warns here, "never awaited"


def test_a_run_far_from_zero_keeps_firing_its_timers() -> None:
    """From about 1e8 virtual seconds (an epoch start time, or a run three years long) a float
    step is coarser than the real clock's resolution; a timer due now never ran and the loop
    spun forever. In a child process, so that a regression fails instead of hanging."""
    code = (
        "import asyncio; from dnsrace import clock\n"
        "async def main():\n"
        "    await asyncio.sleep(1.0)\n"
        "    await asyncio.sleep(86400.0 * 365 * 5)\n"
        "    return asyncio.get_running_loop().time()\n"
        "print(clock.run(main(), start=1.7e9), clock.run(main(), start=1.7e9, seed=1))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    end = 1.7e9 + 1.0 + 86400.0 * 365 * 5
    assert done.stdout.split() == [repr(end), repr(end)], done.stderr
