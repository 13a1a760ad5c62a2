"""Large batch column reads (64Ki values and more, where scattered ids are read through a
table of chunks with every shard locked): every output kind, every way of naming the
endpoints, each value where the endpoint's own record (``state``) has it."""

from __future__ import annotations

import array
import json
import threading
from typing import Any

import pytest

from conftest import rust_impl

# Above the chunk-table threshold (65,536 ids), not a multiple of the shard chunk (1,024).
N = 150_001
SETS = [[("10.0.0.1", 1)], [("10.0.0.2", 2)]]


@pytest.fixture(scope="module")
def loaded() -> tuple[Any, dict[str, list[int]]]:
    """A store whose aliases, rollbacks and versions differ from endpoint to endpoint, and
    each column as ``state`` reads it, one endpoint at a time."""
    impl = rust_impl()
    if impl is None:
        pytest.skip("dnsrace._core is not built")
    store_cls, plan_cls = impl.Store, impl.Plan
    store = store_cls()
    for start in range(0, N, 50_000):
        store.add_endpoints([f"e{i}.example" for i in range(start, min(N, start + 50_000))])
    ids = range(N)
    for g in (1, 2, 3, 4):
        store.put_plan(plan_cls.from_shared(g, SETS, ids, [i % 2 for i in ids]))
    for g, step in ((1, 1), (2, 3), (3, 5), (4, 7)):
        store.flip_many(range(0, N, step), g, "lww")
    store.flip_many(range(0, N, 11), 2, "lww")
    states = [store.state(i) for i in ids]
    columns = {
        "aliases": [s.alias or 0 for s in states],
        "rollbacks": [s.rollback or 0 for s in states],
        "versions": [s.version for s in states],
    }
    assert len(set(columns["aliases"])) == 4 and len(set(columns["versions"])) > 3
    return store, columns


def _id_arrays() -> dict[str, Any]:
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(7)
    return {
        "arange": np.arange(N, dtype=np.uint32),
        "slice": np.arange(N, dtype=np.int64)[1000:],
        "reversed": np.arange(N, dtype=np.uint32)[::-1].copy(),
        "scattered": rng.integers(0, N, 2 * N, dtype=np.uint32),
        "repeated": np.repeat(np.arange(0, N, 1000, dtype=np.uint32), 900),
        "blocks": np.concatenate([np.arange(s, N, dtype=np.uint32) for s in (5, 70_000)]),
    }


@pytest.mark.parametrize("column", ["aliases", "rollbacks", "versions"])
@pytest.mark.parametrize("output", ["numpy", "array"])
def test_every_endpoint(loaded: tuple[Any, dict[str, list[int]]], column: str, output: str) -> None:
    store, columns = loaded
    read = getattr(store, column)(None, output=output)
    expected = columns[column]
    if output == "numpy":
        assert read.dtype.name == "uint64" and read.flags.writeable
        assert read.tolist() == expected
    else:
        assert isinstance(read, array.array) and read.typecode == "Q"
        assert read.tolist() == expected


@pytest.mark.parametrize("column", ["aliases", "rollbacks", "versions"])
@pytest.mark.parametrize("kind", list(_id_arrays()) if rust_impl() else [])
def test_id_arrays(loaded: tuple[Any, dict[str, list[int]]], column: str, kind: str) -> None:
    store, columns = loaded
    ids = _id_arrays()[kind]
    expected = [columns[column][i] for i in ids.tolist()]
    assert getattr(store, column)(ids, output="numpy").tolist() == expected
    assert getattr(store, column)(ids, output="array").tolist() == expected


def test_lists_and_other_readers(loaded: tuple[Any, dict[str, list[int]]]) -> None:
    """The list outputs (generations of 0 shown as None) and the reads built on the same
    gather: dangling aliases (none here) and resolve_many."""
    store, columns = loaded
    assert store.aliases() == [g or None for g in columns["aliases"]]
    assert store.versions(range(N)) == columns["versions"]
    assert store.dangling_aliases() == []
    answers = store.resolve_many(range(0, N, 997))
    assert [len(a) for a in answers] == [1] * len(answers)


def test_unknown_id_in_a_large_batch_is_refused(loaded: tuple[Any, dict[str, list[int]]]) -> None:
    from dnsrace import UnknownEndpoint

    np = pytest.importorskip("numpy")
    store, _ = loaded
    ids = np.arange(N, dtype=np.uint32)
    ids[-1] = N
    with pytest.raises(UnknownEndpoint):
        store.aliases(ids, output="numpy")


def test_threads_reading_at_once(loaded: tuple[Any, dict[str, list[int]]]) -> None:
    """Several threads reading large columns at once each get their whole column."""
    np = pytest.importorskip("numpy")
    store, columns = loaded
    expected = {c: np.array(v, dtype=np.uint64) for c, v in columns.items()}
    failures: list[str] = []

    def reader(column: str) -> None:
        for _ in range(20):
            if not np.array_equal(getattr(store, column)(None, output="numpy"), expected[column]):
                failures.append(column)

    threads = [threading.Thread(target=reader, args=(c,)) for c in [*columns, *columns]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_recorded_reads_of_a_range_buffer(tmp_path: Any) -> None:
    """With a history, ids given as an arange buffer (read as a range) give the values and
    the recorded operations (times aside) that the same ids as a list give."""
    np = pytest.importorskip("numpy")
    impl = rust_impl()
    assert impl is not None
    files = []
    for kind in ("list", "buffer"):
        store = impl.Store(history=1000)
        store.add_endpoints([f"e{i}.example" for i in range(20)])
        store.put_plan(impl.Plan.from_shared(3, SETS, range(20), [0] * 20))
        store.flip_many(range(0, 20, 3), 3, "lww")
        ids: Any = list(range(4, 12)) if kind == "list" else np.arange(4, 12, dtype=np.uint32)
        assert store.aliases(ids, output="numpy").tolist() == [0, 0, 3, 0, 0, 3, 0, 0]
        assert store.versions(ids, output="array").tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
        files.append(tmp_path / f"{kind}.jsonl")
        store.export_history(files[-1])
    ops = [
        [
            {k: v for k, v in json.loads(line).items() if k not in ("call", "return")}
            for line in f.read_text().splitlines()
        ]
        for f in files
    ]
    assert ops[0] == ops[1] and sum(op["op"] == "read" for op in ops[0]) == 16
