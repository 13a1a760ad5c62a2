"""Leases and fencing tokens, against the Rust store and the Python reference."""

from __future__ import annotations

import math
from typing import Any

import pytest

from dnsrace import InvalidArgument, InvalidToken, LeaseHeld, LeaseLost, UnknownEndpoint

MAX = 2**63 - 1
NAMES = ["a.example", "b.example", "c.example"]
T1 = [("10.0.0.1", 10)]


def new_store(any_store: Any, n: int = 3) -> Any:
    store = any_store.Store()
    store.add_endpoints(NAMES[:n])
    return store


def lease(store: Any, endpoint: Any) -> tuple[Any, int, float]:
    st = store.state(endpoint)
    return st.lease_holder, st.lease_token, st.lease_expiry


def test_acquire(any_store: Any) -> None:
    store = new_store(any_store)
    token = store.acquire_lease("a.example", "e1", 10, 100)
    assert token == 1
    assert type(token) is int
    assert lease(store, 0) == ("e1", 1, 110.0)
    assert store.state(0).highest_fence == 1
    assert store.acquire_lease(1, "e1", 10, 100) == 1  # tokens are per endpoint
    stats = store.stats()
    assert stats["leases_granted"] == 2
    assert stats["lease_conflicts"] == 0


def test_acquire_conflict(any_store: Any) -> None:
    store = new_store(any_store)
    store.acquire_lease(0, "e1", 10, 100)
    with pytest.raises(LeaseHeld) as info:
        store.acquire_lease(0, "e2", 5, 109.999)
    assert "e1" in str(info.value)
    assert "110" in str(info.value)
    assert lease(store, 0) == ("e1", 1, 110.0)
    stats = store.stats()
    assert stats["lease_conflicts"] == 1
    assert stats["leases_granted"] == 1
    # Expired (now >= expiry): anyone may take it.
    assert store.acquire_lease(0, "e2", 5, 110) == 2
    assert lease(store, 0) == ("e2", 2, 115.0)


def test_reacquire_own_lease_issues_new_token(any_store: Any) -> None:
    store = new_store(any_store)
    assert store.acquire_lease(0, "e1", 10, 0) == 1
    assert store.acquire_lease(0, "e1", 1, 5) == 2
    assert lease(store, 0) == ("e1", 2, 6.0)
    assert store.stats()["leases_granted"] == 2


def test_time_may_go_backwards(any_store: Any) -> None:
    store = new_store(any_store)
    store.acquire_lease(0, "e1", 10, 100)
    # A caller with an earlier clock still sees a live lease.
    with pytest.raises(LeaseHeld):
        store.acquire_lease(0, "e2", 10, -50.5)
    assert store.acquire_lease(0, "e1", 1, -50.5) == 2
    assert lease(store, 0) == ("e1", 2, -49.5)
    assert store.acquire_lease(0, "e2", 1, -49.5) == 3


def test_tokens_exceed_fences(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1}))
    assert store.flip(0, 1, fence=41) is True
    assert store.acquire_lease(0, "e1", 10, 0) == 42
    assert store.state(0).highest_fence == 42
    # An old token no longer passes the fence.
    assert store.flip(0, 1, "lww", fence=41) is False
    assert store.flip(0, 1, "lww", fence=42) is True


def test_token_exhaustion(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1, "b.example": T1}))
    store.flip(0, 1, fence=MAX - 1)
    assert store.acquire_lease(0, "e1", 10, 0) == MAX
    assert store.state(0).highest_fence == MAX
    with pytest.raises(InvalidToken):
        store.acquire_lease(0, "e1", 10, 1)
    assert lease(store, 0) == ("e1", MAX, 10.0)
    assert store.stats()["leases_granted"] == 1
    # A batch reports an exhausted endpoint as None (not a conflict) and grants the others.
    assert store.acquire_leases([1, 0, 1], "e1", 10, 1) == [1, None, 2]
    assert lease(store, 0) == ("e1", MAX, 10.0)
    stats = store.stats()
    assert stats["leases_granted"] == 3
    assert stats["lease_conflicts"] == 0
    store.release_lease(0, "e1", MAX)
    with pytest.raises(InvalidToken):
        store.acquire_lease(0, "e2", 10, 1)


def test_renew(any_store: Any) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(0, "e1", 10, 100)
    expiry = store.renew_lease(0, "e1", token, 30, 105)
    assert expiry == 135.0
    assert type(expiry) is float
    assert lease(store, 0) == ("e1", token, 135.0)
    assert store.renew_lease("a.example", "e1", token, 0.5, 134.75) == 135.25
    # Renewing to an earlier expiry is allowed (expiry = now + ttl).
    assert store.renew_lease(0, "e1", token, 1, 100) == 101.0
    with pytest.raises(LeaseLost):
        store.renew_lease(0, "e1", token, 10, 101)  # expired: now >= expiry
    with pytest.raises(LeaseLost):
        store.renew_lease(0, "e2", token, 10, 100)
    with pytest.raises(LeaseLost):
        store.renew_lease(0, "e1", token + 1, 10, 100)
    with pytest.raises(LeaseLost):
        store.renew_lease(1, "e1", token, 10, 100)  # never leased
    assert lease(store, 0) == ("e1", token, 101.0)
    # Renewal does not issue tokens or count grants.
    assert store.state(0).highest_fence == token
    assert store.stats()["leases_granted"] == 1


def test_renew_after_takeover(any_store: Any) -> None:
    store = new_store(any_store)
    t1 = store.acquire_lease(0, "e1", 10, 0)
    t2 = store.acquire_lease(0, "e2", 10, 20)
    with pytest.raises(LeaseLost):
        store.renew_lease(0, "e1", t1, 10, 21)
    assert store.renew_lease(0, "e2", t2, 10, 21) == 31.0


def test_release(any_store: Any) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(0, "e1", 10, 100)
    with pytest.raises(LeaseLost):
        store.release_lease(0, "e2", token)
    with pytest.raises(LeaseLost):
        store.release_lease(0, "e1", token + 1)
    assert store.release_lease(0, "e1", token) is None
    assert lease(store, 0) == (None, 0, 0.0)
    assert store.state(0).highest_fence == token  # the fence survives the release
    with pytest.raises(LeaseLost):
        store.release_lease(0, "e1", token)
    # After release, a new lease gets a higher token.
    assert store.acquire_lease(0, "e2", 10, 100) == token + 1


def test_release_expired_untaken_lease(any_store: Any) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(0, "e1", 1, 0)
    store.release_lease(0, "e1", token)  # long expired: no time argument at all
    assert lease(store, 0) == (None, 0, 0.0)


def test_acquire_leases(any_store: Any) -> None:
    store = new_store(any_store)
    store.acquire_lease(1, "e2", 10, 0)
    tokens = store.acquire_leases([0, "b.example", 2, 0], "e1", 5, 1)
    assert tokens == [1, None, 1, 2]
    assert lease(store, 0) == ("e1", 2, 6.0)
    assert lease(store, 1) == ("e2", 1, 10.0)
    stats = store.stats()
    assert stats["lease_conflicts"] == 1
    assert stats["leases_granted"] == 4
    assert store.acquire_leases([], "e1", 5, 1) == []
    assert store.acquire_leases((1,), "e1", 5, 10) == [2]


def test_acquire_leases_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store)
    before = store.stats()
    with pytest.raises(UnknownEndpoint):
        store.acquire_leases([0, 1, 3], "e1", 5, 1)
    with pytest.raises(InvalidArgument):
        store.acquire_leases([0, 1, None], "e1", 5, 1)
    with pytest.raises(InvalidArgument):
        store.acquire_leases("a.example", "e1", 5, 1)
    with pytest.raises(InvalidArgument):
        store.acquire_leases([0], "", 5, 1)
    with pytest.raises(InvalidArgument):
        store.acquire_leases([0], "e1", 0, 1)
    with pytest.raises(InvalidArgument):
        store.acquire_leases([0], "e1", 1, math.nan)
    assert store.stats() == before
    assert lease(store, 0) == (None, 0, 0.0)


def test_release_leases(any_store: Any) -> None:
    store = new_store(any_store)
    t0, t1, t2 = store.acquire_leases([0, 1, 2], "e1", 10, 0)
    store.acquire_lease(2, "e2", 10, 20)
    assert store.release_leases([0, 1, 2], "e1", [t0, t1 + 1, t2]) == 1
    assert lease(store, 0) == (None, 0, 0.0)
    assert lease(store, 1) == ("e1", t1, 10.0)
    assert lease(store, 2)[0] == "e2"
    assert store.release_leases(["b.example", "b.example"], "e1", (t1, t1)) == 1
    assert store.release_leases([], "e1", []) == 0


def test_release_leases_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store)
    tokens = store.acquire_leases([0, 1], "e1", 10, 0)
    with pytest.raises(InvalidArgument):
        store.release_leases([0, 1], "e1", tokens[:1])
    with pytest.raises(InvalidArgument):
        store.release_leases([0], "e1", tokens)
    with pytest.raises(InvalidToken):
        store.release_leases([0, 1], "e1", [tokens[0], -1])
    with pytest.raises(UnknownEndpoint):
        store.release_leases([0, 7], "e1", tokens)
    with pytest.raises(InvalidArgument):
        store.release_leases([0, 1], "", tokens)
    assert [lease(store, i)[0] for i in (0, 1)] == ["e1", "e1"]


def test_live_leases(any_store: Any) -> None:
    from array import array

    store = new_store(any_store)
    t0 = store.acquire_lease(0, "e1", 10, 0)
    store.acquire_lease(1, "e2", 5, 0)
    assert store.live_leases(4.5) == [0, 1]
    # The expiry itself is no longer live (the same rule that lets another holder take it).
    assert store.live_leases(5) == [0]
    assert store.live_leases(4, [2, 1, 0, 1]) == [1, 0, 1]
    assert store.live_leases(4, array("q", [1, 2])) == [1]
    got = store.live_leases(4, output="array")
    assert (got.typecode, list(got)) == ("I", [0, 1])
    store.release_lease(0, "e1", t0)
    assert store.live_leases(0) == [1]
    assert store.live_leases(0, []) == []
    assert store.stats()["lease_conflicts"] == 0
    for now in (math.nan, math.inf, None, "1"):
        with pytest.raises(InvalidArgument):
            store.live_leases(now)
    with pytest.raises(UnknownEndpoint):
        store.live_leases(0, [0, 3])


@pytest.mark.parametrize("holder", ["", "x" * 129, "é" * 129, "\ud800", None, 1, b"e1", ["e1"]])
def test_bad_holders(any_store: Any, holder: object) -> None:
    store = new_store(any_store)
    calls = [
        lambda: store.acquire_lease(0, holder, 1, 0),
        lambda: store.acquire_leases([0], holder, 1, 0),
        lambda: store.renew_lease(0, holder, 1, 1, 0),
        lambda: store.release_lease(0, holder, 1),
        lambda: store.release_leases([0], holder, [1]),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert type(info.value) is InvalidArgument
    assert store.stats()["leases_granted"] == 0


@pytest.mark.parametrize("holder", ["x", "x" * 128, "é" * 128, "enactor-🚀" * 10, " "])
def test_holder_length_counts_characters(any_store: Any, holder: str) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(0, holder, 1, 0)
    assert store.state(0).lease_holder == holder
    store.release_lease(0, holder, token)


@pytest.mark.parametrize("ttl", [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf, True, "1", None])
def test_bad_ttl(any_store: Any, ttl: object) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(1, "e1", 10, 0)
    calls = [
        lambda: store.acquire_lease(0, "e1", ttl, 0),
        lambda: store.acquire_leases([0], "e1", ttl, 0),
        lambda: store.renew_lease(1, "e1", token, ttl, 0),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert type(info.value) is InvalidArgument
    assert lease(store, 1) == ("e1", token, 10.0)


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf, True, False, "0", None])
def test_bad_now(any_store: Any, now: object) -> None:
    store = new_store(any_store)
    token = store.acquire_lease(1, "e1", 10, 0)
    calls = [
        lambda: store.acquire_lease(0, "e1", 1, now),
        lambda: store.acquire_leases([0], "e1", 1, now),
        lambda: store.renew_lease(1, "e1", token, 1, now),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert type(info.value) is InvalidArgument
    assert lease(store, 1) == ("e1", token, 10.0)


@pytest.mark.parametrize("token", [0, -1, 2**63, True, 1.0, "1", None])
def test_bad_tokens(any_store: Any, token: object) -> None:
    store = new_store(any_store)
    good = store.acquire_lease(0, "e1", 10, 0)
    with pytest.raises(InvalidToken):
        store.renew_lease(0, "e1", token, 1, 0)
    with pytest.raises(InvalidToken):
        store.release_lease(0, "e1", token)
    if token in (0, None):
        # In a batch, 0 and None are the sentinel of a refused lease: skipped (issue 18).
        assert store.release_leases([0], "e1", [token]) == 0
        assert store.renew_leases([0], "e1", [token], 1, 0) == [None]
    else:
        with pytest.raises(InvalidToken):
            store.release_leases([0], "e1", [token])
        with pytest.raises(InvalidToken):
            store.renew_leases([0], "e1", [token], 1, 0)
    assert lease(store, 0) == ("e1", good, 10.0)


def test_lease_times_are_ieee_doubles(any_store: Any) -> None:
    store = new_store(any_store)
    store.acquire_lease(0, "e1", 0.2, 0.1)
    assert store.state(0).lease_expiry == 0.1 + 0.2 == 0.30000000000000004
    store.acquire_lease(1, "e1", 1e-300, 1e300)
    assert store.state(1).lease_expiry == 1e300
    store.acquire_lease(2, "e1", 5e-324, 0)
    assert store.state(2).lease_expiry == 5e-324
    # Int times are converted to doubles first: float(2**53 + 1) + 1.0 rounds to 2**53.
    store.acquire_lease(2, "e1", 1, 2**53 + 1)
    assert store.state(2).lease_expiry == 2.0**53
    # ... and compared as doubles: 2**53 + 3 becomes 2**53 + 4, not before the expiry.
    token = store.acquire_lease(1, "e1", 4, 2**53)
    assert store.state(1).lease_expiry == 2.0**53 + 4
    assert store.acquire_lease(1, "e2", 1, 2**53 + 3) == token + 1


def test_lease_is_live_strictly_before_expiry(any_store: Any) -> None:
    store = new_store(any_store)
    store.acquire_lease(0, "e1", 1, 0)
    with pytest.raises(LeaseHeld):
        store.acquire_lease(0, "e2", 1, 0.9999999999)
    assert store.acquire_lease(0, "e2", 1, 1.0) == 2


def test_lease_endpoint_errors(any_store: Any) -> None:
    store = new_store(any_store)
    with pytest.raises(UnknownEndpoint):
        store.acquire_lease(3, "e1", 1, 0)
    with pytest.raises(UnknownEndpoint):
        store.renew_lease("zz.example", "e1", 1, 1, 0)
    with pytest.raises(InvalidArgument):
        store.release_lease(1.0, "e1", 1)
    assert store.stats()["leases_granted"] == 0
