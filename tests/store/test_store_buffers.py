"""Buffers in, arrays out, per-endpoint outcomes: the Rust store against the pure-Python
reference with every input kind (list, tuple, range, ``array.array`` of each integer item size,
``memoryview`` plain and strided, ``bytes``, numpy arrays of each integer dtype), typed errors
for wrong item types, buffers written by another thread during a call, and outcome arrays
that agree with the counts."""

from __future__ import annotations

import array
import functools
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from conftest import PY_IMPL, StoreImpl, rust_impl
from dnsrace import (
    FlipResult,
    InvalidArgument,
    InvalidGeneration,
    InvalidToken,
    Outcome,
    UnknownEndpoint,
)

N = 40
IDS = list(range(0, N, 2))  # fits every item type, and is a range
SETS = [[("10.0.0.1", 1)], [("10.0.0.2", 2), ("2600::1", 3)], [("10.0.0.1", 1)]]
TYPECODES = ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q"]
NUMPY_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


def _numpy() -> Any:
    return pytest.importorskip("numpy")


def _strided(values: list[int]) -> memoryview:
    """A strided memoryview holding ``values`` (every other item of a larger array)."""
    backing = array.array("q", [v for x in values for v in (x, -7)])
    return memoryview(backing)[::2]


def _numpy_array(values: list[int], dtype: str) -> Any:
    return _numpy().array(values, dtype=dtype)


def _numpy_strided(values: list[int]) -> Any:
    np = _numpy()
    return np.array([v for x in values for v in (x, 99)], dtype=np.int64)[::2]


# Every way of passing a sequence of ints: name -> converter.
KINDS: dict[str, Callable[[list[int]], Any]] = {
    "list": list,
    "tuple": tuple,
    **{f"array_{c}": functools.partial(array.array, c) for c in TYPECODES},
    "memoryview": lambda v: memoryview(array.array("I", v)),
    "memoryview_strided": _strided,
    "bytes": bytes,
    **{f"numpy_{d}": functools.partial(_numpy_array, dtype=d) for d in NUMPY_DTYPES},
    "numpy_strided": _numpy_strided,
}


def as_range(values: list[int]) -> range | None:
    """``values`` as a range when they form one."""
    if len(values) < 2:
        return range(values[0], values[0] + 1) if values else range(0)
    step = values[1] - values[0]
    r = range(values[0], values[-1] + (1 if step > 0 else -1), step) if step else None
    return r if r is not None and list(r) == values else None


def convert(kind: str, values: list[int]) -> Any:
    if kind == "range":
        # Values that do not form a range (versions, tokens) go as a list.
        r = as_range(values)
        return list(values) if r is None else r
    return KINDS[kind](values)


ALL_KINDS = [*KINDS, "range"]


def plain(value: Any) -> Any:
    """Arrays, numpy arrays and result tuples as plain Python values, for comparison."""
    if isinstance(value, FlipResult):
        return ("FlipResult", plain(value.counts), plain(value.outcomes), plain(value.previous))
    if isinstance(value, array.array):
        return ("array", value.typecode, value.tolist())
    if type(value).__module__ == "numpy":
        return ("numpy", str(value.dtype), value.tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, *map(plain, value))
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def fresh(impl: StoreImpl) -> Any:
    store = impl.Store()
    store.add_endpoints([f"ep{i}.example" for i in range(N)])
    for g in (1, 2, 3):
        store.put_plan(impl.Plan.from_shared(g, SETS, list(range(N)), [i % 3 for i in range(N)]))
    return store


def both() -> list[StoreImpl]:
    rust = rust_impl()
    if rust is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    return [PY_IMPL, rust]


def run(impl: StoreImpl, kind: str) -> list[Any]:
    """One scripted session using ``kind`` for every int sequence; what each call returned."""
    store = fresh(impl)
    c = lambda values: convert(kind, values)  # noqa: E731
    out: list[Any] = []
    out.append(store.flip_many(c(IDS), 2, "lww"))
    out.append(store.flip_many(c(IDS), 1, "if_newer", outcomes=True))
    out.append(store.flip_many(c(IDS[::-1]), 3, "if_newer", outcomes=True))
    versions = store.versions(IDS)
    out.append(store.flip_many(c(IDS), 2, "exact", expected_versions=c(versions), outcomes=True))
    tokens = store.acquire_leases(c(IDS), "holder", 10.0, 0.0)
    out.append(tokens)
    out.append(store.flip_many(c(IDS), 3, "lww", fence=c([t + 1 for t in tokens])))
    out.append(store.flip_many(c(IDS), 1, "lww", fence=c([1] * len(IDS)), outcomes=True))
    out.append(store.release_leases(c(IDS), "holder", c(tokens)))
    for output in ("list", "array"):
        out.append(store.aliases(c(IDS), output=output))
        out.append(store.versions(c(IDS), output=output))
        out.append(store.dangling_aliases(c(IDS), output=output))
    out.append(store.resolve_many(c(IDS)))
    plan = impl.Plan.from_shared(7, SETS, c(IDS), c([i % 3 for i in range(len(IDS))]))
    out.append((len(plan), plan.records, plan.endpoints()))
    store.put_plan(plan)
    out.append(store.flip_many(c(IDS), 7, "if_newer", outcomes=True))
    out.append(store.delete_plans(c([1, 2]), safe=False))
    out.append(store.dangling_aliases(None, output="array"))
    out.append(store.flip_many(None, 3, "if_newer", outcomes=True))
    out.append(store.stats())
    out.append([store.state(i) for i in range(N)])
    return [plain(v) for v in out]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_input_kind_matches_the_reference(kind: str) -> None:
    py, rust = both()
    expected = run(py, "list")
    assert run(py, kind) == expected
    assert run(rust, kind) == expected


def test_numpy_outputs_match_the_reference() -> None:
    np = _numpy()
    results = []
    for impl in both():
        store = fresh(impl)
        ids = np.arange(0, N, 3, dtype=np.int32)
        r = store.flip_many(ids, 2, "lww", outcomes="numpy")
        assert r.outcomes.dtype == np.uint8 and r.previous.dtype == np.uint64
        results.append(
            plain(
                [
                    r,
                    store.aliases(ids, output="numpy"),
                    store.versions(None, output="numpy"),
                    store.dangling_aliases(ids, output="numpy"),
                ]
            )
        )
    assert results[0] == results[1]


def test_numpy_outputs_hold_no_leftover_memory() -> None:
    """Column reads, batch lease tokens and flip outcomes as numpy arrays are written in
    place into arrays that are not zeroed first: every item must come from the store, none
    from the memory a freed array left (large arrays of the same size reuse it)."""
    np = _numpy()
    impl = rust_impl()
    if impl is None:
        pytest.skip("dnsrace._core is not built")
    store = impl[0]()
    n = 50_000
    ids = np.array(store.add_endpoints([f"e{i}.example" for i in range(n)]), dtype=np.uint32)
    other = ids[: n // 2]
    assert store.acquire_leases(other, "other", 100.0, 0.0, output="numpy").all()
    reads: dict[str, Callable[[], Any]] = {
        "aliases": lambda: store.aliases(None, output="numpy"),
        "aliases_ids": lambda: store.aliases(ids, output="numpy"),
        "versions": lambda: store.versions(None, output="numpy"),
        "rollbacks": lambda: store.rollbacks(ids, output="numpy"),
        "acquire": lambda: store.acquire_leases(ids, "me", 10.0, 1.0, output="numpy")[: n // 2],
        "renew": lambda: store.renew_leases(ids, "me", ids, 10.0, 2.0, output="numpy"),
    }
    for name, read in reads.items():
        junk = np.full(n, 0xDEAD, dtype=np.uint64)
        del junk
        assert not read().any(), name
    # No plan: every outcome is MISSING and every previous alias none.
    for ids_arg in (None, ids):
        junk = np.full(n, 0xDEAD, dtype=np.uint64)
        del junk
        r = store.flip_many(ids_arg, 99, "lww", outcomes="numpy")
        assert (r.outcomes == Outcome.MISSING).all() and not r.previous.any()


def _unchanged(store: Any) -> tuple[Any, ...]:
    return (store.stats(), store.aliases(), store.versions(), store.plan_generations())


BAD_IDS: list[tuple[str, Callable[[], Any], type[Exception]]] = [
    ("float_array", lambda: array.array("d", [0.0, 1.0]), InvalidArgument),
    ("float32_array", lambda: array.array("f", [0.0]), InvalidArgument),
    ("negative_int8", lambda: array.array("b", [0, -1]), UnknownEndpoint),
    ("too_large_uint64", lambda: array.array("Q", [0, 2**40]), UnknownEndpoint),
    ("chars", lambda: memoryview(b"ab").cast("c"), InvalidArgument),
    ("numpy_float", lambda: _numpy().array([0.0, 1.0]), InvalidArgument),
    ("numpy_bool", lambda: _numpy().array([True, False]), InvalidArgument),
    ("numpy_2d", lambda: _numpy().zeros((2, 2), dtype="int64"), InvalidArgument),
    ("numpy_big_endian", lambda: _numpy().array([0, 1], dtype=">i4"), InvalidArgument),
    ("negative_range", lambda: range(-2, 2), UnknownEndpoint),
    ("unregistered_id", lambda: array.array("I", [0, N]), UnknownEndpoint),
    ("float_in_list", lambda: [0, 1.0], InvalidArgument),
]


@pytest.mark.parametrize(("name", "make", "error"), BAD_IDS, ids=[b[0] for b in BAD_IDS])
def test_bad_endpoint_buffers_raise_typed_errors(
    name: str, make: Callable[[], Any], error: type[Exception]
) -> None:
    for impl in both():
        store = fresh(impl)
        before = _unchanged(store)
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("flip_many", (2, "lww"), {}),
            ("flip_many", (2, "lww"), {"outcomes": True}),
            ("aliases", (), {"output": "array"}),
            ("versions", (), {}),
            ("dangling_aliases", (), {}),
            ("resolve_many", (), {}),
            ("acquire_leases", ("h", 1.0, 0.0), {}),
        ]
        for method, args, kwargs in calls:
            with pytest.raises(error):
                getattr(store, method)(make(), *args, **kwargs)
        assert _unchanged(store) == before


BAD_VALUES: list[tuple[str, str, Callable[[], Any], type[Exception]]] = [
    ("expected_versions", "negative", lambda: array.array("b", [-1] * len(IDS)), InvalidToken),
    ("expected_versions", "floats", lambda: array.array("d", [0.0] * len(IDS)), InvalidToken),
    ("expected_versions", "too_large", lambda: array.array("Q", [2**63] * len(IDS)), InvalidToken),
    # (Zeros are refused leases' sentinels, fenced rather than errors: issue 18.)
    ("fence", "too_large", lambda: array.array("Q", [2**63] * len(IDS)), InvalidToken),
    ("fence", "negative", lambda: _numpy().full(len(IDS), -3, dtype="int16"), InvalidToken),
    ("fence", "bools", lambda: _numpy().ones(len(IDS), dtype=bool), InvalidToken),
    ("fence", "short", lambda: array.array("I", [1]), InvalidArgument),
]


@pytest.mark.parametrize(
    ("argument", "name", "make", "error"),
    BAD_VALUES,
    ids=[f"{b[0]}-{b[1]}" for b in BAD_VALUES],
)
def test_bad_value_buffers_raise_typed_errors(
    argument: str, name: str, make: Callable[[], Any], error: type[Exception]
) -> None:
    for impl in both():
        store = fresh(impl)
        before = _unchanged(store)
        mode = "exact" if argument == "expected_versions" else "lww"
        with pytest.raises(error):
            store.flip_many(array.array("I", IDS), 2, mode, **{argument: make()})
        assert _unchanged(store) == before
        if argument == "fence":
            with pytest.raises(error):
                store.release_leases(IDS, "h", make())


@pytest.mark.parametrize(
    ("index", "error"),
    [
        (lambda n: array.array("b", [0] * (n - 1) + [-1]), InvalidArgument),
        (lambda n: array.array("B", [0] * (n - 1) + [3]), InvalidArgument),
        (lambda n: array.array("d", [0.0] * n), InvalidArgument),
        (lambda n: array.array("I", [0] * (n + 1)), InvalidArgument),
        (lambda n: range(n), InvalidArgument),
    ],
)
def test_bad_set_index_buffers(index: Callable[[int], Any], error: type[Exception]) -> None:
    for impl in both():
        with pytest.raises(error):
            impl.Plan.from_shared(5, SETS, array.array("I", IDS), index(len(IDS)))
    # Negative ids in a signed buffer are unknown endpoints, as in a list.
    for impl in both():
        with pytest.raises(UnknownEndpoint):
            impl.Plan.from_shared(5, SETS, array.array("b", [-1]), [0])
        with pytest.raises(InvalidArgument, match="twice"):
            impl.Plan.from_shared(5, SETS, array.array("H", [1, 2, 1]), [0, 0, 0])


def test_bad_generation_buffers() -> None:
    for impl in both():
        store = fresh(impl)
        for bad in (array.array("d", [1.0]), array.array("b", [0]), array.array("q", [-1])):
            with pytest.raises(InvalidGeneration):
                store.delete_plans(bad)
        assert store.plan_generations() == [1, 2, 3]


@pytest.mark.parametrize("bad", ["lists", 1, None, "NUMPY"])
def test_bad_output_and_outcomes_options(bad: object) -> None:
    for impl in both():
        store = fresh(impl)
        before = _unchanged(store)
        with pytest.raises(InvalidArgument):
            store.aliases(output=bad)
        with pytest.raises(InvalidArgument):
            store.flip_many(None, 2, "lww", outcomes=bad)
        assert _unchanged(store) == before


def test_outcome_arrays_match_the_counts_and_the_state() -> None:
    """Random batches with every outcome kind: codes tally to the counts, `previous` is the
    alias before the call (ids unique), and both stores agree."""
    import random

    rng = random.Random(7)
    stores = [(impl, fresh(impl)) for impl in both()]
    for _step in range(60):
        ids = rng.sample(range(N), rng.randint(1, N))
        gen = rng.choice([1, 2, 3, 4])
        mode = rng.choice(["lww", "if_newer", "exact"])
        fence = rng.choice([None, 1, 2, 5])
        delete = rng.choice([1, 2, 3]) if rng.random() < 0.1 else None
        results = []
        for _impl, store in stores:
            if delete is not None:
                store.delete_plans([delete], safe=False)
            before = store.aliases(ids, output="array")
            kwargs: dict[str, Any] = {"fence": fence, "outcomes": True}
            if mode == "exact":
                versions = store.versions(ids, output="array")
                kwargs["expected_versions"] = versions
            r = store.flip_many(array.array("I", ids), gen, mode, **kwargs)
            tally = [0] * 5
            for code in r.outcomes:
                tally[code] += 1
            assert tuple(tally) == tuple(r.counts)
            assert r.previous == before
            after = store.aliases(ids, output="array")
            for code, prev, now in zip(r.outcomes, r.previous, after, strict=True):
                assert (now == gen) if code == Outcome.APPLIED else (now == prev)
            results.append(plain(r))
        if delete is not None:
            for impl, store in stores:
                store.put_plan(impl.Plan.from_shared(4 + _step, SETS, list(range(N)), [0] * N))
        assert results[0] == results[1]


def test_buffers_written_by_another_thread_do_not_crash() -> None:
    """The store copies a buffer before using it: a thread rewriting (and trying to resize)
    the buffer during the calls cannot crash the process, and every call returns a valid
    result for some mix of old and new values."""
    rust = both()[1]
    store = rust.Store()
    n = 200_000
    store.add_endpoints([f"e{i}.example" for i in range(n)])
    store.put_plan(rust.Plan.from_shared(1, SETS, range(n), [0] * n))
    store.put_plan(rust.Plan.from_shared(2, SETS, range(n), [1] * n))
    ids = array.array("I", range(n))
    versions = array.array("Q", [0] * n)
    index = array.array("B", [0] * n)
    stop = threading.Event()
    resize_refused = 0

    def writer() -> None:
        nonlocal resize_refused
        k = 0
        while not stop.is_set():
            k += 1
            ids[k % n] = (k * 7919) % n
            versions[k % n] = k % 3
            index[k % n] = k % 3
            try:
                ids.append(0)
            except BufferError:
                resize_refused += 1
                continue
            while True:
                try:
                    ids.pop()
                    break
                except BufferError:
                    resize_refused += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for g in range(40):
            # The writer may hold one extra id for a moment (an append between two calls).
            counts = store.flip_many(ids, 1 + g % 2, "lww")
            assert sum(counts) in (n, n + 1)
            try:
                r = store.flip_many(ids, 2, "exact", expected_versions=versions, outcomes=True)
            except InvalidArgument:
                continue  # ids and versions caught at different lengths: refused, not a crash
            assert sum(r.counts) == len(r.outcomes) in (n, n + 1)
            plan = rust.Plan.from_shared(10 + g, SETS, range(n), index)
            assert len(plan) == n
    finally:
        stop.set()
        thread.join()
    assert len(ids) == n


def test_disjoint_batches_from_two_threads() -> None:
    """Two threads flipping disjoint halves with buffers end in the same state as one."""
    rust = both()[1]
    n = 100_000
    stores = []
    for threads in (1, 2):
        store = rust.Store()
        store.add_endpoints([f"e{i}.example" for i in range(n)])
        for g in (1, 2, 3):
            store.put_plan(rust.Plan.from_shared(g, SETS, range(n), [g % 3] * n))
        halves = [array.array("I", range(0, n // 2)), array.array("I", range(n // 2, n))]
        gens = [3, 1, 2, 3]

        def work(half: array.array[int], store: Any = store, gens: list[int] = gens) -> None:
            for g in gens:
                store.flip_many(half, g, "if_newer")

        if threads == 1:
            for h in halves:
                work(h)
        else:
            ts = [threading.Thread(target=work, args=(h,)) for h in halves]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        stores.append(store)
    assert stores[0].aliases(output="array") == stores[1].aliases(output="array")
    assert stores[0].stats() == stores[1].stats()


def test_nothing_imports_numpy_unless_asked() -> None:
    code = """
import array, sys
import dnsrace
from dnsrace.reference import PyRecordStore, Plan
for S, P in ((dnsrace.RecordStore, dnsrace.Plan), (PyRecordStore, Plan)):
    s = S()
    s.add_endpoints(["a.example", "b.example"])
    s.put_plan(P.from_shared(1, [[("10.0.0.1", 1)]], array.array("I", [0, 1]), [0, 0]))
    s.flip_many(array.array("I", [0, 1]), 1, outcomes=True)
    s.aliases(output="array")
assert "numpy" not in sys.modules, "numpy was imported"
s.aliases(output="numpy")
assert "numpy" in sys.modules
"""
    pytest.importorskip("numpy")
    if rust_impl() is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_output_arrays_are_fresh_and_result_tuples_whole() -> None:
    """Each call's output arrays are new objects (made as repeats of one zero item the
    binding keeps): writing into one result changes no later one, every item starts from the
    store. Flip and clean-up results are their named tuple types with every field."""
    impl = rust_impl()
    if impl is None:
        pytest.skip("dnsrace._core is not built")
    store = impl[0]()
    ids = store.add_endpoints([f"e{i}.example" for i in range(3)])
    store.put_plan(impl[1].from_shared(1, [[("10.0.0.1", 1)]], ids, [0, 0, 0]))
    for n in (1, 3):
        first = store.flip_many(ids[:n], 1, "lww", outcomes=True)
        assert type(first) is FlipResult and type(first.counts).__name__ == "FlipCounts"
        assert tuple(first.counts) == (n, 0, 0, 0, 0) and first.counts.applied == n
        first.outcomes[0] = Outcome.DANGLING
        first.previous[0] = 99
        again = store.flip_many(ids[:n], 1, "lww", outcomes=True)
        assert again.outcomes is not first.outcomes and again.previous is not first.previous
        assert list(again.outcomes) == [Outcome.APPLIED] * n
        assert list(again.previous) == [1] * n
        tokens = store.acquire_leases(ids[:n], "me", 10.0, 0.0, output="array")
        tokens[0] = 0
        assert all(store.aliases(ids[:n], output="array"))
        assert list(store.aliases(ids[:n], output="array")) == [1] * n
    deleted = store.delete_plans([1, 7], safe=False)
    assert type(deleted).__name__ == "DeleteResult" and len(deleted) == 4
    assert deleted.deleted_trees == 3 and deleted.unknown_generations == [7]
