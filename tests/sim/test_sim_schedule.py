"""Schedules: seeded random and PCT picks, and the virtual loop that runs one step per pick."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from dnsrace.sim.clock import VirtualDeadlock, VirtualEventLoop, new_loop
from dnsrace.sim.clock import run as run_on
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import KINDS, explore_preset, violations
from dnsrace.sim.runner import run_discipline, run_with_schedule
from dnsrace.sim.scenario import EndpointsConfig, Scenario, load_scenario
from dnsrace.sim.schedule import (
    SCHEDULES,
    FifoSchedule,
    PctSchedule,
    PosSchedule,
    RandomSchedule,
    Schedule,
    conflicts,
    make_schedule,
)

SPIN = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"


class _Task:
    """Stands for an asyncio task: its handles' callbacks are its bound methods."""

    def __init__(self, name: str) -> None:
        self.name = name

    def step(self) -> None:  # pragma: no cover - never called
        pass

    def wakeup(self) -> None:  # pragma: no cover - never called
        pass


class _Handle:
    def __init__(self, owner: _Task, wakeup: bool = False) -> None:
        self._callback = owner.wakeup if wakeup else owner.step
        self.owner = owner


def _ready(tasks: list[_Task], order: list[int] | None = None) -> deque[Any]:
    order = list(range(len(tasks))) if order is None else order
    return deque(_Handle(tasks[i], wakeup=bool(k % 2)) for k, i in enumerate(order))


def _owners_picked(schedule: Schedule, tasks: list[_Task], steps: int) -> list[str]:
    """Pick ``steps`` times among all tasks ready (rotating their order in the queue)."""
    out = []
    for k in range(steps):
        order = [(k + i) % len(tasks) for i in range(len(tasks))]
        ready = _ready(tasks, order)
        out.append(ready[schedule.pick(ready)].owner.name)
    return out


TASKS = [_Task(n) for n in "ABCDE"]


# ------------------------------------------------------------------------------ factory


def test_make_schedule() -> None:
    assert SCHEDULES == ("clock", "random", "pct", "pos")
    assert make_schedule("clock", 1) is None
    assert isinstance(make_schedule("pos", 1), PosSchedule)
    assert isinstance(make_schedule("random", 1), RandomSchedule)
    pct = make_schedule("pct", 1, depth=4, horizon=10)
    assert isinstance(pct, PctSchedule) and pct.depth == 4
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("fifo", 1)
    with pytest.raises(ValueError, match="depth"):
        PctSchedule(1, 0, 10)
    with pytest.raises(ValueError, match="depth"):
        make_schedule("pct", 1, depth=0, horizon=10)


def test_fifo_takes_the_first_and_counts() -> None:
    f = FifoSchedule()
    for _ in range(7):
        assert f.pick(_ready(TASKS)) == 0
    assert f.steps == 7


# ------------------------------------------------------------------------------ random


def test_random_picks_are_reproducible_and_vary_with_the_seed() -> None:
    picks = {seed: _owners_picked(RandomSchedule(seed), TASKS, 200) for seed in range(1, 6)}
    assert picks[1] == _owners_picked(RandomSchedule(1), TASKS, 200)
    assert len({tuple(p) for p in picks.values()}) == 5
    for p in picks.values():
        counts = {name: p.count(name) for name in "ABCDE"}
        assert all(15 <= c <= 70 for c in counts.values()), counts  # ~uniform (40 each)


def test_random_pick_is_an_index_of_the_ready_queue() -> None:
    r = RandomSchedule(3)
    for n in (1, 2, 5):
        for _ in range(50):
            assert 0 <= r.pick(_ready(TASKS[:n])) < n
    assert r.steps == 150
    assert {r.pick(_ready(TASKS[:1])) for _ in range(20)} == {0}


# ------------------------------------------------------------------------------ PCT


def test_pct_runs_the_highest_priority_task_and_depth_1_never_changes() -> None:
    for seed in range(1, 30):
        pct = PctSchedule(seed, 1, 100)
        picked = _owners_picked(pct, TASKS, 100)
        assert len(set(picked)) == 1  # no change point: the same task all along
        # ... whatever the order of the queue, and it is the one of highest priority.
        again = PctSchedule(seed, 1, 100)
        for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
            ready = _ready(TASKS, order)
            assert ready[again.pick(ready)].owner.name == picked[0]
    firsts = {_owners_picked(PctSchedule(seed, 1, 10), TASKS, 1)[0] for seed in range(1, 60)}
    assert firsts == set("ABCDE")  # the initial priorities are random


def test_pct_priority_belongs_to_the_task_not_the_handle() -> None:
    pct = PctSchedule(5, 1, 10)
    winner = _owners_picked(pct, TASKS, 1)[0]
    task = next(t for t in TASKS if t.name == winner)
    # The same task's wake-up handle (another bound method) carries the same priority.
    others = [_Handle(t) for t in TASKS if t is not task]
    ready = deque([*others, _Handle(task, wakeup=True)])
    assert ready[pct.pick(ready)].owner is task


def _switches(picked: list[str]) -> list[int]:
    """1-based steps at which the picked task differs from the step before."""
    return [k + 1 for k in range(1, len(picked)) if picked[k] != picked[k - 1]]


def test_pct_change_point_lowers_the_running_task_below_all_others() -> None:
    horizon = 40
    seen_steps = set()
    for seed in range(1, 80):
        picked = _owners_picked(PctSchedule(seed, 2, horizon), TASKS, 2 * horizon)
        switches = _switches(picked)
        # One change point: one switch (none visible if it struck at the very first step).
        assert len(switches) <= 1, (seed, picked)
        if not switches:
            assert len(set(picked)) == 1
            continue
        (k,) = switches
        assert 2 <= k <= horizon
        seen_steps.add(k)
        lowered = picked[k - 2]
        assert lowered not in picked[k - 1 :]  # below every other task from then on
        assert picked == _owners_picked(PctSchedule(seed, 2, horizon), TASKS, 2 * horizon)
    assert len(seen_steps) > 15  # change points spread over the horizon


def test_pct_depth_d_has_at_most_d_minus_1_change_points() -> None:
    tasks = TASKS[:3]
    for depth in (1, 2, 3, 5):
        most = 0
        for seed in range(1, 40):
            pct = PctSchedule(seed, depth, 30)
            picked = _owners_picked(pct, tasks, 60)
            most = max(most, len(_switches(picked)))
            assert len(_switches(picked)) <= depth - 1
            assert pct.steps == 60
        assert (most == 0) == (depth == 1)


def test_pct_later_change_points_go_lower() -> None:
    # Two tasks, depth 3: the first change point lowers the first winner; the second one
    # lowers the other below it, so the first winner runs again.
    tasks = TASKS[:2]
    checked = 0
    for seed in range(1, 40):
        picked = _owners_picked(PctSchedule(seed, 3, 20), tasks, 40)
        switches = _switches(picked)
        if len(switches) == 2:
            checked += 1
            assert picked[0] == picked[-1] != picked[switches[0] - 1]
    assert checked > 10


# ------------------------------------------------------------------------------ POS


def _fp(reads: str = "", writes: str = "") -> tuple[frozenset[object], frozenset[object]]:
    return frozenset(reads), frozenset(writes)


def test_footprints_conflict_when_one_writes_what_the_other_touches() -> None:
    assert conflicts(_fp(writes="x"), _fp(reads="x"))
    assert conflicts(_fp(reads="x"), _fp(writes="x"))
    assert conflicts(_fp(writes="x"), _fp(writes="x"))
    assert not conflicts(_fp(reads="x"), _fp(reads="x"))
    assert not conflicts(_fp(writes="x"), _fp(reads="y", writes="z"))
    assert conflicts(None, _fp()) and conflicts(_fp(), None)  # undeclared: assume the worst


def _pos_run(seed: int, steps: int, footprints: dict[str, str] | None) -> list[str]:
    """Run POS over TASKS: each picked task's handle is consumed and replaced by a new one
    (its next step); the others wait with the same handle. ``footprints``: task -> the key
    it writes (None: nothing declared)."""
    pos = PosSchedule(seed)
    if footprints is not None:
        for t in TASKS:
            pos.declare(t, _fp(writes=footprints[t.name]))
    ready = deque(_Handle(t) for t in TASKS)
    out = []
    for _ in range(steps):
        i = pos.pick(ready)
        handle = ready[i]
        del ready[i]
        out.append(handle.owner.name)
        ready.append(_Handle(handle.owner))
    assert pos.steps == steps
    return out


def test_pos_is_reproducible_and_varies_with_the_seed() -> None:
    keys = dict(zip("ABCDE", "xxyyz", strict=True))
    picks = {seed: _pos_run(seed, 200, keys) for seed in range(1, 6)}
    assert picks[1] == _pos_run(1, 200, keys)
    assert len({tuple(p) for p in picks.values()}) == 5
    for p in picks.values():
        assert set(p) == set("ABCDE")


def test_pos_redraws_exactly_the_events_that_race_with_the_one_that_ran() -> None:
    a, b, c = TASKS[:3]
    for seed in range(1, 30):
        pos = PosSchedule(seed)
        pos.declare(a, _fp(writes="x"))
        pos.declare(b, _fp(reads="x"))  # races with a
        pos.declare(c, _fp(reads="y"))  # does not
        ha, hb, hc = _Handle(a), _Handle(b), _Handle(c)
        ready: deque[Any] = deque([hb, ha, hc])
        pos._events = {id(ha): (ha, 0.9), id(hb): (hb, 0.5), id(hc): (hc, 0.3)}
        assert ready[pos.pick(ready)] is ha  # the highest priority runs
        assert id(ha) not in pos._events  # a's next step will be a new event
        assert pos._events[id(hc)][1] == 0.3  # kept
        assert pos._events[id(hb)][1] != 0.5  # drawn anew


def test_pos_without_races_keeps_a_waiting_task_waiting() -> None:
    # All five tasks write disjoint keys: a task that lost keeps its priority, so the runner
    # of each step is a fresh draw against the kept ones and the lowest waits long. When all
    # race (nothing declared), every step is a fresh draw for everyone: uniform.
    def longest_wait(picked: list[str]) -> int:
        last = dict.fromkeys("ABCDE", -1)
        worst = 0
        for k, name in enumerate(picked):
            worst = max(worst, k - last[name] - 1)
            last[name] = k
        return worst

    disjoint = dict(zip("ABCDE", "vwxyz", strict=True))
    kept = sorted(longest_wait(_pos_run(seed, 300, disjoint)) for seed in range(1, 21))
    redrawn = sorted(longest_wait(_pos_run(seed, 300, None)) for seed in range(1, 21))
    assert kept[10] > 2 * redrawn[10], (kept, redrawn)


def test_the_enactors_declare_their_footprints() -> None:
    declared: set[object] = set()

    class Recording(PosSchedule):
        def declare(self, owner: object, footprint: Any) -> None:
            declared.update(*footprint)
            super().declare(owner, footprint)

    s = load_scenario(SPIN)
    run_with_schedule(s.with_seed(7), lookup("aws2025"), Recording(7))
    assert {("alias", 0), ("lease", 0), "board", "trees"} <= declared


# ------------------------------------------------------------------------------ the loop


async def _program(log: list[tuple[float, str]]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()

    async def worker(name: str, delays: list[float]) -> str:
        for d in delays:
            await asyncio.sleep(d)
            log.append((loop.time(), name))
        return name.upper()

    gathered = await asyncio.gather(
        worker("a", [1.0, 1.0, 1.0]), worker("b", [0.5, 2.0]), worker("c", [0.0, 0.0, 3.0])
    )
    t_gather = loop.time()
    try:
        await asyncio.wait_for(asyncio.sleep(10.0), timeout=2.5)
        timed_out = False
    except TimeoutError:
        timed_out = True
    t_timeout = loop.time()
    quick = await asyncio.wait_for(worker("d", [0.25]), timeout=5.0)

    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=2)
    received: list[int] = []

    async def producer() -> None:
        for i in range(6):
            await queue.put(i)
            await asyncio.sleep(0)

    async def consumer() -> None:
        for _ in range(6):
            received.append(await queue.get())
            await asyncio.sleep(0.1)

    await asyncio.gather(producer(), consumer())

    event = asyncio.Event()
    fired: list[float] = []
    loop.call_later(1.5, event.set)
    loop.call_later(0.5, lambda: fired.append(loop.time()))
    await event.wait()
    return {
        "gathered": gathered,
        "t_gather": t_gather,
        "timed_out": timed_out,
        "t_timeout": t_timeout,
        "quick": quick,
        "received": received,
        "fired": fired,
        "end": loop.time(),
    }


def _on_loop(loop: VirtualEventLoop, main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return loop.run_until_complete(main())


SCHEDULE_FACTORIES: list[Any] = [
    pytest.param(lambda seed: None, id="clock"),
    pytest.param(lambda seed: FifoSchedule(), id="fifo"),
    pytest.param(lambda seed: RandomSchedule(seed), id="random"),
    pytest.param(lambda seed: PctSchedule(seed, 3, 60), id="pct"),
]


@pytest.mark.parametrize("factory", SCHEDULE_FACTORIES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_scheduled_loop_runs_asyncio_programs_correctly(
    factory: Callable[[int], Schedule | None], seed: int
) -> None:
    log: list[tuple[float, str]] = []
    schedule = factory(seed)
    out = run_on(lambda: _program(log), "virtual", schedule)
    assert out["gathered"] == ["A", "B", "C"]
    assert out["t_gather"] == 3.0
    assert out["timed_out"] and out["t_timeout"] == 5.5
    assert out["quick"] == "D"
    assert out["received"] == [0, 1, 2, 3, 4, 5]
    assert out["fired"] == [pytest.approx(5.75 + 0.6 + 0.5)]
    assert out["end"] == pytest.approx(5.75 + 0.6 + 1.5)
    # Virtual time: every event happens at its exact instant, whatever the order.
    assert sorted(log) == sorted(
        [
            *[(1.0, "a"), (2.0, "a"), (3.0, "a"), (0.5, "b"), (2.5, "b")],
            *[(0.0, "c"), (0.0, "c"), (3.0, "c"), (5.75, "d")],
        ]
    )
    assert [t for t, _ in log] == sorted(t for t, _ in log)
    if schedule is not None:
        assert schedule.steps > 20


async def _race(log: list[str]) -> None:
    async def task(name: str) -> None:
        for i in range(4):
            log.append(f"{name}{i}")
            await asyncio.sleep(0)

    await asyncio.gather(*(task(n) for n in "xyz"))


def _race_order(schedule: Schedule | None) -> list[str]:
    log: list[str] = []
    run_on(lambda: _race(log), "virtual", schedule)
    return log


def test_the_schedule_decides_the_interleaving_reproducibly() -> None:
    fifo = _race_order(None)
    assert fifo == [f"{n}{i}" for i in range(4) for n in "xyz"]  # asyncio's round robin
    assert _race_order(FifoSchedule()) == fifo
    orders = {seed: _race_order(RandomSchedule(seed)) for seed in range(1, 11)}
    assert orders[4] == _race_order(RandomSchedule(4))
    assert len({tuple(o) for o in orders.values()}) > 5
    for order in orders.values():
        assert sorted(order) == sorted(fifo)
        for n in "xyz":  # each task's own steps stay in program order
            assert [e for e in order if e[0] == n] == [f"{n}{i}" for i in range(4)]
    # PCT: the highest-priority task runs its steps back to back until a change point.
    for seed in range(1, 10):
        order = _race_order(PctSchedule(seed, 1, 30))
        first = order[0][0]
        assert order[:4] == [f"{first}{i}" for i in range(4)]


def test_deadlock_is_reported_with_a_schedule() -> None:
    async def stuck() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(VirtualDeadlock):
        run_on(stuck, "virtual", RandomSchedule(1))


def test_reset_reuses_a_loop_from_time_zero() -> None:
    loop = VirtualEventLoop()
    try:
        first = RandomSchedule(7)
        loop.reset(first)
        log1: list[tuple[float, str]] = []
        out1 = _on_loop(loop, lambda: _program(log1))
        assert loop.time() > 0
        second = RandomSchedule(7)
        loop.reset(second)
        assert loop.time() == 0.0 and loop.schedule is second
        log2: list[tuple[float, str]] = []
        out2 = _on_loop(loop, lambda: _program(log2))
        assert (out1, log1) == (out2, log2)
        assert first.steps == second.steps > 0
        loop.reset(None, start=100.0)
        assert loop.time() == 100.0 and loop.schedule is None
    finally:
        loop.close()


def test_reset_leaves_nothing_of_the_previous_run() -> None:
    """A callback still queued when a run ended must not run (or take a pick) in the next."""
    log: list[tuple[str, int]] = []
    run = [0]

    async def leaky() -> None:
        loop = asyncio.get_running_loop()
        n = run[0]
        loop.call_soon(lambda: log.append(("soon", n)))
        handle = loop.call_later(0.0, lambda: log.append(("later", n)))
        loop.call_later(50.0, lambda: log.append(("timer", n))).cancel()
        handle.cancel()

    async def quiet() -> None:
        await asyncio.sleep(100.0)

    loop = VirtualEventLoop()
    try:
        for seed in range(1, 11):
            run[0] = seed
            loop.reset(RandomSchedule(seed))
            loop.run_until_complete(leaky())
            run[0] = -seed
            probe = FifoSchedule()
            loop.reset(probe)
            loop.run_until_complete(quiet())
            fresh = VirtualEventLoop(schedule=FifoSchedule())
            try:
                fresh.run_until_complete(quiet())
                assert probe.steps == fresh.schedule.steps  # type: ignore[union-attr]
            finally:
                fresh.close()
    finally:
        loop.close()
    assert [entry for entry in log if entry[1] < 0] == []
    assert not [entry for entry in log if entry[0] != "soon"]


def test_a_schedule_needs_the_virtual_clock() -> None:
    with pytest.raises(ValueError, match="virtual"):
        new_loop("real", RandomSchedule(1))


# ------------------------------------------------------------------------------ whole runs


def test_scheduled_runs_replay_exactly() -> None:
    s = load_scenario(SPIN)
    d = lookup("aws2025")
    for schedule in ("random", "pct", "pos"):
        a = run_discipline(s.with_seed(5), d, schedule=schedule)
        b = run_discipline(s.with_seed(5), d, schedule=schedule)
        assert a.metrics == b.metrics and a.steps == b.steps > 0
    steps = {run_discipline(s.with_seed(k), d, schedule="random").steps for k in range(1, 30)}
    assert len(steps) > 1  # the schedule changes the run
    assert run_discipline(s, d).steps == 0  # clock order counts no decision


def test_a_reused_loop_gives_the_same_run_as_a_fresh_one() -> None:
    """Exploration reuses one loop (``reset``); each run must still be the run that
    ``dnsrace run --seed S`` replays on a fresh loop, whatever ran on the loop before."""
    s = load_scenario(SPIN)
    d = lookup("aws2025+checked_cleanup")
    loop = VirtualEventLoop()
    differ = []
    try:
        for seed in range(1, 21):
            fresh_loop = VirtualEventLoop()
            try:
                fresh = run_with_schedule(
                    s.with_seed(seed), d, RandomSchedule(seed), loop=fresh_loop
                )
            finally:
                fresh_loop.close()
            reused = run_with_schedule(s.with_seed(seed), d, RandomSchedule(seed), loop=loop)
            if (fresh.metrics, fresh.steps) != (reused.metrics, reused.steps):
                differ.append(seed)
    finally:
        loop.close()
    assert differ == []


@pytest.mark.slow
def test_explored_runs_replay_on_their_own() -> None:
    """Run i of an exploration with root seed S is the run ``--seed S+i`` replays."""
    s = load_scenario(SPIN)
    d = lookup("aws2025+checked_cleanup")
    runs = 500
    found = explore_preset(s, d, runs=runs, schedule="random", depth=3, seed=1)
    replayed = [
        violations(run_discipline(s.with_seed(k), d, schedule="random").metrics)
        for k in range(1, runs + 1)
    ]
    assert found.runs == runs
    assert found.violating_runs == sum(1 for v in replayed if v)
    assert found.by_kind == {kind: sum(kind in v for v in replayed) for kind in KINDS}
    assert found.first_violation_seed == 1 + next(k for k, v in enumerate(replayed) if v)


def test_fifo_schedule_is_the_clock_order() -> None:
    s = Scenario(duration_s=30.0, drain_s=30.0).with_seed(3)
    s = s.replace(endpoints=EndpointsConfig(count=30))
    d = lookup("aws2025")
    clock = run_with_schedule(s, d, None)
    fifo = run_with_schedule(s, d, FifoSchedule())
    assert clock.metrics == fifo.metrics
    assert fifo.steps > 0 and clock.steps == 0
