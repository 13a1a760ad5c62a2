"""Conformance: flip and flip_many, their modes, fences and refusals (store_conformance.py)."""

from __future__ import annotations

from typing import Any

import pytest
from store_conformance import (
    MAX,
    NAMES,
    T1,
    T2,
    assert_stats,
    assert_unknown_endpoints_refused,
    new_store,
)

from conftest import versions_count_flips
from dnsrace import (
    DanglingAlias,
    EndpointState,
    FlipCounts,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    InvalidToken,
    UnknownEndpoint,
    UnknownPlan,
)

# flip
# ============================================================================================


def test_flip_if_newer(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip(0, 2) is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (2, None)
    version = st.version
    assert store.flip(0, 1) is False
    assert store.flip(0, 2) is False
    assert store.flip(0, 2, "if_newer") is False
    assert store.state(0).version == version  # refused: unchanged
    assert store.flip(0, 3, "if_newer") is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (3, 2)
    assert st.version > version
    if versions_count_flips(any_store):
        assert (version, st.version) == (1, 2)
    assert_stats(store, flips_applied=2, outdated_rejections=3, stale_flips=0)


def test_flip_lww_counts_stale_flips(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip("a.example", 3, "lww") is True
    assert store.flip("a.example", 1, "lww") is True
    assert store.flip("a.example", 1, "lww") is True  # same generation: not lower
    assert store.flip("a.example", 2, mode="lww") is True
    st = store.state("a.example")
    assert (st.alias, st.rollback) == (2, 1)
    if versions_count_flips(any_store):
        assert st.version == 4
    assert_stats(store, flips_applied=4, stale_flips=1, outdated_rejections=0)


def test_flip_exact(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    v0 = store.state(0).version
    assert store.flip(0, 2, "exact", expected_version=v0 + 1) is False
    assert store.flip(0, 2, "exact", expected_version=v0) is True
    v1 = store.state(0).version
    assert store.flip(0, 1, "exact", expected_version=v1) is True  # lower: allowed, stale flip
    v2 = store.state(0).version
    assert store.flip(0, 3, "exact", expected_version=v1) is False
    assert store.flip(0, 3, "exact", expected_version=v2) is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (3, 1)
    assert v0 < v1 < v2 < st.version
    if versions_count_flips(any_store):
        assert (v0, v1, v2, st.version) == (0, 1, 2, 3)
    assert_stats(store, flips_applied=3, stale_flips=1, outdated_rejections=2)
    assert store.flip(1, 1, "exact", expected_version=MAX) is False


def test_flip_fence(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3, 4, 5))
    assert store.flip(0, 1, fence=5) is True
    assert store.state(0).highest_fence == 5
    assert store.flip(0, 2, fence=4) is False  # fenced
    assert store.flip(0, 2, fence=5) is True  # equal is accepted
    assert store.flip(0, 3, "lww", fence=9) is True
    assert store.state(0).highest_fence == 9
    assert store.flip(0, 4) is True  # no fence: not checked
    assert store.state(0).highest_fence == 9
    assert store.flip(0, 5, "lww", fence=1) is False
    stats = store.stats()
    assert stats["fenced_rejections"] == 2
    assert stats["flips_applied"] == 4
    assert stats["outdated_rejections"] == 0
    # A fence accepted by the fence check but refused by the mode does not raise the token.
    assert store.flip(0, 1, "if_newer", fence=20) is False
    assert store.state(0).highest_fence == 9
    assert store.stats()["outdated_rejections"] == 1
    # The fence check comes before the mode check.
    assert store.flip(0, 1, "if_newer", fence=2) is False
    assert store.stats()["fenced_rejections"] == 3
    assert store.stats()["outdated_rejections"] == 1
    assert store.flip(1, 1, fence=MAX) is True
    assert store.state(1).highest_fence == MAX
    assert store.flip(1, 2, fence=MAX) is True


def test_flip_other_endpoints_unaffected(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.state(0)
    store.flip(1, 1, fence=3)
    assert store.state(0) == before
    assert before == EndpointState(0, "a.example", None, None, before.version, None, 0, 0.0, 0)
    if versions_count_flips(any_store):
        assert before.version == 0
    assert store.state(2).highest_fence == 0


def test_flip_missing_tree(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.put_plan(any_store.Plan(2, {"a.example": T1}))
    with pytest.raises(UnknownPlan):
        store.flip("b.example", 2)
    with pytest.raises(UnknownPlan, match="7"):
        store.flip(0, 7, "lww")
    with pytest.raises(UnknownPlan):
        store.flip(0, 7, "exact", expected_version=0, fence=1)
    assert store.stats()["missing_rejections"] == 3
    assert store.state(0).version == store.state(1).version  # nothing changed
    if versions_count_flips(any_store):
        assert store.state(0).version == 0
    assert store.state(0).highest_fence == 0
    # Missing is checked before the fence.
    store.flip(0, 1, fence=10)
    with pytest.raises(UnknownPlan):
        store.flip(0, 7, fence=1)
    assert_stats(store, missing_rejections=4, fenced_rejections=0)
    # A deleted tree is missing too.
    store.delete_plans([2], safe=False)
    with pytest.raises(UnknownPlan):
        store.flip(0, 2)


@pytest.mark.parametrize("mode", ["LWW", "newer", "", "if-newer", None, 0, b"lww", ["lww"]])
def test_flip_bad_mode(any_store: Any, mode: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, mode)
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument) as info:
        store.flip_many(None, 1, mode)
    assert type(info.value) is InvalidArgument
    assert store.stats()["flips_applied"] == 0


def test_flip_expected_version_rules(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, "exact")
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, "exact", expected_version=None)
    assert type(info.value) is InvalidArgument
    for mode in ("lww", "if_newer"):
        with pytest.raises(InvalidArgument) as info:
            store.flip(0, 1, mode, expected_version=0)
        assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        store.flip(0, 1, expected_version=0)
    for bad in (-1, 2**63, True, False, 0.0, "0"):
        with pytest.raises(InvalidToken):
            store.flip(0, 1, "exact", expected_version=bad)
    assert store.stats()["flips_applied"] == 0
    assert store.state(0).version == store.state(1).version  # nothing changed
    if versions_count_flips(any_store):
        assert store.state(0).version == 0


@pytest.mark.parametrize("fence", [0, -1, 2**63, True, False, 1.0, "1"])
def test_flip_bad_fence(any_store: Any, fence: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidToken):
        store.flip(0, 1, fence=fence)
    assert store.stats()["flips_applied"] == 0


@pytest.mark.parametrize("gen", [0, -1, 2**63, True, 1.0, None, "1"])
def test_flip_bad_generation(any_store: Any, gen: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidGeneration):
        store.flip(0, gen)
    with pytest.raises(InvalidGeneration):
        store.flip_many(None, gen)
    assert store.stats()["missing_rejections"] == 0


def test_flip_bad_endpoint(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    assert_unknown_endpoints_refused(lambda ep: store.flip(ep, 1))
    with pytest.raises(InvalidName):
        store.flip("zz..example", 1)
    with pytest.raises(InvalidArgument):
        store.flip(True, 1)
    assert_stats(store, missing_rejections=0, flips_applied=0)


# ============================================================================================
# flip_many
# ============================================================================================


def test_flip_many_all(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    counts = store.flip_many(None, 1)
    assert counts == FlipCounts(3, 0, 0, 0)
    assert isinstance(counts, FlipCounts)
    assert store.aliases() == [1, 1, 1]
    assert store.flip_many(None, 1) == FlipCounts(0, 3, 0, 0)
    assert store.flip_many(None, 2, "lww") == FlipCounts(3, 0, 0, 0)
    assert store.flip_many(None, 1, "lww") == FlipCounts(3, 0, 0, 0)
    assert_stats(store, stale_flips=3, flips_applied=9, outdated_rejections=3)


def test_flip_many_list_with_duplicates(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    counts = store.flip_many([2, "a.example", 2, "C.EXAMPLE."], 1)
    assert counts == FlipCounts(2, 2, 0, 0)
    assert store.aliases() == [1, None, 1]
    version = store.state(0).version
    assert store.flip_many([0, 0, 0], 2, "lww") == FlipCounts(3, 0, 0, 0)
    assert store.state(0).version > version
    if versions_count_flips(any_store):
        assert store.state(0).version == 4
    assert store.state(0).rollback == 2
    assert store.flip_many([], 1) == FlipCounts(0, 0, 0, 0)
    assert store.flip_many((1,), 2) == FlipCounts(1, 0, 0, 0)


def test_flip_many_missing(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"b.example": T1}))
    assert store.flip_many(None, 1) == FlipCounts(1, 0, 0, 2)
    assert store.flip_many([0, 1, 0], 9, "lww") == FlipCounts(0, 0, 0, 3)
    assert store.stats()["missing_rejections"] == 5
    assert store.aliases() == [None, 1, None]


def test_flip_many_exact(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    store.flip(1, 1)
    v = store.versions()
    counts = store.flip_many(None, 2, "exact", expected_versions=[v[0], v[0], v[2]])
    assert counts == FlipCounts(2, 1, 0, 0)
    w = store.versions()
    assert w[0] > v[0] and w[1] == v[1] and w[2] > v[2]
    if versions_count_flips(any_store):
        assert (v, w) == ([0, 1, 0], [1, 1, 1])
        # Repeated endpoint: the second sees the version bumped by the first.
        counts = store.flip_many([0, 0, 0], 1, "exact", expected_versions=(1, 2, 2))
        assert counts == FlipCounts(2, 1, 0, 0)
        assert store.state(0).version == 3


def test_flip_many_fences(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip_many(None, 1, fence=5) == FlipCounts(3, 0, 0, 0)
    assert [store.state(i).highest_fence for i in range(3)] == [5, 5, 5]
    assert store.flip_many(None, 2, fence=[4, 5, 6]) == FlipCounts(2, 0, 1, 0)
    assert [store.state(i).highest_fence for i in range(3)] == [5, 5, 6]
    assert store.aliases() == [1, 2, 2]
    # Per-endpoint fences with repeated endpoints apply in order.
    assert store.flip_many([0, 0], 3, "lww", fence=(9, 8)) == FlipCounts(1, 0, 1, 0)
    assert store.state(0).highest_fence == 9
    stats = store.stats()
    assert stats["fenced_rejections"] == 2


def test_refused_lease_entries_are_fenced_where_no_token_was_issued(any_store: Any) -> None:
    # 0 and None (what acquire_leases gives for a refused lease) never held a lease: fenced even
    # on an endpoint whose highest token is still 0.
    store = new_store(any_store, gens=(1,))
    assert store.flip_many([0, 1, 2], 1, fence=[0, None, 1]) == FlipCounts(1, 0, 2, 0)
    assert store.aliases() == [None, None, 1]
    assert [store.state(i).highest_fence for i in range(3)] == [0, 0, 1]
    # Every entry refused (a batch of zeros only, as a numpy output of acquire_leases gives
    # when no lease was granted): all fenced, not an error.
    assert store.flip_many([0, 1], 1, fence=[0, None]) == FlipCounts(0, 0, 2, 0)
    assert store.flip_many([2], 1, fence=[0]) == FlipCounts(0, 0, 1, 0)


def test_flip_many_check_order(any_store: Any) -> None:
    # missing, then fenced, then stale.
    store = new_store(any_store, gens=(1,))
    store.put_plan(any_store.Plan(2, {"a.example": T1, "b.example": T1}))
    store.flip_many(None, 1, fence=10)
    store.flip(0, 2, fence=10)
    counts = store.flip_many(None, 2, fence=3)
    assert counts == FlipCounts(0, 0, 2, 1)
    counts = store.flip_many(None, 2, fence=10)
    assert counts == FlipCounts(1, 1, 0, 1)


# The 2025 stuck endpoint comes from the store: a flip records the rollback from the active
# tree, so once that tree is deleted the flip is refused (and changes nothing).


def test_flip_on_dangling_alias_is_refused(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.delete_plans([1], safe=False)
    before = store.state(0)
    with pytest.raises(DanglingAlias, match="active tree is gone"):
        store.flip(0, 2, "lww")
    with pytest.raises(DanglingAlias):
        store.flip(0, 2, "if_newer")
    assert store.state(0) == before
    counts = store.flip_many(None, 3, "lww")
    assert counts == FlipCounts(0, 0, 0, 0, 3)
    assert store.stats()["dangling_rejections"] == 5
    assert store.stats()["flips_applied"] == 3
    assert store.aliases() == [1, 1, 1]
    assert store.resolve_many() == [(), (), ()]


def test_dangling_checked_after_mode_condition(any_store: Any) -> None:
    # missing, fenced, stale, then dangling: a refused stale flip stays "stale".
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 2, fence=5)
    store.delete_plans([2], safe=False)
    assert store.flip_many(None, 1, "if_newer") == FlipCounts(0, 3, 0, 0, 0)
    assert store.flip_many(None, 3, fence=4) == FlipCounts(0, 0, 3, 0, 0)
    assert store.flip_many(None, 9) == FlipCounts(0, 0, 0, 3, 0)
    assert store.flip_many(None, 3, "if_newer") == FlipCounts(0, 0, 0, 0, 3)
    assert store.flip(0, 1, "if_newer") is False


def test_flip_without_rollback_repairs_dangling_alias(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    store.delete_plans([2], safe=False)
    assert store.flip(0, 3, "lww", rollback=False) is True
    state = store.state(0)
    assert (state.alias, state.rollback) == (3, None)
    assert store.flip_many([1, 2], 3, "if_newer", rollback=False) == FlipCounts(2, 0, 0, 0, 0)
    assert store.dangling_aliases() == []
    assert store.resolve(1) == tuple(sorted(T1))
    # With the active tree present, rollback=False still leaves no rollback behind.
    store.put_plan(any_store.Plan(4, dict.fromkeys(NAMES, T2)))
    store.flip(0, 4, rollback=False)
    assert store.state(0).rollback is None
    store.flip(1, 4)
    assert store.state(1).rollback == 3


@pytest.mark.parametrize("rollback", [0, 1, None, "yes"])
def test_flip_rollback_must_be_a_bool(any_store: Any, rollback: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument, match="rollback"):
        store.flip(0, 1, rollback=rollback)
    with pytest.raises(InvalidArgument, match="rollback"):
        store.flip_many(None, 1, rollback=rollback)
    assert store.aliases() == [None, None, None]


def test_flip_many_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.stats()
    cases: list[tuple[type[Exception], dict[str, Any]]] = [
        (UnknownEndpoint, {"endpoints": [0, 1, 9]}),
        (UnknownEndpoint, {"endpoints": [0, "zz.example"]}),
        (InvalidName, {"endpoints": [0, "-bad"]}),
        (InvalidArgument, {"endpoints": [0, None]}),
        (InvalidArgument, {"endpoints": "a.example"}),
        # (A 0 in a fence list is a refused lease's sentinel: fenced, not an error.)
        (InvalidToken, {"endpoints": [0, 1], "fence": [1, -1]}),
        (InvalidToken, {"endpoints": None, "fence": 0}),
        (InvalidToken, {"endpoints": None, "fence": [1, 1, True]}),
        (InvalidArgument, {"endpoints": [0, 1], "fence": [1, 1, 1]}),
        (InvalidArgument, {"endpoints": None, "fence": [1, 1]}),
        (InvalidArgument, {"endpoints": None, "fence": "111"}),
        (InvalidArgument, {"endpoints": None, "fence": 1.5}),
        (InvalidArgument, {"endpoints": None, "fence": object()}),
        (InvalidArgument, {"endpoints": 5}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact"}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact", "expected_versions": [0, 0]}),
        (InvalidArgument, {"endpoints": None, "mode": "exact", "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "mode": "lww", "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact", "expected_versions": "0"}),
        (InvalidToken, {"endpoints": [0, 1], "mode": "exact", "expected_versions": [0, -1]}),
        (InvalidToken, {"endpoints": [0, 1], "mode": "exact", "expected_versions": [0, True]}),
    ]
    for exc, kwargs in cases:
        endpoints = kwargs.pop("endpoints")
        with pytest.raises(exc) as info:
            store.flip_many(endpoints, 1, **kwargs)
        if exc is InvalidArgument:
            assert type(info.value) is InvalidArgument, (kwargs, info.value)
        assert store.stats() == before, kwargs
        assert store.aliases() == [None, None, None]


def test_flip_many_none_uses_current_size(any_store: Any) -> None:
    store = new_store(any_store, n=2, gens=(1,))
    assert store.flip_many(None, 1, fence=[1, 2]) == FlipCounts(2, 0, 0, 0)
    store.add_endpoints(["c.example"])
    with pytest.raises(InvalidArgument):
        store.flip_many(None, 1, fence=[1, 2])
    assert store.flip_many(None, 1, "lww", fence=[1, 2, 3]) == FlipCounts(2, 0, 0, 1)


# ============================================================================================
