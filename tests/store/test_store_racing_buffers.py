"""A buffer another thread writes while a batch call reads it (numpy releases the GIL while it
fills an array, and the store reads buffers detached): the store reads each value once,
checks it and uses that value, so an out-of-range value never enters the store, the call
never crashes, and each call either fails with a typed error (having changed nothing) or
flips with valid values only (a value found invalid after the batch's check is refused).

The writer fills the buffer's last ``TAIL`` entries in a loop, alternately with a valid value
and an invalid one (the batch checks them last and flips them last, so a writer often
changes them in between). A call that flipped and yet found an invalid fence has raced it;
each test runs until it saw ``RACES`` of those (at most ``MAX_CALLS`` calls; on a loaded
machine the writer runs less often) and asserts it saw at least one, so that it fails when the
check is removed (checked: without it, invalid fences are stored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pytest

import dnsrace
from dnsrace.errors import InvalidToken, UnknownEndpoint
from dnsrace.sim.workload import build_store, target_groups

N = 32768  # 32 chunks of 1024 endpoints
TOP = 1 << 63
VALID_FENCE, INVALID_FENCE = 5, TOP + 5
TAIL = 2048
RACES, MAX_CALLS = 20, 40000
FENCED, MISSING = 2, 3


def store_with_holes() -> Any:
    """Plans 1 and 2 cover every endpoint (batches take the vectorised kernel); plan 3 has a
    hole in every chunk (batches flip endpoint by endpoint)."""
    store, ids = build_store(dnsrace.RecordStore, dnsrace.Plan, N, 2)
    covered = np.array([i for i in ids if i % 7 != 0], dtype=np.uint32)
    index = (covered % 64).astype(np.uint32)
    store.put_plan(dnsrace.Plan.from_shared(3, target_groups(3, 64, 4), covered, index))
    store.flip_many(None, 1, "lww")
    return store


@contextmanager
def writing(buffer: Any, values: list[int]) -> Iterator[None]:
    """Run a thread that fills the last ``TAIL`` entries of ``buffer`` with each of ``values``
    in turn until exit."""
    stop, tail = threading.Event(), buffer[-TAIL:]

    def write() -> None:
        while not stop.is_set():
            for value in values:
                tail.fill(value)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def highest_fences(store: Any) -> list[int]:
    return [store.state(i).highest_fence for i in range(N)]


def run_racing(call: Callable[[int], Any], errors: type[Exception]) -> int:
    """``call(generation)`` over generations 1, 2, 3 (lww) until ``RACES`` calls flipped with
    some entries fenced (a fence read invalid after the check: only a race does that, the
    valid fences are all equal), at most ``MAX_CALLS``; the number of such calls."""
    races = 0
    for k in range(MAX_CALLS):
        try:
            result = call(k % 3 + 1)
        except errors:
            continue
        codes = np.asarray(result.outcomes)
        assert codes.min() >= 0 and codes.max() <= MISSING
        races += bool(np.any(codes == FENCED))
        if races == RACES:
            break
    return races


@pytest.mark.parametrize(
    "scattered",
    [
        pytest.param(False, id="every-endpoint"),
        pytest.param(True, id="scattered-ids"),
    ],
)
def test_racing_fence_buffer_never_stores_an_invalid_fence(scattered: bool) -> None:
    """Every endpoint: flips to plans 1 and 2 take the vectorised kernel, to plan 3 one
    endpoint at a time. Scattered ids: every endpoint flipped one by one."""
    store = store_with_holes()
    ids = np.arange(N - 1, -1, -3, dtype=np.uint32) if scattered else None
    fences = np.full(N if ids is None else len(ids), VALID_FENCE, dtype=np.uint64)
    with writing(fences, [VALID_FENCE, INVALID_FENCE]):
        races = run_racing(
            lambda g: store.flip_many(ids, g, "lww", fence=fences, outcomes="numpy"),
            InvalidToken,
        )
    assert max(highest_fences(store)) == VALID_FENCE
    assert races > 0, "the writer never raced a call"


def test_racing_expected_versions_and_ids_never_crash() -> None:
    store = store_with_holes()
    versions = store.versions(output="numpy")
    with writing(versions, [0, TOP + 1]):
        for k in range(300):
            with suppress(InvalidToken):
                store.flip_many(None, k % 3 + 1, "exact", expected_versions=versions)
    ids = np.arange(N, dtype=np.uint32)
    with writing(ids, [0, 2**32 - 1]):
        for k in range(300):
            with suppress(UnknownEndpoint):
                store.flip_many(ids, k % 3 + 1, "lww", outcomes=True)
    assert max(highest_fences(store)) < TOP
    assert len(store.aliases()) == N
