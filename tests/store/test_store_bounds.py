"""Bounded batch arguments, sets refused as ordered lists, exceptions of the caller's own
iterables propagated, special files refused as snapshots: both stores, the regressions of
issue 17 (a broadcast buffer of 10**12 items used to abort the process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest

from dnsrace.errors import InvalidArgument, SnapshotError, TooLarge

MAX_BATCH = 1 << 26
HUGE = numpy.broadcast_to(numpy.int64(1), (10**12,))


def _store(any_store: Any) -> Any:
    store = any_store.Store()
    store.add_endpoints(["a.example", "b.example"])
    store.put_plan(any_store.Plan(1, {0: [("10.0.0.1", 1)], 1: [("10.0.0.2", 2)]}))
    store.flip(0, 1)
    return store


def _calls(any_store: Any, s: Any, arg: Any) -> dict[str, Callable[[], Any]]:
    """Every call that takes a sequence of ints, with ``arg`` as that sequence."""
    plan = any_store.Plan
    return {
        "aliases": lambda: s.aliases(arg),
        "rollbacks": lambda: s.rollbacks(arg, output="array"),
        "versions": lambda: s.versions(arg),
        "dangling_aliases": lambda: s.dangling_aliases(arg),
        "live_leases": lambda: s.live_leases(0.0, arg),
        "resolve_many": lambda: s.resolve_many(arg),
        "flip_many ids": lambda: s.flip_many(arg, 1, outcomes="numpy"),
        "flip_many versions": lambda: s.flip_many([0], 1, "exact", expected_versions=arg),
        "flip_many fences": lambda: s.flip_many([0], 1, fence=arg),
        "acquire_leases": lambda: s.acquire_leases(arg, "h", 1.0, 0.0),
        "release_leases ids": lambda: s.release_leases(arg, "h", [1]),
        "release_leases tokens": lambda: s.release_leases([0], "h", arg),
        "delete_plans": lambda: s.delete_plans(arg),
        "from_shared ids": lambda: plan.from_shared(2, [[("10.0.0.3", 1)]], arg, [0]),
        "from_shared index": lambda: plan.from_shared(2, [[("10.0.0.3", 1)]], [0], arg),
    }


CALLS = list(_calls(type("_", (), {"Plan": None}), None, None))


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "huge",
    [HUGE, range(10**18), range(MAX_BATCH + 1), numpy.broadcast_to(numpy.uint8(0), (2**40,))],
    ids=["broadcast-int64", "range-1e18", "range-max+1", "broadcast-uint8"],
)
def test_oversized_sequence_refused_before_allocation(any_store: Any, call: str, huge: Any) -> None:
    s = _store(any_store)
    before = (s.aliases(), s.versions(), s.stats())
    with pytest.raises(TooLarge, match=str(MAX_BATCH)):
        _calls(any_store, s, huge)[call]()
    assert (s.aliases(), s.versions(), s.stats()) == before


@pytest.mark.slow
def test_endless_generator_stops_at_the_bound(any_store: Any) -> None:
    s = _store(any_store)

    def forever() -> Iterator[int]:
        while True:
            yield 0

    with pytest.raises(TooLarge):
        s.aliases(forever())


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("exc", [KeyboardInterrupt, ValueError, LookupError])
def test_raising_generator_propagates_its_own_exception(
    any_store: Any, call: str, exc: type[BaseException]
) -> None:
    s = _store(any_store)

    def items() -> Iterator[int]:
        yield 0
        raise exc("from the caller")

    before = (s.aliases(), s.versions(), s.stats())
    with pytest.raises(exc, match="from the caller"):
        _calls(any_store, s, items())[call]()
    assert (s.aliases(), s.versions(), s.stats()) == before


@pytest.mark.parametrize(
    "name", [c for c in CALLS if c not in ("delete_plans", "from_shared index")] + ["add"]
)
@pytest.mark.parametrize("unordered", [{0}, frozenset({0}), {0: 1}, {0: 1}.keys()])
def test_set_or_dict_refused_as_ordered_list(any_store: Any, name: str, unordered: Any) -> None:
    s = _store(any_store)
    call = (
        (lambda: s.add_endpoints({"c.example": 1} if isinstance(unordered, dict) else {"c"}))
        if name == "add"
        else _calls(any_store, s, unordered)[name]
    )
    with pytest.raises(InvalidArgument, match="ordered"):
        call()
    assert len(s) == 2


def test_delete_plans_takes_a_set_of_generations(any_store: Any) -> None:
    # Order means nothing there: a set is the natural argument.
    s = _store(any_store)
    s.put_plan(any_store.Plan(2, {0: [("10.0.0.9", 1)]}))
    assert s.delete_plans({2, 3}).deleted_trees == 1


def test_plan_mapping_exception_propagates(any_store: Any) -> None:
    from collections.abc import Mapping

    class Broken(Mapping[int, Any]):
        def __getitem__(self, key: int) -> Any:
            raise KeyboardInterrupt

        def __iter__(self) -> Iterator[int]:
            return iter([0])

        def __len__(self) -> int:
            return 1

    with pytest.raises(KeyboardInterrupt):
        any_store.Plan(1, Broken())


# ------------------------------------------------------------------------------ snapshot files


def _socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


def _special_inputs(tmp_path: Path) -> list[str]:
    # /dev/null is left out on purpose: the machine's is shared, and a broken writer elsewhere
    # may briefly have replaced it with a regular file.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return [str(fifo), "/dev/zero", str(tmp_path), str(tmp_path / "sock")]


def test_restore_refuses_special_files_without_blocking(any_store: Any, tmp_path: Path) -> None:
    # Run in a child so that a blocking open (a FIFO without a writer) fails the test on the
    # timeout instead of hanging the suite.
    code = (
        "import sys\n"
        "from dnsrace.errors import SnapshotError\n"
        f"from {any_store.Store.__module__} import {any_store.Store.__name__} as S\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        S.restore(path)\n"
        "    except SnapshotError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(f'{path} restored')\n"
    )
    paths = _special_inputs(tmp_path)
    with _socket(tmp_path / "sock"):
        run = subprocess.run(
            [sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, run.stderr


def test_snapshot_refuses_to_replace_special_files(any_store: Any, tmp_path: Path) -> None:
    s = _store(any_store)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    regular = tmp_path / "regular"
    regular.write_bytes(b"old")
    link_to_regular = tmp_path / "link2"
    link_to_regular.symlink_to(regular)
    with _socket(tmp_path / "sock"):
        for path in (fifo, link, link_to_regular, tmp_path / "sock"):
            with pytest.raises(SnapshotError):
                s.snapshot(path)
        assert (tmp_path / "sock").is_socket()
    assert fifo.is_fifo() and link.is_symlink() and regular.read_bytes() == b"old"
    assert not (tmp_path / "target").exists()
    s.snapshot(regular)
    assert any_store.Store.restore(regular).aliases() == s.aliases()


class Claims:
    """A sized iterable that claims 10**12 items and must never be iterated."""

    def __len__(self) -> int:
        return 10**12

    def __iter__(self) -> Iterator[Any]:
        raise AssertionError("iterated before its length was checked")


@pytest.mark.parametrize(
    "call",
    ["add_endpoints", "target set", "target_sets", "endpoints", "aliases", "fence", "tokens"],
)
def test_sized_iterable_refused_from_its_length_before_iterating(any_store: Any, call: str) -> None:
    s = _store(any_store)
    plan = any_store.Plan
    calls: dict[str, Callable[[], Any]] = {
        "add_endpoints": lambda: s.add_endpoints(Claims()),
        "target set": lambda: plan(2, {0: Claims()}),
        "target_sets": lambda: plan.from_shared(2, Claims(), [0], [0]),
        "endpoints": lambda: plan.from_shared(2, [[("10.0.0.1", 1)]], Claims(), [0]),
        "aliases": lambda: s.aliases(Claims()),
        "fence": lambda: s.flip_many([0], 1, fence=Claims()),
        "tokens": lambda: s.release_leases([0], "h", Claims()),
    }
    with pytest.raises(TooLarge):
        calls[call]()
