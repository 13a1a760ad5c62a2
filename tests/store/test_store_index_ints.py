"""Integers as numpy gives them (issue 18): anything with ``__index__`` is accepted wherever an
int is, in single and batch calls, by every store; bools (numpy's too) are still refused."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

from conftest import versions_count_flips
from dnsrace.errors import DnsraceError, InvalidGeneration, InvalidToken

INT_TYPES = [numpy.int8, numpy.int16, numpy.int32, numpy.int64, numpy.uint8, numpy.uint32]


class Index:
    """A user type with ``__index__`` (not a numpy type)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def _store(any_store: Any) -> Any:
    s = any_store.Store()
    s.add_endpoints(["a.example", "b.example"])
    s.put_plan(any_store.Plan(1, {0: [("10.0.0.1", 1)], 1: [("10.0.0.2", 2)]}))
    s.put_plan(any_store.Plan(2, {0: [("10.0.0.3", 1)], 1: [("10.0.0.4", 2)]}))
    return s


@pytest.mark.parametrize("t", [*INT_TYPES, Index], ids=lambda t: t.__name__)
def test_single_calls_take_index_ints(any_store: Any, t: Any) -> None:
    s = _store(any_store)
    one = t(1)
    assert s.flip(t(0), t(1), fence=one) is True
    version = s.state(1).version  # 0 embedded; an etcd revision need not fit in t
    as_t = t if versions_count_flips(any_store) else Index
    assert s.flip(t(1), t(2), "exact", expected_version=as_t(version)) is True
    assert s.has_tree(t(0), t(2)) and s.endpoint_name(t(1)) == "b.example"
    assert s.resolve(t(0)) == (("10.0.0.1", 1),)
    token = s.acquire_lease(t(0), "h", t(5), t(0))
    assert s.renew_lease(t(0), "h", t(token), t(5), t(1)) == 6.0
    s.release_lease(t(0), "h", t(token))
    assert s.state(t(0)).alias == 1
    plan = any_store.Plan(t(3), {t(0): [("10.0.0.9", t(7))]})
    s.put_plan(plan)
    assert plan.targets(t(0)) == (("10.0.0.9", 7),)


@pytest.mark.parametrize("t", [*INT_TYPES, Index], ids=lambda t: t.__name__)
def test_batch_calls_take_index_ints(any_store: Any, t: Any) -> None:
    s = _store(any_store)
    ids = [t(0), t(1)]
    counts = s.flip_many(ids, t(2), fence=t(1))
    assert counts.applied == 2
    assert s.flip_many(ids, t(1), "lww", fence=[t(1), t(2)]).applied == 2
    before = s.versions(ids)
    as_t = t if versions_count_flips(any_store) else Index  # as in the single calls
    assert s.flip_many(ids, t(2), "exact", expected_versions=[as_t(v) for v in before]).applied == 2
    after = s.versions(ids)
    assert s.aliases(ids) == [2, 2] and after[0] > before[0] and after[1] > before[1]
    if versions_count_flips(any_store):
        assert (before, after) == ([2, 2], [3, 3])
    tokens = s.acquire_leases(ids, "h", 5.0, 0.0)
    assert s.release_leases(ids, "h", [t(tok) for tok in tokens]) == 2
    assert s.delete_plans([t(1)]).unknown_generations == []
    shared = any_store.Plan.from_shared(t(9), [[("10.0.0.5", t(1))]], ids, [t(0), t(0)])
    assert len(shared) == 2


@pytest.mark.parametrize("bad", [True, numpy.True_, numpy.bool_(False), numpy.float64(1.0)])
def test_bools_and_floats_still_refused(any_store: Any, bad: Any) -> None:
    s = _store(any_store)
    with pytest.raises(InvalidGeneration):
        s.flip(0, bad)
    with pytest.raises(InvalidToken):
        s.flip(0, 1, fence=bad)
    with pytest.raises(DnsraceError):
        s.aliases([bad])
    assert s.aliases() == [None, None]


def test_numpy_array_is_not_a_scalar_fence(any_store: Any) -> None:
    s = _store(any_store)
    # A one-item array is a sequence of fences (one per endpoint), never one fence.
    assert s.flip_many([0], 1, fence=numpy.array([1])).applied == 1
    with pytest.raises(DnsraceError):
        s.flip_many([0, 1], 1, fence=numpy.array([1]))


def test_index_raising_propagates(any_store: Any) -> None:
    class Interrupting:
        def __index__(self) -> int:
            raise KeyboardInterrupt

    s = _store(any_store)
    with pytest.raises(KeyboardInterrupt):
        s.flip(Interrupting(), 1)
    with pytest.raises(KeyboardInterrupt):
        s.flip_many([0, Interrupting()], 1)
    assert s.aliases() == [None, None]
