"""Ids given as a buffer of ``first, first + 1, ...`` (an ``arange`` or a slice of one) are
passed to the store as that range instead of a copied list: every outcome, previous alias,
count, error and the records after must be what the same ids as a list give."""

from __future__ import annotations

import array
from typing import Any

import numpy as np
import orjson
import pytest

import dnsrace
from dnsrace.sim.workload import build_store

N = 3000  # three chunks of 1024 ids, the last one partial


def twins() -> tuple[Any, Any]:
    """Two equal stores, some endpoints on plan 2 and the others on none."""
    store, _ = build_store(dnsrace.RecordStore, dnsrace.Plan, N, 3)
    store.flip_many(range(0, N, 3), 2, "lww")
    data = store.snapshot_bytes()
    load = dnsrace.RecordStore.restore_bytes
    return load(data), load(data)


RANGES = [(0, N), (5, 2048), (1023, 1025), (2999, 3000), (0, 0)]
BUFFERS = [
    lambda a, b: np.arange(a, b, dtype=np.uint32),
    lambda a, b: np.arange(a, b, dtype=np.int64),
    lambda a, b: array.array("I", range(a, b)),
    lambda a, b: np.arange(a, b + (b - a), dtype=np.uint32)[: b - a],
]


@pytest.mark.parametrize(("a", "b"), RANGES)
@pytest.mark.parametrize("make", BUFFERS)
@pytest.mark.parametrize("mode", ["lww", "if_newer", "exact"])
def test_range_buffer_equals_list(a: int, b: int, make: Any, mode: str) -> None:
    by_range, by_list = twins()
    extra: dict[str, Any] = {}
    if mode == "exact":
        versions = by_list.versions(list(range(a, b)))
        extra["expected_versions"] = [v + (i % 4 == 0) for i, v in enumerate(versions)]
    fences = [(i % 5) + 1 for i in range(b - a)]
    got = by_range.flip_many(make(a, b), 3, mode, fence=fences, outcomes=True, **extra)
    want = by_list.flip_many(list(range(a, b)), 3, mode, fence=fences, outcomes=True, **extra)
    assert got.counts == want.counts
    assert list(got.outcomes) == list(want.outcomes)
    assert list(got.previous) == list(want.previous)
    assert by_range.snapshot_bytes() == by_list.snapshot_bytes()


@pytest.mark.parametrize(
    "ids",
    [
        np.arange(N - 2, N + 2, dtype=np.uint32),
        np.arange(N + 5, N + 9, dtype=np.uint32),
        np.arange(-1, 3, dtype=np.int64),
    ],
)
def test_range_errors_as_list(ids: Any) -> None:
    by_range, by_list = twins()
    with pytest.raises(dnsrace.errors.DnsraceError) as got:
        by_range.flip_many(ids, 3, "lww")
    with pytest.raises(dnsrace.errors.DnsraceError) as want:
        by_list.flip_many([int(i) for i in ids], 3, "lww")
    assert (type(got.value), str(got.value)) == (type(want.value), str(want.value))
    assert by_range.snapshot_bytes() == by_list.snapshot_bytes()


def test_range_recorded_as_list() -> None:
    """A recorded store records the same operations for a range buffer and its list."""
    stores = [dnsrace.RecordStore(history=100_000) for _ in range(2)]
    for store in stores:
        store.add_endpoints([f"e{i}.range.test" for i in range(N)])
        store.put_plan(dnsrace.Plan(1, {i: [("10.0.0.1", 1)] for i in range(N)}))
    stores[0].flip_many(np.arange(10, 2500, dtype=np.uint32), 1, "if_newer")
    stores[1].flip_many(list(range(10, 2500)), 1, "if_newer")

    def ops(store: Any) -> list[Any]:
        lines = [orjson.loads(line) for line in store.history_bytes().splitlines()]
        return [(op["endpoint"], op["op"], op["input"], op["output"]) for op in lines]

    assert len(ops(stores[0])) == N + 2490
    assert ops(stores[0]) == ops(stores[1])


def test_range_past_the_last_id() -> None:
    """Ids past 2**32 - 1 are no range: refused as unknown (a buffer names its highest)."""
    store, _ = twins()
    with pytest.raises(dnsrace.errors.UnknownEndpoint, match="4294967297"):
        store.flip_many(np.arange(2**32 - 2, 2**32 + 2, dtype=np.uint64), 3, "lww")


def leased_stores(k: int) -> list[Any]:
    """`k` equal recorded stores, some endpoints leased by another holder (refused to "me"),
    some by "me" already (granted again with a higher token)."""
    stores = [dnsrace.RecordStore(history=100_000) for _ in range(k)]
    for store in stores:
        store.add_endpoints([f"e{i}.lease.test" for i in range(N)])
        store.acquire_leases(list(range(0, N, 7)), "other", 50.0, 0.0)
        store.acquire_leases(list(range(3, N, 11)), "me", 50.0, 0.0)
    return stores


def history_ops(store: Any) -> list[Any]:
    lines = [orjson.loads(line) for line in store.history_bytes().splitlines()]
    return [(op["endpoint"], op["op"], op["input"], op["output"]) for op in lines]


def lease_batches(store: Any, ids: Any, order: list[int]) -> list[Any]:
    """Acquire, renew (tokens as given: some refused, some wrong) and release (some refused
    sentinels, skipped and not recorded) the endpoints `ids`, which name `order` in that
    order; the answers by position in `order`, sorted by id."""
    unsort = np.argsort(order)
    got = store.acquire_leases(ids, "me", 10.0, 1.0, output="numpy")
    answers = [got[unsort].tolist()]
    given = got.copy()
    wrong = [o % 5 == 0 for o in order]
    given[wrong] = np.where(given[wrong] > 0, given[wrong] + 1, 0)  # a wrong token: lost
    renewed = store.renew_leases(ids, "me", given, 10.0, 2.0, output="numpy")
    answers.append(renewed[unsort].tolist())
    tokens = [0 if o % 3 == 0 else int(t) for o, t in zip(order, renewed, strict=True)]
    answers.append(store.release_leases(ids, "me", tokens))
    return answers


@pytest.mark.parametrize(("a", "b"), RANGES)
@pytest.mark.parametrize("make", BUFFERS)
def test_range_buffer_leases_equal_list(a: int, b: int, make: Any) -> None:
    """Batch leases of a range buffer give the tokens, counts, records and recorded history
    of the same ids as a list, and of the ids listed in reverse (which is no range, so that
    the core walks it id by id in list order)."""
    by_range, by_list, by_reversed = leased_stores(3)
    listed = list(range(a, b))
    got = lease_batches(by_range, make(a, b), listed)
    assert got == lease_batches(by_list, listed, listed)
    assert got == lease_batches(by_reversed, listed[::-1], listed[::-1])
    assert by_range.stats() == by_list.stats() == by_reversed.stats()
    assert by_range.snapshot_bytes() == by_list.snapshot_bytes() == by_reversed.snapshot_bytes()
    # Recorded in list order, one operation per id (the reversed calls in reverse).
    ops = history_ops(by_range)
    assert ops == history_ops(by_list)
    assert sorted(ops, key=repr) == sorted(history_ops(by_reversed), key=repr)
    acquired = [op[0] for op in ops if op[1] == "acquire"]
    assert acquired[len(acquired) - len(listed) :] == listed


@pytest.mark.parametrize(
    "ids",
    [
        np.arange(N - 2, N + 2, dtype=np.uint32),
        np.arange(N + 5, N + 9, dtype=np.uint32),
        np.arange(-1, 3, dtype=np.int64),
    ],
)
@pytest.mark.parametrize("call", ["acquire", "renew", "release", "misaligned"])
def test_range_lease_errors_as_list(ids: Any, call: str) -> None:
    """A failed range batch raises what the list raises and changes nothing, history included."""
    by_range, by_list = leased_stores(2)

    def run(store: Any, endpoints: Any) -> None:
        n = len(ids) + (call == "misaligned")
        if call == "acquire":
            store.acquire_leases(endpoints, "me", 10.0, 1.0, output="numpy")
        elif call == "release":
            store.release_leases(endpoints, "me", [1] * n)
        else:
            store.renew_leases(endpoints, "me", [1] * n, 10.0, 1.0, output="numpy")

    errors = []
    for store, endpoints in ((by_range, ids), (by_list, [int(i) for i in ids])):
        with pytest.raises(dnsrace.errors.DnsraceError) as err:
            run(store, endpoints)
        errors.append((type(err.value), str(err.value)))
    assert errors[0] == errors[1]
    assert by_range.snapshot_bytes() == by_list.snapshot_bytes()
    assert history_ops(by_range) == history_ops(by_list)
