"""Symmetric batch leases and conveniences (issue 18), both stores: ``acquire_leases`` in
every container with one refused sentinel, ``renew_leases``, the sentinel handled alike by
renew, release and fenced flips; pickling and copy through the snapshot format, ``in``,
``endpoint_names``."""

from __future__ import annotations

import copy
import pickle
from array import array
from typing import Any

import numpy
import pytest

from dnsrace.errors import InvalidArgument, InvalidToken, UnknownEndpoint


def _store(any_store: Any) -> Any:
    s = any_store.Store()
    s.add_endpoints(["a.example", "b.example", "c.example"])
    s.put_plan(any_store.Plan(1, {i: [(f"10.0.0.{i + 1}", 1)] for i in range(3)}))
    s.acquire_lease(1, "other", 10.0, 0.0)  # endpoint 1 is held by someone else
    return s


@pytest.mark.parametrize("output", ["list", "array", "numpy"])
def test_acquire_leases_outputs_share_one_sentinel(any_store: Any, output: str) -> None:
    s = _store(any_store)
    tokens = s.acquire_leases([0, 1, 2], "me", 5.0, 1.0, output=output)
    if output == "list":
        assert tokens == [1, None, 1]
    elif output == "array":
        assert tokens == array("Q", [1, 0, 1])
    else:
        assert tokens.dtype == numpy.uint64 and tokens.tolist() == [1, 0, 1]
    assert s.stats()["lease_conflicts"] == 1 and s.stats()["leases_granted"] == 3


@pytest.mark.parametrize("output", ["list", "array", "numpy"])
def test_refused_entries_flow_through_renew_release_and_fenced_flips(
    any_store: Any, output: str
) -> None:
    s = _store(any_store)
    tokens = s.acquire_leases([0, 1, 2], "me", 5.0, 1.0, output=output)
    renewed = s.renew_leases([0, 1, 2], "me", tokens, 5.0, 2.0, output=output)
    assert list(renewed) == list(tokens)
    assert s.state(0).lease_expiry == 7.0 and s.state(1).lease_holder == "other"
    counts = s.flip_many([0, 1, 2], 1, fence=renewed)
    assert (counts.applied, counts.fenced) == (2, 1)
    assert s.aliases() == [1, None, 1]
    assert s.release_leases([0, 1, 2], "me", renewed) == 2
    assert s.live_leases(3.0) == [1]


def test_renew_leases_reports_lost_leases_without_raising(any_store: Any) -> None:
    s = _store(any_store)
    t = s.acquire_leases([0, 2], "me", 1.0, 0.0)
    # Endpoint 0's lease expires and is taken over; endpoint 2 is renewed in time.
    s.acquire_lease(0, "thief", 5.0, 2.0)
    assert s.renew_leases([0, 2], "me", t, 5.0, 0.5) == [None, t[1]]
    assert s.renew_leases([0, 2], "me", t, 5.0, 3.0) == [None, t[1]]
    assert s.renew_leases([2], "me", [t[1]], 5.0, 100.0) == [None]  # expired
    assert s.renew_leases([0], "me", [None], 5.0, 0.0) == [None]
    assert s.state(0).lease_holder == "thief"


def test_batch_token_errors_change_nothing(any_store: Any) -> None:
    s = _store(any_store)
    t = s.acquire_leases([0, 2], "me", 5.0, 0.0)
    before = (s.stats(), [s.state(i) for i in range(3)])
    with pytest.raises(InvalidArgument):
        s.renew_leases([0, 2], "me", t[:1], 5.0, 1.0)
    with pytest.raises(InvalidToken):
        s.renew_leases([0, 2], "me", [t[0], -1], 5.0, 1.0)
    with pytest.raises(InvalidToken):
        s.release_leases([0, 2], "me", [t[0], 2**63])
    with pytest.raises(UnknownEndpoint):
        s.renew_leases([0, 9], "me", t, 5.0, 1.0)
    with pytest.raises(InvalidArgument):
        s.acquire_leases([0], "me", 5.0, 1.0, output="tuple")
    assert (s.stats(), [s.state(i) for i in range(3)]) == before


def test_contains_and_endpoint_names(any_store: Any) -> None:
    s = _store(any_store)
    assert "a.example" in s and "B.Example." in s and 2 in s and numpy.uint32(1) in s
    for absent in ("d.example", "not a name!", 3, -1, None, True, 1.0, b"a.example"):
        assert absent not in s
    assert s.endpoint_names() == ["a.example", "b.example", "c.example"]
    assert s.endpoint_names([2, "a.example", numpy.int64(1)]) == [
        "c.example",
        "a.example",
        "b.example",
    ]
    with pytest.raises(UnknownEndpoint):
        s.endpoint_names([5])


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy", "bytes"])
def test_pickle_and_copy_through_the_snapshot_format(any_store: Any, how: str) -> None:
    s = _store(any_store)
    s.flip_many([0, 2], 1)
    if how == "pickle":
        c = pickle.loads(pickle.dumps(s))
    elif how == "copy":
        c = copy.copy(s)
    elif how == "deepcopy":
        c = copy.deepcopy(s)
    else:
        c = any_store.Store.restore_bytes(s.snapshot_bytes())
    assert type(c) is any_store.Store
    assert c.stats() == s.stats() and [c.state(i) for i in range(3)] == [
        s.state(i) for i in range(3)
    ]
    c.flip(1, 1)  # independent: the original does not see it
    assert s.aliases() == [1, None, 1] and c.aliases() == [1, 1, 1]


def test_snapshot_bytes_cross_between_stores(any_store: Any) -> None:
    from tests.conftest import PY_IMPL, rust_impl

    s = _store(any_store)
    other = rust_impl() if any_store is PY_IMPL else PY_IMPL
    assert other is not None
    c = other.Store.restore_bytes(s.snapshot_bytes())
    assert c.stats() == s.stats()


TOKEN_FORMS = ["list", "uint64", "uint64 strided", "int64", "array Q"]


def _token_form(tokens: list[int | None], form: str) -> Any:
    zeroed = [t or 0 for t in tokens]
    if form == "list":
        return tokens
    if form == "uint64":  # copied into the output array
        return numpy.array(zeroed, dtype=numpy.uint64)
    if form == "uint64 strided":
        return numpy.repeat(numpy.array(zeroed, dtype=numpy.uint64), 2)[::2]
    if form == "int64":
        return numpy.array(zeroed, dtype=numpy.int64)
    return array("Q", zeroed)


@pytest.mark.parametrize("form", TOKEN_FORMS)
def test_renew_leases_alike_for_every_token_container(any_store: Any, form: str) -> None:
    s = _store(any_store)
    t = s.acquire_leases([0, 1, 2], "me", 5.0, 0.0)
    assert t == [1, None, 1]
    given = _token_form([t[0], None, t[2] + 1], form)  # renewed, refused, wrong token
    renewed = s.renew_leases([0, 1, 2], "me", given, 5.0, 1.0, output="numpy")
    assert renewed.tolist() == [1, 0, 0]
    assert s.state(0).lease_expiry == 6.0 and s.state(2).lease_expiry == 5.0


@pytest.mark.parametrize("form", ["list", "uint64", "uint64 strided", "array Q"])
def test_out_of_range_token_buffers_raise_and_change_nothing(any_store: Any, form: str) -> None:
    # A uint64 buffer's range is checked by the store's core, not by the binding's copy.
    s = _store(any_store)
    t = s.acquire_leases([0, 2], "me", 5.0, 0.0)
    before = (s.stats(), [s.state(i) for i in range(3)])
    bad = _token_form([t[0], 2**63], form)
    with pytest.raises(InvalidToken, match="9223372036854775808"):
        s.renew_leases([0, 2], "me", bad, 5.0, 1.0, output="numpy")
    with pytest.raises(InvalidToken, match="9223372036854775808"):
        s.release_leases([0, 2], "me", bad)
    assert (s.stats(), [s.state(i) for i in range(3)]) == before


def test_renewal_in_place_records_the_tokens_given() -> None:
    # The answer overwrites the tokens given back (in the output array): the history must
    # still record each given token, lost ones included.
    import json

    import dnsrace

    s = dnsrace.RecordStore(history=64)
    s.add_endpoints(["a.example", "b.example", "c.example"])
    t = s.acquire_leases([0, 1, 2], "me", 5.0, 0.0, output="numpy")
    given = numpy.array([t[0], t[1] + 5, 0], dtype=numpy.uint64)
    assert s.renew_leases([0, 1, 2], "me", given, 5.0, 1.0, output="numpy").tolist() == [1, 0, 0]
    ops = [json.loads(line) for line in s.history_bytes().splitlines()]
    renews = [op for op in ops if op.get("op") == "renew"]
    assert len(renews) == 2, renews  # the refused entry (0) is not recorded
    assert [r["input"]["token"] for r in renews] == [1, 6], renews
    assert s.check_history()["verdict"] == "ok"
