"""EtcdStore on a real etcd member: the embedded store's semantics, call for call.

A seeded random sequence of every store call runs on ``EtcdStore`` and on the pure-Python
reference side by side, comparing every answer; then the concurrency and failure cases that
only a distributed store has (clients in threads, lost members, bad URLs).
"""

from __future__ import annotations

import random
import socket
import threading
import time
from typing import Any

import pytest

from concurrent_calls import run_threads
from dnsrace.backends.etcd import EtcdStore, parse_etcd_url
from dnsrace.errors import (
    InvalidArgument,
    LeaseHeld,
    StoreUnavailable,
)
from dnsrace.reference import Plan, PyRecordStore

N = 300  # more than one tree chunk (256) and one names chunk boundary case


def _store(cluster: Any, ns: str, **kw: Any) -> EtcdStore:
    return EtcdStore(f"{cluster.url}/{ns}", reset=True, **kw)


def _plan(g: int, rng: random.Random, ids: list[int]) -> Plan:
    sets = [[(f"10.{g % 250}.{k}.1", rng.randint(0, 255))] for k in range(3)]
    chosen = rng.sample(ids, rng.randint(len(ids) // 2, len(ids)))
    return Plan.from_shared(g, sets, chosen, [rng.randrange(3) for _ in chosen])


def test_random_calls_answer_as_the_reference(etcd1: Any) -> None:
    rng = random.Random(7)
    store, ref = _store(etcd1, "diff"), PyRecordStore()
    names = [f"e{i}.example.com" for i in range(N)]
    assert store.add_endpoints(names) == ref.add_endpoints(names)
    ids = list(range(N))
    gen = 0
    now = 0.0
    holders = ["a", "b", "c"]
    tokens: dict[tuple[str, int], int] = {}
    for step in range(300):
        op = rng.choice(
            ["put", "put", "flip", "flip", "flip", "delete", "lease", "release", "read"]
        )
        batch = sorted(rng.sample(ids, rng.randint(1, 40)))
        now += rng.uniform(0.0, 3.0)
        if op == "put":
            gen += 1
            plan = _plan(gen, rng, ids)
            store.put_plan(plan)
            ref.put_plan(plan)
        elif op == "flip" and gen:
            # Half the time the generation some endpoint of the batch already points at: the
            # equal case is where if_newer and the alias compare are easiest to get wrong.
            current = [a for a in ref.aliases(batch) if a is not None]
            g = rng.choice(current) if current and rng.random() < 0.5 else rng.randint(1, gen)
            mode = rng.choice(["if_newer", "if_newer", "lww", "exact"])
            kw: dict[str, Any] = {"rollback": rng.random() < 0.8}
            if mode == "exact":
                # Versions differ by design (etcd revisions): compare each store with its own.
                ev_s, ev_r = store.versions(batch), ref.versions(batch)
                if rng.random() < 0.3:
                    ev_s, ev_r = [v + 1 for v in ev_s], [v + 1 for v in ev_r]
                a = store.flip_many(batch, g, mode, expected_versions=ev_s, outcomes=True, **kw)
                b = ref.flip_many(batch, g, mode, expected_versions=ev_r, outcomes=True, **kw)
            else:
                if rng.random() < 0.3:
                    kw["fence"] = rng.randint(0, 6)
                a = store.flip_many(batch, g, mode, outcomes=True, **kw)
                b = ref.flip_many(batch, g, mode, outcomes=True, **kw)
            assert a.counts == b.counts, (step, op, mode, kw)
            assert list(a.outcomes) == list(b.outcomes) and list(a.previous) == list(b.previous)
        elif op == "delete" and gen:
            gens = rng.sample(range(1, gen + 1), min(gen, rng.randint(1, 3)))
            safe = rng.random() < 0.5
            assert store.delete_plans(gens, safe=safe) == ref.delete_plans(gens, safe=safe)
        elif op == "lease":
            who = rng.choice(holders)
            ttl = rng.uniform(0.5, 6.0)
            got = store.acquire_leases(batch, who, ttl, now)
            assert got == ref.acquire_leases(batch, who, ttl, now), step
            for e, t in zip(batch, got, strict=True):
                if t is not None:
                    tokens[(who, e)] = t
        elif op == "release" and tokens:
            (who, e), t = rng.choice(sorted(tokens.items()))
            assert store.release_leases([e], who, [t]) == ref.release_leases([e], who, [t])
        assert store.plan_generations() == ref.plan_generations()
        if op == "read" or step % 20 == 0:
            assert store.aliases(batch) == ref.aliases(batch)
            assert store.rollbacks(batch) == ref.rollbacks(batch)
            assert store.resolve_many(batch) == ref.resolve_many(batch)
            assert store.dangling_aliases() == ref.dangling_aliases()
    assert store.aliases() == ref.aliases() and store.resolve_many() == ref.resolve_many()
    mine, theirs = store.stats(), ref.stats()
    assert {k: mine[k] for k in theirs} == theirs


def test_two_clients_in_threads_never_lose_an_acknowledged_flip(etcd1: Any) -> None:
    # Two clients of one namespace, each in two threads, flip overlapping endpoints to
    # interleaved generations with if_newer: every endpoint ends at the highest generation
    # any acknowledged flip applied to it, and no flip ever lowered an alias.
    url = f"{etcd1.url}/threads"
    setup = EtcdStore(url, reset=True)
    ids = setup.add_endpoints([f"t{i}.example.com" for i in range(120)])
    for g in range(1, 17):
        setup.put_plan(Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, [0] * len(ids)))
    clients = [EtcdStore(url), EtcdStore(url)]
    acked: dict[int, int] = {}
    lock = threading.Lock()
    lowered = []

    def work(worker: int) -> None:
        store = clients[worker % 2]
        rng = random.Random(worker)
        for g in rng.sample(range(1, 17), 16):
            batch = sorted(rng.sample(ids, 60))
            res = store.flip_many(batch, g, "if_newer", outcomes=True)
            with lock:
                for e, code, prev in zip(batch, res.outcomes, res.previous, strict=True):
                    if code == 0:
                        acked[e] = max(acked.get(e, 0), g)
                        if prev > g:
                            lowered.append(e)

    run_threads(work, 4)
    final = setup.aliases(ids)
    assert not lowered
    assert all(final[e] == g for e, g in acked.items())
    assert sum(c.counters()["stale_flips"] for c in clients) == 0


def test_malformed_urls_are_typed_errors() -> None:
    for bad in [
        "http://x:1",
        "etcd://",
        "etcd://host",
        "etcd://host:0",
        "etcd://h:1,h:1",
        "etcd://h:99999",
        "etcd://h:1/bad ns",
        "etcd://bad host:1",
    ]:
        with pytest.raises(InvalidArgument):
            parse_etcd_url(bad)
    assert parse_etcd_url("etcd://a:1,b:2/x").endpoints == ("a:1", "b:2")


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def test_an_unreachable_cluster_fails_fast() -> None:
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match="no etcd member answered"):
        EtcdStore(f"etcd://127.0.0.1:{_dead_port()}/x", connect_timeout_s=1.0)
    assert time.monotonic() - start < 30.0  # bounds a hang; a loaded machine is slow


def test_a_stopped_member_at_start_is_a_typed_error_within_the_deadline(etcd1: Any) -> None:
    etcd1.pause(0)
    try:
        start = time.monotonic()
        with pytest.raises(StoreUnavailable):
            EtcdStore(f"{etcd1.url}/stopped", connect_timeout_s=1.0)
        assert time.monotonic() - start < 30.0  # bounds a hang; a loaded machine is slow
    finally:
        etcd1.resume(0)


def test_the_client_fails_over_when_a_member_dies(etcd3: Any) -> None:
    store = EtcdStore(f"{etcd3.url}/failover", reset=True, timeout_s=2.0)
    ids = store.add_endpoints([f"f{i}.example.com" for i in range(50)])
    store.put_plan(Plan.from_shared(1, [[("10.0.0.1", 1)]], ids, [0] * 50))
    store.put_plan(Plan.from_shared(2, [[("10.0.0.2", 1)]], ids, [0] * 50))
    assert store.flip_many(None, 1).applied == 50
    etcd3.kill(0)  # the member the client talks to first
    assert store.flip_many(None, 2).applied == 50
    etcd3.restart(0)
    assert store.aliases() == [2] * 50


@pytest.mark.parametrize("landed", [True, False])
def test_a_batch_whose_answers_were_lost_counts_each_flip_once(etcd1: Any, landed: bool) -> None:
    # The connection drops after the flat Txns were sent: either etcd applied them (the
    # answers alone were lost) or it never saw them. Either way the batch re-reads and ends
    # with every flip applied exactly once, the rollback recorded from the alias before and
    # no flip counted as stale; a landed write is recognised by the value it wrote.
    from dnsrace.backends.etcd.client import Uncertain

    store = _store(etcd1, f"lost{int(landed)}")
    ids = store.add_endpoints([f"l{i}.example.com" for i in range(N)])
    for g in (1, 2):
        store.put_plan(Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, [0] * N))
    store.flip_many(None, 1)
    real = store.client.txn_many_raw
    calls = 0

    def lose_first_answers(requests: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            if landed:
                real(requests)
            else:
                list(requests)
            raise Uncertain("test: answers lost")
        return real(requests)

    store.client.txn_many_raw = lose_first_answers  # type: ignore[method-assign]
    res = store.flip_many(None, 2, outcomes=True)
    assert calls >= 2
    assert res.counts.applied == N and list(res.outcomes) == [0] * N
    assert list(res.previous) == [1] * N
    assert store.aliases(None) == [2] * N
    assert store.rollbacks(None) == [1] * N
    counters = store.counters()
    assert counters["flips_applied"] == 2 * N
    assert counters["stale_flips"] == 0 and counters["outdated_rejections"] == 0


def _count_reads(store: EtcdStore) -> list[bool]:
    """Record each read a flip makes first: True for a whole-namespace read."""
    reads: list[bool] = []
    state = store._state

    def counting_state(*args: Any, **kwargs: Any) -> Any:
        reads.append(bool(kwargs.get("everything")))
        return state(*args, **kwargs)

    store._state = counting_state  # type: ignore[method-assign]
    return reads


def test_a_whole_fleet_batch_reads_again_once_anyone_else_wrote(etcd1: Any) -> None:
    # A whole-fleet batch (more than 1,000 endpoints) keeps what it read, with its own writes
    # folded in, and skips the read next time only while the cluster's revision shows that
    # nobody wrote since. Another client's flips in between force the read, and the batch
    # sees them.
    n = 1_500
    a = _store(etcd1, "view")
    ids = a.add_endpoints([f"v{i}.example.com" for i in range(n)])
    for g in (1, 2, 3, 4):
        a.put_plan(Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, [0] * n))
    reads = _count_reads(a)
    a.flip_many(None, 1)
    assert reads == [True]
    a.flip_many(None, 2)
    assert reads == [True], "nothing changed in between: the kept view stands for the read"
    assert a.aliases(None) == [2] * n and a.rollbacks(None) == [1] * n

    b = EtcdStore(f"{etcd1.url}/view")
    assert b.flip_many(ids[:100], 4).applied == 100
    res = a.flip_many(None, 3, outcomes=True)
    assert reads == [True, True], "another client wrote: the batch reads again"
    assert list(res.outcomes) == [1] * 100 + [0] * (n - 100)
    assert a.aliases(None) == [4] * 100 + [3] * (n - 100)
    assert a.rollbacks(None) == [2] * n


def test_a_write_by_anyone_during_a_batch_drops_the_kept_view(etcd1: Any) -> None:
    # Another client publishes a plan while a whole-fleet batch is on its way: the batch's own
    # Txns all succeed (they compare nothing the plan touches), but their revisions are no
    # longer the ones right after the view's, so the view is not kept and the next batch
    # reads, and finds the new plan's trees.
    n = 1_500
    a = _store(etcd1, "during")
    ids = a.add_endpoints([f"d{i}.example.com" for i in range(n)])
    for g in (1, 2):
        a.put_plan(Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, [0] * n))
    a.flip_many(None, 1)
    b = EtcdStore(f"{etcd1.url}/during")
    send = a.client.txn_many_raw

    def publish_after_the_first_txn(requests: Any) -> list[Any]:
        def interleaved() -> Any:
            for k, request in enumerate(requests):
                yield request
                if k == 0:
                    b.put_plan(Plan.from_shared(3, [[("10.0.0.3", 1)]], ids, [0] * n))

        return send(interleaved())

    a.client.txn_many_raw = publish_after_the_first_txn  # type: ignore[method-assign]
    assert a.flip_many(None, 2).applied == n
    a.client.txn_many_raw = send  # type: ignore[method-assign]
    reads = _count_reads(a)
    assert a.flip_many(None, 3).applied == n
    assert reads == [True]


def test_groups_stay_within_a_default_clusters_txn_limit(etcd1: Any) -> None:
    # A cluster with etcd's default --max-txn-ops (128) and endpoints whose active trees are
    # spread over 60 plans: each group's Txn carries a compare per endpoint plus one per tree
    # chunk it read, and must close before the cluster's limit, whatever the mix. (`etcd1`
    # only makes sure etcd is there.)
    from dnsrace.backends.etcd.local import LocalCluster

    with LocalCluster(1, max_txn_ops=128) as cluster:
        store = EtcdStore(f"{cluster.url}/limit", reset=True)
        assert store.txn_ops == 100
        ids = store.add_endpoints([f"m{i}.example.com" for i in range(300)])
        for g in range(1, 62):
            store.put_plan(Plan.from_shared(g, [[("10.0.0.1", 1)]], ids, [0] * 300))
        for k in range(60):
            assert store.flip_many(ids[k::60], k + 1).applied == len(ids[k::60])
        res = store.flip_many(None, 61, outcomes=True)
        assert res.counts.applied == 300
        assert list(res.previous) == [1 + i % 60 for i in range(300)]
        assert store.rollbacks(None) == [1 + i % 60 for i in range(300)]


def test_a_lease_that_expired_before_its_grant_arrived_is_granted_again(etcd1: Any) -> None:
    # A process stopped between granting its etcd lease and sending the grants comes back to a
    # lease etcd has expired: etcd refuses that Txn whole, and the grants go again on a new
    # lease instead of failing the enactor.
    store = _store(etcd1, "expired", lease_clock="etcd")
    ids = store.add_endpoints([f"x{i}.example.com" for i in range(5)])
    grant = store.client.lease_grant
    granted: list[int] = []

    def grant_then_lose(ttl_s: int) -> int:
        lease_id = grant(ttl_s)
        granted.append(lease_id)
        if len(granted) == 1:
            store.client.lease_revoke(lease_id)  # as if it expired while we were stopped
        return lease_id

    store.client.lease_grant = grant_then_lose  # type: ignore[method-assign]
    tokens = store.acquire_leases(ids, "A", 5.0, 0.0)
    assert len(granted) == 2
    assert all(t is not None for t in tokens)
    assert store.counters()["leases_granted"] == 5
    with pytest.raises(LeaseHeld):
        EtcdStore(f"{etcd1.url}/expired", lease_clock="etcd").acquire_lease(ids[0], "B", 5.0, 0.0)
