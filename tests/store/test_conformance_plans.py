"""Conformance: put_plan, plan_generations, has_tree and delete_plans (store_conformance.py)."""

from __future__ import annotations

from typing import Any

import pytest
from store_conformance import (
    MAX,
    T1,
    T2,
    T3,
    assert_stats,
    assert_unknown_endpoints_refused,
    new_store,
)

from dnsrace import (
    DeleteResult,
    InvalidArgument,
    InvalidGeneration,
    UnknownEndpoint,
)

# put_plan, plan_generations, has_tree
# ============================================================================================


def test_put_plan(any_store: Any) -> None:
    store = new_store(any_store)
    assert store.plan_generations() == []
    plan = any_store.Plan(3, {"a.example": T1, 1: T1, "C.EXAMPLE.": T3})
    assert store.put_plan(plan) is None
    assert store.plan_generations() == [3]
    for ep in (0, 1, 2, "a.example", "B.example."):
        assert store.has_tree(ep, 3) is True
        assert store.has_tree(ep, 4) is False
    stats = store.stats()
    assert stats["plans"] == 1
    assert stats["trees"] == 3
    assert stats["target_sets"] == 2
    assert stats["records_live"] == 2 + 2 + 3
    store.put_plan(any_store.Plan(1, {"a.example": T1}))
    store.put_plan(any_store.Plan.from_shared(MAX, [T2, T1], ["b.example"], [1]))
    assert store.plan_generations() == [1, 3, MAX]
    assert store.has_tree("a.example", 1)
    assert not store.has_tree("b.example", 1)
    stats = store.stats()
    assert (stats["plans"], stats["trees"], stats["target_sets"], stats["records_live"]) == (
        3,
        5,
        2,
        11,
    )


def test_put_plan_empty_sets_count_as_trees(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": [], "b.example": []}))
    assert store.plan_generations() == [1]
    assert store.has_tree("a.example", 1)
    assert_stats(store, trees=2, records_live=0)
    assert store.flip(0, 1) is True
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == []


def test_put_empty_plan_stores_nothing(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {}))
    assert store.plan_generations() == []
    store.put_plan(any_store.Plan(1, {"a.example": T1}))
    assert store.plan_generations() == [1]


@pytest.mark.parametrize("plan", [None, {}, {"a.example": T1}, 1, "plan"])
def test_put_plan_wrong_type(any_store: Any, plan: object) -> None:
    store = new_store(any_store)
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(plan)
    assert type(info.value) is InvalidArgument


def test_put_plan_rejects_the_other_implementations_plan(any_store: Any) -> None:
    from conftest import PY_IMPL, rust_impl

    others = [
        impl.Plan for impl in (PY_IMPL, rust_impl()) if impl and impl.Plan is not any_store.Plan
    ]
    store = new_store(any_store)
    for other in others:
        with pytest.raises(InvalidArgument):
            store.put_plan(other(1, {"a.example": T1}))


def test_put_plan_same_generation_twice(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.stats()
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(any_store.Plan(1, {"a.example": T2}))
    assert type(info.value) is InvalidArgument
    assert store.stats() == before
    assert store.put_plan(any_store.Plan(2, {"a.example": T2})) is None


def test_put_plan_again_after_all_trees_deleted(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    # Generation 1 is every endpoint's rollback: safe clean-up keeps it, so it is still stored.
    assert store.delete_plans([1]) == DeleteResult(0, 3, [1], [])
    with pytest.raises(InvalidArgument):
        store.put_plan(any_store.Plan(1, {"a.example": T2}))
    # Some trees remain after a partial delete: still stored.
    store.put_plan(any_store.Plan(5, {"a.example": T1, "b.example": T2}))
    store.flip("a.example", 5)
    assert store.delete_plans([5]) == DeleteResult(1, 1, [5], [])
    with pytest.raises(InvalidArgument):
        store.put_plan(any_store.Plan(5, {"b.example": T2}))
    # Unsafe clean-up removes everything: the generation may be put again (repair).
    assert store.delete_plans([1, 5], safe=False) == DeleteResult(4, 0, [], [])
    assert store.plan_generations() == [2]
    store.put_plan(any_store.Plan(1, {"a.example": T3}))
    assert store.plan_generations() == [1, 2]
    assert store.has_tree(0, 1)
    assert not store.has_tree(1, 1)


def test_put_plan_unknown_endpoints_store_nothing(any_store: Any) -> None:
    store = new_store(any_store)
    before = store.stats()
    with pytest.raises(UnknownEndpoint, match=r"zz\.example"):
        store.put_plan(any_store.Plan(1, {"a.example": T1, "zz.example": T1}))
    with pytest.raises(UnknownEndpoint):
        store.put_plan(any_store.Plan(1, {"a.example": T1, 3: T1}))
    with pytest.raises(UnknownEndpoint):
        store.put_plan(any_store.Plan.from_shared(1, [T1], [0, 2**32 - 1], [0, 0]))
    assert store.stats() == before
    assert store.plan_generations() == []
    assert not store.has_tree(0, 1)
    store.add_endpoints(["zz.example"])
    store.put_plan(any_store.Plan(1, {"a.example": T1, "zz.example": T1}))
    assert store.has_tree("zz.example", 1)


def test_put_plan_same_endpoint_by_name_and_id(any_store: Any) -> None:
    # Contract decision: a plan naming one endpoint twice (by name and by id) is rejected when
    # it is put, like a duplicate key, and nothing is stored.
    store = new_store(any_store)
    before = store.stats()
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(any_store.Plan(1, {"a.example": T1, 0: T2}))
    assert type(info.value) is InvalidArgument
    assert store.stats() == before


def test_has_tree_errors(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    assert_unknown_endpoints_refused(lambda ep: store.has_tree(ep, 1))
    with pytest.raises(InvalidArgument):
        store.has_tree(None, 1)
    for gen in (0, -1, 2**63, True, 1.0, None):
        with pytest.raises(InvalidGeneration):
            store.has_tree(0, gen)
    assert store.has_tree(0, MAX) is False


def test_target_sets_are_shared(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1, "b.example": list(T1), "c.example": T2}))
    store.put_plan(any_store.Plan(2, {"a.example": list(reversed(T1)), "b.example": T2}))
    stats = store.stats()
    assert stats["target_sets"] == 2
    assert stats["trees"] == 5
    assert stats["records_live"] == 2 + 2 + 1 + 2 + 1
    store.flip_many(None, 1)
    answers = store.resolve_many()
    assert answers[0] == (("10.0.0.1", 10), ("10.0.0.2", 20))
    assert answers[0] is answers[1]
    store.delete_plans([1], safe=False)
    assert store.stats()["target_sets"] == 2
    store.delete_plans([2], safe=False)
    assert store.stats()["target_sets"] == 0
    assert store.stats()["records_live"] == 0


# ============================================================================================
# delete_plans
# ============================================================================================


def test_delete_plans_unsafe(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    result = store.delete_plans([2, 1, 9, 2, 9], safe=False)
    assert result == DeleteResult(6, 0, [], [9])
    assert isinstance(result, DeleteResult)
    assert store.plan_generations() == [3]
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == [0, 1, 2]
    assert_stats(store, dangling_aliases=3, dangling_rollbacks=3, trees=3, plans=1)


def test_delete_plans_safe_keeps_alias_and_rollback(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3, 4))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    store.flip(0, 3)  # endpoint 0: alias 3, rollback 2
    result = store.delete_plans([4, 3, 2, 1])
    # gen 1: rollback of b, c -> kept twice, a's deleted
    # gen 2: alias of b, c and rollback of a -> kept three times
    # gen 3: alias of a -> kept; b, c deleted
    # gen 4: nobody -> all deleted
    assert result == DeleteResult(1 + 0 + 2 + 3, 2 + 3 + 1, [1, 2, 3], [])
    assert store.plan_generations() == [1, 2, 3]
    assert not store.has_tree(0, 1)
    assert store.has_tree(1, 1)
    assert store.has_tree(0, 3)
    assert not store.has_tree(1, 3)
    assert store.dangling_aliases() == []
    assert_stats(store, dangling_aliases=0, dangling_rollbacks=0, trees=6)
    assert store.resolve(0) == tuple(sorted(T1))


def test_delete_plans_safe_default_and_explicit(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.flip(0, 1)
    assert store.delete_plans([1], safe=True) == DeleteResult(2, 1, [1], [])
    assert store.delete_plans([1]) == DeleteResult(0, 1, [1], [])
    assert store.delete_plans([]) == DeleteResult(0, 0, [], [])
    assert store.delete_plans((1,), safe=False) == DeleteResult(1, 0, [], [])
    assert store.delete_plans([1]) == DeleteResult(0, 0, [], [1])


def test_delete_plans_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    before = store.stats()
    for bad in (0, -1, 2**63, True, 1.5, None, "1"):
        with pytest.raises(InvalidGeneration):
            store.delete_plans([1, 2, bad], safe=False)
    assert store.stats() == before
    assert store.plan_generations() == [1, 2]
    for bad_list in ("12", 5, None):
        with pytest.raises(InvalidArgument) as info:
            store.delete_plans(bad_list)
        assert type(info.value) is InvalidArgument


@pytest.mark.parametrize("safe", [1, 0, None, "yes"])
def test_delete_plans_safe_must_be_a_bool(any_store: Any, safe: object) -> None:
    # errors.py: every bad argument raises a DnsraceError (not a bare TypeError).
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument):
        store.delete_plans([1], safe=safe)
    assert store.plan_generations() == [1]


def test_delete_then_repair_by_reput(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.flip_many(None, 1)
    store.delete_plans([1], safe=False)
    assert store.resolve_many() == [(), (), ()]
    store.put_plan(any_store.Plan(1, {"b.example": T2}))
    assert store.resolve_many() == [(), (("10.0.1.1", 1),), ()]
    assert store.dangling_aliases() == [0, 2]
    assert store.stats()["dangling_aliases"] == 2


# ============================================================================================
