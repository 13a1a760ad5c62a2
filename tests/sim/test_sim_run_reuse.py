"""What an exploration's runs reuse from one run to the next (the metrics collector, the
fleet's rendezvous orders): a run leaves nothing behind that the next one sees."""

from __future__ import annotations

import copy
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from dnsrace.seeds import substream
from dnsrace.sim import runner
from dnsrace.sim.assembly import RunParts, _enactor_faults, new_enactor
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.enactor import Enactor
from dnsrace.sim.explore import _Runner, explore_preset, violations
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore, StoreTimer
from dnsrace.sim.operator import Operator
from dnsrace.sim.planner import PlanBoard
from dnsrace.sim.scenario import load_scenario

SPIN = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"
FIXED = {"endpoints", "regional", "current_window_s", "regional_name"}


def _state(metrics: Metrics) -> dict[str, Any]:
    """Every field of a collector, copied (the timeline compares by value)."""
    return copy.deepcopy(vars(metrics))


def _store_state(store: ObservedStore) -> Any:
    """What a store wrapper carries from call to call, and its store's counters."""
    flight = store.inflight
    return (
        len(store.stuck_listeners),
        dict(store._clients),
        (len(flight._writes), flight._registered, flight._settling),
        store.raw.stats(),
    )


def _operator_state(operator: Operator) -> Any:
    """An operator's own state (not the run's objects it points at)."""
    return (
        operator.pending,
        list(operator.unrepairable),
        dict(operator._empty_since),
        operator._detect_after,
        list(operator.alarm_log),
        dict(operator._stuck_since),
        len(operator.store.stuck_listeners),
    )


def _board_state(board: PlanBoard) -> Any:
    """A board's state, its waiters counted (futures compare by identity)."""
    return {k: len(v) if isinstance(v, list) else v for k, v in vars(board).items()}


def _enactor_state(enactor: Enactor) -> Any:
    """What an enactor carries from step to step (not the run's objects it points at)."""
    return (enactor.idle, enactor._declare, enactor._task, enactor._pausing, enactor._latency)


def _runner() -> _Runner:
    return _Runner(load_scenario(SPIN), lookup("aws2025").with_trees_kept(2), "random", 3, "rust")


def test_a_run_after_another_is_the_run_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed A, then B, then A again in one runner (one reused collector and store wrapper):
    A's verdict, steps, final metrics state and store are the same both times, and those of
    A in a fresh process state (both made new)."""
    # As outside the tests: no history sink (a recorded run makes its own store wrapper).
    monkeypatch.setattr(runner, "_history_sinks", [])
    found = _runner()
    verdicts = {seed: found.run(seed).metrics for seed in range(1, 120)}
    bad = next(s for s, m in verdicts.items() if violations(m))
    good = next(s for s, m in verdicts.items() if not violations(m))

    def run(seed: int) -> tuple[Any, ...]:
        result = found.run(seed)
        kept = runner._kept_for(found.loop)
        store = kept.store
        assert store is not None and store.metrics is kept.metrics
        operator, board = kept.operator, kept.board
        assert operator is not None and board is not None
        assert operator.store is store and operator.board is board
        return (
            result.metrics,
            result.steps,
            _state(store.metrics),
            _store_state(store),
            _operator_state(operator),
            _board_state(board),
            [_enactor_state(e) for e in kept.enactors.values()],
        )

    for a, b in ((bad, good), (good, bad)):
        # A's collector and store wrapper made new, as in a fresh process.
        runner._kept_by_loop.pop(found.loop, None)
        alone = run(a)
        run(b)
        again = run(a)
        assert again == alone
        assert alone[0] != run(b)[0] or a == b  # B differs: the runs did not all look alike
    found.close()


def _dirty(metrics: Metrics) -> None:
    """Every per-run field changed: containers filled, every other value replaced."""
    for name, value in vars(metrics).items():
        if name in FIXED:
            continue
        if isinstance(value, dict):
            value[7] = 1.0
        elif isinstance(value, set):
            value.add(7)
        elif isinstance(value, deque):
            value.append(7)
        else:
            setattr(metrics, name, ("dirty", name))


def test_reset_gives_a_new_collector() -> None:
    fresh = Metrics(3, regional_name="r.example", current_window_s=2.0)
    used = Metrics(3, regional_name="r.example", current_window_s=2.0)
    _dirty(used)
    assert _state(used) != _state(fresh)
    used.reset()
    assert _state(used) == _state(fresh)
    assert used.matches(3, "r.example", 2.0)
    assert not used.matches(4, "r.example", 2.0)


def test_only_seed_free_faults_are_shared() -> None:
    """A calm scenario's enactor faults draw nothing: one object serves every seed. Faults
    that draw (incident.toml: latencies, pauses, slow batches) are made per run."""
    calm = load_scenario(SPIN)
    a, b = _enactor_faults(calm.with_seed(1), "A"), _enactor_faults(calm.with_seed(2), "A")
    assert a.seed_free and a is b
    assert _enactor_faults(calm.with_seed(1), "B") is not a
    stormy = load_scenario(SPIN.parent / "incident.toml")
    x, y = _enactor_faults(stormy.with_seed(1), "A"), _enactor_faults(stormy.with_seed(2), "A")
    assert not x.seed_free and x is not y
    assert x.pauses != y.pauses  # the seed moves them: sharing them would be wrong


def test_renew_gives_a_new_store() -> None:
    """A renewed wrapper is a new one: a new, empty store behind it, no listener left, no
    write in flight, no client numbers, the new run's metrics, clock and timer."""
    backend = runner._backend("rust")
    metrics = Metrics(1, regional_name="r.example", current_window_s=2.0)
    used = ObservedStore(backend, metrics, lambda: 1.0, timed=False)
    used.add_endpoints(["r.example"])
    used.stuck_listeners.append(lambda ids: None)
    used._clients["x"] = 0
    used.inflight._registered, used.inflight._settling = 3, True
    old_raw = used.raw
    fresh = ObservedStore(backend, metrics, lambda: 2.0, timed=False)
    timer = StoreTimer()
    used.renew(metrics, fresh.now, timer)
    assert used.raw is not old_raw
    assert _store_state(used) == _store_state(fresh)
    assert used.now is fresh.now and used.inflight._now is fresh.now and used.timer is timer


def test_runs_on_another_loop_share_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runners (two loops) taking turns: each run makes its own collector and wrapper,
    so a run in progress on one loop never has them reset under it by the other."""
    monkeypatch.setattr(runner, "_history_sinks", [])
    one, two = _runner(), _runner()
    alone = [one.run(seed).metrics for seed in range(1, 6)]
    mixed = []
    for seed in range(1, 6):
        mixed.append(one.run(seed).metrics)
        metrics = runner._kept_for(one.loop).metrics
        two.run(seed + 100)
        assert runner._kept_for(two.loop).metrics is not metrics
        assert runner._kept_for(one.loop).metrics is metrics  # one's kept through two's run
    assert mixed == alone
    one.close()
    two.close()


def test_operator_and_board_reset_to_new_ones() -> None:
    scenario = load_scenario(SPIN)
    backend = runner._backend("rust")
    metrics = Metrics(1, regional_name="r.example", current_window_s=2.0)
    store = ObservedStore(backend, metrics, lambda: 0.0, timed=False)
    board, fresh_board = PlanBoard(), PlanBoard()
    board.publish(3, 1.0)
    board.mark_applied(2)
    board.pause_automation()
    assert _board_state(board) != _board_state(fresh_board)
    board.reset()
    assert _board_state(board) == _board_state(fresh_board)

    def operator() -> Operator:
        rng = substream(1, "operator")
        return Operator(scenario.operator, store, None, board, metrics, rng, 0, lambda: 0.0)  # type: ignore[arg-type]

    used, fresh = operator(), operator()
    used.pending, used._detect_after = 2, 5.0
    used.unrepairable.append(4)
    used._empty_since[0] = 1.0
    used.alarm_log.append((1.0, 1, True))
    used._stuck_since[0] = 1.0
    store.stuck_listeners.clear()
    fresh_listeners = 1
    used.reset(store, None, board, metrics, substream(1, "operator"), lambda: 0.0)  # type: ignore[arg-type]
    assert _operator_state(used) == (*_operator_state(fresh)[:-1], fresh_listeners)


def test_enactor_reset_to_a_new_one() -> None:
    scenario = load_scenario(SPIN)
    backend = runner._backend("rust")
    metrics = Metrics(1, regional_name="r.example", current_window_s=2.0)
    store = ObservedStore(backend, metrics, lambda: 0.0, timed=False)
    parts = RunParts(scenario, store, PlanBoard(), metrics, lambda: 0.0)
    discipline = lookup("aws2025")
    used = new_enactor(parts, "A", discipline, [], 1)
    fresh = new_enactor(parts, "A", discipline, [], 1)
    used.idle, used._task = False, object()
    used._declare = lambda task, footprint: None
    again = new_enactor(parts, "A", discipline, used.walk, 1, last=used)
    assert again is used
    assert _enactor_state(used) == _enactor_state(fresh)
    # Another discipline or walk: a new enactor.
    assert new_enactor(parts, "A", lookup("cas"), used.walk, 1, last=used) is not used
    assert new_enactor(parts, "A", discipline, [], 1, last=used) is not used


def test_explorations_in_two_threads_give_their_results_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two explorations of two scenarios in two threads, switching often: each gives what it
    gives alone. What runs reuse is per loop and the per-scenario caches swap whole entries,
    so no thread reads or resets another's (a process-wide kit failed this: wrong counts and
    'plan 2 is already stored')."""
    monkeypatch.setattr(runner, "_history_sinks", [])
    jobs = [
        (load_scenario(SPIN), lookup("aws2025").with_trees_kept(2)),
        (load_scenario(SPIN.with_name("spin_2x3.toml")), lookup("cas").with_trees_kept(2)),
    ]

    def explore(i: int) -> tuple[int, int, dict[str, int]]:
        found = explore_preset(*jobs[i], runs=150, schedule="random", depth=3, seed=7)
        return found.runs, found.violating_runs, dict(found.by_kind)

    alone = [explore(i) for i in range(2)]
    together: list[Any] = [None, None]

    def work(i: int) -> None:
        try:
            together[i] = explore(i)
        except Exception as exc:
            together[i] = repr(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert together == alone
