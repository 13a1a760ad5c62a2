"""Exploration's verdict-only runs (``run_with_schedule(..., verdict_only=True)``) and the
bounded search's fingerprint of undrawn random streams: faster, and the same verdicts, steps
and state partition as the whole runs they stand for."""

from __future__ import annotations

import asyncio
import gc
import logging
from functools import cache
from pathlib import Path

import pytest

from dnsrace.clock import VirtualEventLoop
from dnsrace.seeds import substream
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.explore import violations
from dnsrace.sim.fingerprint import _rng
from dnsrace.sim.runner import run_with_schedule
from dnsrace.sim.scenario import Scenario, load_scenario
from dnsrace.sim.schedule import DfsSchedule, make_schedule

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@cache
def _scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / name)


@pytest.mark.parametrize(
    ("scenario", "preset", "schedule"),
    [
        ("spin.toml", "aws2025", "random"),
        ("spin.toml", "aws2025+checked_cleanup", "pos"),
        ("spin_exact.toml", "model_race", "random"),
        ("spin_late.toml", "aws2025", "random"),
        ("spin_2x3.toml", "aws2025", "random"),
    ],
)
def test_a_verdict_only_run_gives_the_whole_runs_verdict(
    scenario: str, preset: str, schedule: str
) -> None:
    s = _scenario(scenario)
    d = {d.name: d for d in s.discipline_list()}[preset]
    seen: set[str] = set()
    skipped = 0
    for seed in range(1, 61):
        whole = run_with_schedule(s.with_seed(seed), d, make_schedule(schedule, seed))
        quick = run_with_schedule(
            s.with_seed(seed), d, make_schedule(schedule, seed), verdict_only=True
        )
        assert violations(quick.metrics) == violations(whole.metrics), seed
        # The same decisions until the fleet settled; the quick run skips the unwinding.
        assert quick.settled_steps == whole.settled_steps > 0
        assert quick.steps <= whole.steps
        skipped += whole.steps - quick.steps
        seen.update(violations(whole.metrics))
    assert seen, "the seeds show some violation (else the comparison proves little)"
    assert skipped > 0, "the quick runs skip the settled fleet's unwinding"


def test_a_verdict_only_run_records_nothing() -> None:
    with pytest.raises(ValueError, match="verdict-only"):
        run_with_schedule(
            _scenario("spin.toml"), lookup("cas"), None, verdict_only=True, history="x.jsonl"
        )


def test_an_undrawn_stream_is_fingerprinted_without_seeding_it() -> None:
    a, b = substream(7, "enactor", "A"), substream(7, "enactor", "A")
    assert _rng(a) == _rng(b)
    assert "_key" in a.__dict__  # still unseeded: the fingerprint did not wake it
    a.random()
    assert _rng(a) != _rng(b)  # a drawn stream is never in its initial state again
    b.random()
    assert _rng(a) == _rng(b)
    assert _rng(substream(7, "enactor", "B")) != _rng(substream(7, "enactor", "A"))


def test_a_quick_run_leaves_no_task_behind(caplog: pytest.LogCaptureFixture) -> None:
    """The tasks a verdict-only run closes instead of cancelling: none is woken after its
    coroutine is closed (its exception never retrieved), none logged as destroyed pending,
    none left among the loop's live tasks for the next run to see."""
    s = _scenario("spin.toml")
    d = lookup("aws2025")
    loop = VirtualEventLoop()
    try:
        with caplog.at_level(logging.DEBUG, logger="asyncio"):
            for seed in range(1, 201):
                run_with_schedule(
                    s.with_seed(seed),
                    d,
                    make_schedule("random", seed),
                    loop=loop,
                    verdict_only=True,
                )
                assert not asyncio.all_tasks(loop), seed
            gc.collect()
    finally:
        loop.close()
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_a_bounded_search_run_keeps_the_unwinding() -> None:
    """The bounded search counts every step of a run, the tasks' unwinding at its end too:
    a verdict-only run under a DFS schedule does not skip it (its counts would change)."""
    s = _scenario("spin.toml")
    whole = run_with_schedule(s, lookup("cas"), DfsSchedule([], 0))
    quick = run_with_schedule(s, lookup("cas"), DfsSchedule([], 0), verdict_only=True)
    assert quick.settled_steps == whole.settled_steps > 0
    assert quick.steps == whole.steps > quick.settled_steps


def test_a_verdict_only_run_in_asyncio_order_with_progress_ends_cleanly() -> None:
    """A settled verdict-only run drops every queued step (the runner's ``_abandon``) from
    inside a step; on asyncio's order (no schedule) the loop's iteration still had steps of
    other tasks to run after it (here the progress ticker's) and popped an emptied queue
    (IndexError, seed 1). The run now ends with the whole run's verdict."""
    s = _scenario("incident_small.toml")
    d = lookup("aws2025")
    ticks: list[float] = []
    for seed in (1, 2):
        whole = run_with_schedule(s.with_seed(seed), d, None)
        quick = run_with_schedule(
            s.with_seed(seed), d, None, verdict_only=True, progress=ticks.append
        )
        assert violations(quick.metrics) == violations(whole.metrics), seed
    assert ticks, "the progress callback was called (its ticker's steps were queued)"
