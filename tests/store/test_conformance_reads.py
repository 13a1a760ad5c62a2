"""Conformance: reads, state, stats and memory (store_conformance.py)."""

from __future__ import annotations

import inspect
import ipaddress
from typing import Any

import pytest
from store_conformance import NAMES, STATS_KEYS, T1, T2, T3, assert_stats, new_store

from conftest import versions_count_flips
from dnsrace import (
    DanglingAlias,
    DeleteResult,
    EndpointState,
    InternalError,
    InvalidArgument,
    UnknownEndpoint,
)

# reads
# ============================================================================================


def test_resolve(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T3, "b.example": []}))
    assert store.resolve(0) == ()  # no alias yet
    assert store.stats()["empty_answers"] == 1
    store.flip_many(["a.example", "b.example"], 1)
    answer = store.resolve("A.example.")
    assert answer == (("10.9.9.9", 0), ("192.0.2.1", 7), ("2001:db8::1", 5))
    assert type(answer) is tuple
    assert all(type(t) is tuple and type(t[0]) is str and type(t[1]) is int for t in answer)
    assert store.resolve(1) == ()  # empty set
    assert store.stats()["empty_answers"] == 2
    store.delete_plans([1], safe=False)
    assert store.resolve(0) == ()  # deleted tree
    assert store.stats()["empty_answers"] == 3
    with pytest.raises(UnknownEndpoint):
        store.resolve(3)
    with pytest.raises(InvalidArgument):
        store.resolve(None)
    assert store.stats()["empty_answers"] == 3


def test_resolve_many(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1, "b.example": T2, "c.example": T1}))
    assert store.resolve_many() == [(), (), ()]
    assert store.stats()["empty_answers"] == 3
    store.flip_many([0, 1], 1)
    answers = store.resolve_many()
    assert answers == [tuple(T1), tuple(T2), ()]
    assert store.stats()["empty_answers"] == 4
    assert store.resolve_many([2, "b.example", 2, 0]) == [(), tuple(T2), (), tuple(T1)]
    assert store.stats()["empty_answers"] == 6
    assert store.resolve_many([]) == []
    store.flip(2, 1)
    answers = store.resolve_many([0, 2])
    assert answers[0] is answers[1]
    before = store.stats()
    for bad in ([0, 7], [0, "zz.example"], [0, None], "a.example"):
        with pytest.raises((UnknownEndpoint, InvalidArgument)):
            store.resolve_many(bad)
    assert store.stats() == before


def test_answers_write_addresses_as_ipaddress_does(any_store: Any) -> None:
    # Octets at every digit-count edge (the Rust store writes IPv4 text itself), and IPv6.
    edges = [0, 1, 9, 10, 11, 99, 100, 101, 199, 200, 255]
    v4 = [f"{a}.{b}.{c}.{d}" for a in edges for b in (0, 10, 100) for c in (9, 255) for d in edges]
    v6 = ["::", "::1", "2600:1f18::a:0", "fe80::1:2:3:4"]
    addresses = [str(ipaddress.ip_address(a)) for a in v4 + v6]
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": [(a, 7) for a in v4 + v6]}))
    store.flip(0, 1)
    written = [address for address, _ in store.resolve(0)]
    assert sorted(written) == sorted(addresses)
    assert store.resolve_many([0]) == [store.resolve(0)]


def test_aliases(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.aliases() == [None, None, None]
    store.flip(1, 2)
    store.flip(2, 1)
    assert store.aliases() == [None, 2, 1]
    assert store.aliases([2, 2, "b.example"]) == [1, 1, 2]
    assert store.aliases(()) == []
    with pytest.raises(UnknownEndpoint):
        store.aliases([3])
    with pytest.raises(InvalidArgument):
        store.aliases("abc")
    assert store.stats()["empty_answers"] == 0


def test_rollbacks(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.rollbacks() == [None, None, None]
    store.flip(1, 1)
    store.flip(1, 2)
    store.flip(2, 2, rollback=False)
    assert store.rollbacks() == [None, 1, None]
    assert store.rollbacks([1, "b.example", 0]) == [1, 1, None]
    assert store.rollbacks(()) == []
    with pytest.raises(UnknownEndpoint):
        store.rollbacks([3])
    with pytest.raises(InvalidArgument):
        store.rollbacks("abc")


def test_versions(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    v = store.versions()
    store.flip(1, 1)
    store.flip(1, 2)
    store.flip(2, 1, "exact", expected_version=v[2])
    store.flip(0, 1, "exact", expected_version=v[0] + 5)  # refused: no bump
    w = store.versions()
    assert w[0] == v[0] and w[1] > v[1] and w[2] > v[2]
    if versions_count_flips(any_store):
        assert (v, w) == ([0, 0, 0], [0, 2, 1])
    assert store.versions([1, "C.example.", 1]) == [w[1], w[2], w[1]]
    assert store.versions(()) == []
    with pytest.raises(UnknownEndpoint):
        store.versions([0, 3])
    with pytest.raises(InvalidArgument):
        store.versions("a.example")
    with pytest.raises(InvalidArgument):
        store.versions([None])
    assert store.stats()["empty_answers"] == 0


def test_dangling_aliases(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.dangling_aliases() == []
    store.flip_many(None, 1)
    store.flip(2, 2)
    store.delete_plans([1], safe=False)
    assert store.dangling_aliases() == [0, 1]
    assert store.dangling_aliases([1, 2, 1, "a.example"]) == [1, 1, 0]
    assert store.dangling_aliases([2]) == []
    # Endpoint 2's rollback is generation 1.
    assert_stats(store, dangling_aliases=2, dangling_rollbacks=1, empty_answers=0)
    with pytest.raises(UnknownEndpoint):
        store.dangling_aliases([0, 5])
    with pytest.raises(InvalidArgument):
        store.dangling_aliases([0.0])


def test_state(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    st = store.state("b.example")
    version = st.version
    assert st == EndpointState(1, "b.example", None, None, version, None, 0, 0.0, 0)
    assert isinstance(st, EndpointState)
    assert type(st.lease_expiry) is float
    store.flip(1, 1)
    store.flip(1, 2, fence=4)
    token = store.acquire_lease(1, "enactor-1", 10, 100)
    assert token == 5
    st = store.state(1)
    assert st == EndpointState(1, "b.example", 2, 1, st.version, "enactor-1", 5, 110.0, 5)
    assert st.version == store.versions([1])[0] > version
    if versions_count_flips(any_store):
        assert (version, st.version) == (0, 2)
    assert type(st.lease_expiry) is float
    with pytest.raises(UnknownEndpoint):
        store.state(-1)
    with pytest.raises(InvalidArgument):
        store.state(1.0)


# ============================================================================================
# stats and memory
# ============================================================================================


def test_stats_fresh(any_store: Any) -> None:
    stats = any_store.Store().stats()
    assert set(stats) == STATS_KEYS
    assert all(type(v) is int and v == 0 for v in stats.values())


def test_stats_scenario(any_store: Any) -> None:
    """The incident in miniature: a stale flip plus an unsafe clean-up empties the endpoint."""
    store = new_store(any_store, n=1)
    for g in range(1, 6):
        store.put_plan(any_store.Plan(g, {"a.example": [(f"10.0.0.{g}", 1)]}))
    store.flip(0, 5, "lww")  # the fast enactor
    store.flip(0, 1, "lww")  # the delayed enactor: stale flip
    result = store.delete_plans([1, 2, 3], safe=False)
    assert result == DeleteResult(3, 0, [], [])
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == [0]
    stats = store.stats()
    assert (stats["dangling_aliases"], stats["dangling_rollbacks"]) == (1, 0)
    # The stuck endpoint: a later plan cannot record the rollback from the deleted tree.
    with pytest.raises(DanglingAlias):
        store.flip(0, 4)
    # Only a flip without rollback (the repair) moves it.
    assert store.flip(0, 4, rollback=False) is True
    assert store.resolve(0) == (("10.0.0.4", 1),)
    stats = store.stats()
    assert set(stats) == STATS_KEYS
    assert stats == {
        "endpoints": 1,
        "plans": 2,
        "trees": 2,
        "target_sets": 2,
        "records_live": 2,
        "flips_applied": 3,
        "stale_flips": 1,
        "outdated_rejections": 0,
        "fenced_rejections": 0,
        "missing_rejections": 0,
        "dangling_rejections": 1,
        "empty_answers": 1,
        "dangling_aliases": 0,
        "dangling_rollbacks": 0,
        "lease_conflicts": 0,
        "leases_granted": 0,
    }


def test_memory(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    mem = store.memory()
    assert set(mem) == {"endpoints", "names", "plans", "target_sets", "total"}
    assert all(type(v) is int and v >= 0 for v in mem.values())
    assert mem["total"] >= max(mem["endpoints"], mem["names"], mem["plans"], mem["target_sets"])
    store.add_endpoints([f"e{i}.example" for i in range(1000)])
    assert store.memory()["names"] > mem["names"]
    assert store.memory()["endpoints"] > mem["endpoints"]


def test_len(any_store: Any) -> None:
    store = any_store.Store()
    assert len(store) == 0
    store.add_endpoints(NAMES)
    assert len(store) == 3


def _api(cls: Any) -> dict[str, Any]:
    """Public names of a class, with parameter names/kinds/has-default of its methods."""
    out: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("_") and name != "__len__":
            continue
        attr = getattr(cls, name)
        if not callable(attr):
            out[name] = "attribute"
            continue
        params = list(inspect.signature(attr).parameters.values())
        out[name] = [
            (p.name, p.kind == p.KEYWORD_ONLY, p.default is not p.empty)
            for p in params
            if p.name != "self"
        ]
    return out


def test_reference_has_the_same_api() -> None:
    from conftest import PY_IMPL, rust_impl

    rust = rust_impl()
    if rust is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    assert _api(PY_IMPL.Store) == _api(rust.Store)
    assert _api(PY_IMPL.Plan) == _api(rust.Plan)


def test_rust_panic_surfaces_as_internal_error_not_a_crash() -> None:
    """A panic inside the Rust binding becomes dnsrace.InternalError; the interpreter and the
    store keep working afterwards."""
    import dnsrace._core as core

    store = core.RecordStore()
    store.add_endpoints(["a.example"])
    with pytest.raises(InternalError, match="deliberate panic"):
        core._testing.panic()
    assert store.add_endpoints(["b.example"]) == [1]
    assert len(store) == 2


def test_a_target_must_be_a_tuple_or_list(any_store: Any) -> None:
    # A two-key dict iterates to two items but is not an (address, weight) pair.
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": [{"10.0.0.1": 1, "x": 2}]})
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": [iter(("10.0.0.1", 1))]})
    assert any_store.Plan(1, {"a.example": [["10.0.0.1", 1]]}).records == 1
