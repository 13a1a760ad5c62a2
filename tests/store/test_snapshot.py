"""Snapshots through the public API, on both stores: a restored store equals the saved one,
snapshots cross between the Rust core and the reference, and every damaged file or bad path
raises ``SnapshotError`` (or ``InvalidArgument`` for a path of the wrong type) with the store
unchanged and no file written."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from conftest import PY_IMPL, StoreImpl, rust_impl
from dnsrace import DnsraceError, InvalidArgument, LeaseHeld, SnapshotError
from requirements import require

NAMES = [f"ep{i}.snap.example" for i in range(40)]


def busy(impl: StoreImpl) -> Any:
    """A store with plans, shared and empty sets, IPv6, a dangling alias, leases and fences."""
    store = impl.Store()
    ids = store.add_endpoints(NAMES)
    v4 = [("10.0.0.1", 10), ("10.0.0.2", 20)]
    v6 = [("2001:db8::1", 255), ("::ffff:192.0.2.1", 0)]
    for g in (1, 2, 3):
        targets = {i: (v6 if i % 5 == 0 else [] if i % 7 == 1 else v4) for i in ids[: 40 - g]}
        store.put_plan(impl.Plan(g, targets))
    store.flip_many(None, 1, "if_newer")
    store.flip_many(ids[:20], 2, "lww", fence=4)
    store.delete_plans([1], safe=False)
    for i in ids[:10]:
        store.acquire_lease(i, "enactor-a", 30.0, 100.0)
    store.acquire_lease(11, "énactor-b", 1.0, 0.5)
    store.resolve_many()
    return store


def observe(store: Any) -> dict[str, Any]:
    """Everything observable without changing the store (resolve counts empty answers)."""
    return {
        "len": len(store),
        "stats": store.stats(),
        "generations": store.plan_generations(),
        "aliases": store.aliases(),
        "rollbacks": store.rollbacks(),
        "versions": store.versions(),
        "states": [store.state(i) for i in range(len(store))],
        "trees": [[store.has_tree(i, g) for g in (1, 2, 3)] for i in range(len(store))],
        "names": [store.endpoint_name(i) for i in range(len(store))],
    }


def test_a_restored_store_equals_the_saved_one(store_cls: StoreImpl, tmp_path: Path) -> None:
    store = busy(store_cls)
    path = tmp_path / "store.snap"
    store.snapshot(path)
    back = store_cls.Store.restore(str(path))
    assert type(back) is store_cls.Store
    assert observe(back) == observe(store)
    assert [back.resolve(i) for i in range(40)] == [store.resolve(i) for i in range(40)]
    assert back.stats() == store.stats()
    assert sorted(os.listdir(tmp_path)) == ["store.snap"]


@pytest.mark.parametrize("writer", ["py", "rust"])
@pytest.mark.parametrize("reader", ["py", "rust"])
def test_snapshots_cross_between_the_stores(writer: str, reader: str, tmp_path: Path) -> None:
    by_name = {"py": PY_IMPL, "rust": rust_impl()}
    w, r = by_name[writer], by_name[reader]
    require(w is not None and r is not None, "CORE", "dnsrace._core is not built")
    assert w is not None and r is not None
    store = busy(w)
    store.snapshot(tmp_path / "x.snap")
    back = r.Store.restore(tmp_path / "x.snap")
    assert observe(back) == observe(store)
    # Both behave alike afterwards: the lease saved at expiry 130.0 (caller's clock) holds.
    for s in (store, back):
        with pytest.raises(LeaseHeld):
            s.acquire_lease(0, "other", 1.0, 129.9)
        assert s.acquire_lease(0, "other", 1.0, 130.0) == 6
    assert observe(back) == observe(store)


def test_the_rust_and_reference_encodings_are_byte_identical_for_the_same_history(
    tmp_path: Path,
) -> None:
    rust = rust_impl()
    if rust is None:
        pytest.skip("dnsrace._core is not built")
    busy(rust).snapshot(tmp_path / "r.snap")
    busy(PY_IMPL).snapshot(tmp_path / "p.snap")
    assert (tmp_path / "r.snap").read_bytes() == (tmp_path / "p.snap").read_bytes()


def test_damaged_files_raise_snapshot_error(store_cls: StoreImpl, tmp_path: Path) -> None:
    path = tmp_path / "s.snap"
    busy(store_cls).snapshot(path)
    good = path.read_bytes()
    rng = random.Random(10)
    damaged: list[bytes] = [b"", b"DNSRSNAP", b"hello world" * 10, b"\x00" * 64, good + b"\x00"]
    damaged += [good[:n] for n in rng.sample(range(len(good)), 60)]
    for _ in range(60):
        pos = rng.randrange(len(good))
        damaged.append(good[:pos] + bytes([good[pos] ^ (1 << rng.randrange(8))]) + good[pos + 1 :])
    other_version = bytearray(good)
    other_version[8] = 2
    damaged.append(bytes(other_version))
    for blob in damaged:
        path.write_bytes(blob)
        with pytest.raises(SnapshotError):
            store_cls.Store.restore(path)
    with pytest.raises(SnapshotError, match="version 2 is not supported"):
        path.write_bytes(bytes(other_version))
        store_cls.Store.restore(path)


def test_bad_paths_raise_and_write_nothing(store_cls: StoreImpl, tmp_path: Path) -> None:
    store = busy(store_cls)
    before = observe(store)
    (tmp_path / "old.snap").write_bytes(b"previous")
    for bad in [
        tmp_path,
        tmp_path / "missing" / "x.snap",
        tmp_path / "old.snap" / "x.snap",
        "",
        Path("/proc/dnsrace-test.snap"),
    ]:
        with pytest.raises(SnapshotError):
            store.snapshot(bad)
    for wrong_type in [None, 5, 1.5, b"bytes.snap", ["x"]]:
        with pytest.raises(InvalidArgument):
            store.snapshot(wrong_type)
        with pytest.raises(InvalidArgument):
            store_cls.Store.restore(wrong_type)
    for missing in [tmp_path / "nope.snap", tmp_path, ""]:
        with pytest.raises(SnapshotError):
            store_cls.Store.restore(missing)
    assert observe(store) == before
    assert sorted(os.listdir(tmp_path)) == ["old.snap"]
    assert (tmp_path / "old.snap").read_bytes() == b"previous"


def test_snapshot_errors_are_dnsrace_errors() -> None:
    assert issubclass(SnapshotError, DnsraceError)


def test_dnsrace_run_saves_each_disciplines_final_store(tmp_path: Path) -> None:
    from dnsrace.app.cli import main

    rust = rust_impl()
    if rust is None:
        pytest.skip("dnsrace._core is not built")
    spin = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"
    one = tmp_path / "one.snap"
    assert (
        main(
            [
                "run",
                str(spin),
                "--quiet",
                "--jobs",
                "1",
                "--discipline",
                "cas",
                "--snapshot",
                str(one),
            ]
        )
        == 0
    )
    store = rust.Store.restore(one)
    # spin: the regional endpoint alone, five plans, CAS applies the newest one.
    assert store.endpoint_name(0) == "dynamodb.us-east-1.amazonaws.com"
    assert store.aliases() == [5]
    both = tmp_path / "both.snap"
    argv = ["run", str(spin), "--quiet", "--jobs", "1", "--discipline", "cas,lww"]
    assert main([*argv, "--snapshot", str(both)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["both.cas.snap", "both.lww.snap", "one.snap"]
    assert rust.Store.restore(tmp_path / "both.lww.snap").stats()["endpoints"] == 1
