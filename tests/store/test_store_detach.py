"""Which calls of the Rust store detach from the interpreter: those whose work (endpoints,
names, values) reaches ``DETACH_FROM``; smaller ones keep it, since releasing and taking it
back costs more than their work (rust/py/src/detach.rs). Threads mixing both kinds still see
atomic, exactly counted operations."""

from __future__ import annotations

import functools
import threading
from array import array
from collections.abc import Callable
from typing import Any

import pytest

core = pytest.importorskip("dnsrace._core")
testing = getattr(core, "_testing", None)
if testing is None:
    pytest.skip("dnsrace._core was built without the testing feature", allow_module_level=True)

LARGE: int = testing.DETACH_FROM
SETS = [[("10.0.0.1", 1)], [("10.0.0.2", 2)]]


def _store(endpoints: int) -> Any:
    store = core.RecordStore()
    ids = store.add_endpoints([f"e{i}.example" for i in range(endpoints)])
    for g in (1, 2):
        store.put_plan(core.Plan.from_shared(g, SETS, ids, [i % 2 for i in ids]))
    store.flip_many(None, 1, "lww")
    return store


def _ids(n: int) -> array[int]:
    return array("I", range(n))


# Each call, made ready for a store and a batch size (every endpoint of that store for the
# calls whose work is the whole store): its arguments are built before the count is read.
Ready = Callable[[], object]
CALLS: dict[str, Callable[[Any, int], Ready]] = {
    "add_endpoints": lambda s, n: (
        lambda: core.RecordStore().add_endpoints([f"x{i}.a" for i in range(n)])
    ),
    "from_shared": lambda s, n: lambda: core.Plan.from_shared(3, SETS, _ids(n), [0] * n),
    "put_plan": lambda s, n: functools.partial(
        s.put_plan, core.Plan.from_shared(7, SETS, list(range(n)), [0] * n)
    ),
    "flip_many ids": lambda s, n: lambda: s.flip_many(_ids(n), 2, "lww", outcomes=True),
    "flip_many all": lambda s, n: lambda: s.flip_many(None, 2, "lww"),
    "acquire_leases": lambda s, n: lambda: s.acquire_leases(_ids(n), "a", 5.0, 0.0, output="array"),
    "renew_leases": lambda s, n: lambda: s.renew_leases(_ids(n), "a", [0] * n, 5.0, 0.0),
    "release_leases": lambda s, n: lambda: s.release_leases(_ids(n), "a", [0] * n),
    "aliases list": lambda s, n: lambda: s.aliases(_ids(n)),
    "aliases array": lambda s, n: lambda: s.aliases(_ids(n), output="array"),
    "versions": lambda s, n: lambda: s.versions(_ids(n)),
    "dangling_aliases": lambda s, n: lambda: s.dangling_aliases(_ids(n)),
    "live_leases": lambda s, n: lambda: s.live_leases(0.0, _ids(n)),
    "resolve_many": lambda s, n: lambda: s.resolve_many(_ids(n)),
    "endpoint_names": lambda s, n: lambda: s.endpoint_names(_ids(n)),
    "stats": lambda s, n: s.stats,
    "memory": lambda s, n: s.memory,
    "delete_plans": lambda s, n: lambda: s.delete_plans([9]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_only_calls_with_enough_work_detach(name: str) -> None:
    call = CALLS[name]
    for size, detaches in ((1, 0), (LARGE - 1, 0), (LARGE, 1)):
        ready = call(_store(size), size)
        before = testing.detached_calls()
        ready()
        assert testing.detached_calls() - before == detaches, (name, size)


def test_small_calls_that_keep_the_interpreter_mix_with_detached_batches() -> None:
    """Threads making one-endpoint calls (attached) while others flip every endpoint
    (detached) neither deadlock nor lose an operation."""
    store = _store(4 * LARGE)
    rounds, stop = 200, threading.Event()
    applied: list[int] = []
    conflicts: list[int] = []

    def batches() -> None:
        while not stop.is_set():
            applied.append(store.flip_many(None, 2, "lww").applied)

    def small(k: int) -> None:
        one = array("I", [k * 7])
        for _ in range(rounds):
            token = store.acquire_leases(one, f"h{k}", 5.0, 0.0, output="array")
            conflicts.append(token[0] == 0)
            applied.append(store.flip_many(one, 2, "lww").applied)
            store.release_leases(one, f"h{k}", token)

    workers = [threading.Thread(target=small, args=(k,)) for k in range(3)]
    big = [threading.Thread(target=batches) for _ in range(2)]
    for t in big + workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    stop.set()
    for t in big:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in big + workers)
    stats = store.stats()
    # Setup flipped every endpoint once.
    assert stats["flips_applied"] == sum(applied) + 4 * LARGE
    assert sum(store.versions()) == stats["flips_applied"]
    assert stats["leases_granted"] == 3 * rounds and not any(conflicts)
