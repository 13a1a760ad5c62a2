"""Thread safety: concurrent callers see atomic per-endpoint operations and exact counters."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from concurrent_calls import THREADS, run_threads
from dnsrace import LeaseHeld, LeaseLost


def make_store(store_cls: Any, endpoints: int, generations: int) -> Any:
    store = store_cls.Store()
    names = [f"e{i}.example" for i in range(endpoints)]
    store.add_endpoints(names)
    for g in range(1, generations + 1):
        store.put_plan(
            store_cls.Plan.from_shared(
                g,
                [[(f"10.0.{g}.1", 1)], [(f"10.0.{g}.2", 2)]],
                names,
                [i % 2 for i in range(endpoints)],
            )
        )
    return store


def test_concurrent_cas_never_lowers_the_alias(store_cls: Any) -> None:
    gens = 40
    store = make_store(store_cls, 4, gens)
    results: list[list[bool]] = [[] for _ in range(THREADS)]

    def work(k: int) -> None:
        # Every thread walks the generations in a different order.
        order = list(range(1, gens + 1))
        order = order[k:] + order[:k] if k % 2 else order[::-1]
        for g in order:
            for ep in range(4):
                results[k].append(store.flip(ep, g))

    run_threads(work)
    assert store.aliases() == [gens] * 4
    stats = store.stats()
    calls = sum(len(r) for r in results)
    assert stats["flips_applied"] == sum(sum(r) for r in results)
    assert stats["flips_applied"] + stats["outdated_rejections"] == calls
    assert stats["stale_flips"] == 0
    assert sum(store.state(i).version for i in range(4)) == stats["flips_applied"]


def test_concurrent_flip_many_and_reads(store_cls: Any) -> None:
    gens = 30
    store = make_store(store_cls, 64, gens)
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for answer in store.resolve_many():
                assert answer == () or len(answer) == 1
            store.stats()
            store.dangling_aliases()

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:

        def work(k: int) -> None:
            for g in range(1, gens + 1):
                store.flip_many(None, g, fence=None if k % 2 else g)

        run_threads(work, 4)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert store.aliases() == [gens] * 64
    stats = store.stats()
    assert stats["stale_flips"] == 0
    assert stats["missing_rejections"] == 0
    assert stats["flips_applied"] + stats["outdated_rejections"] + stats["fenced_rejections"] == (
        4 * gens * 64
    )


def test_concurrent_leases_issue_unique_tokens(store_cls: Any) -> None:
    store = store_cls.Store()
    store.add_endpoints(["a.example"])
    granted: list[list[int]] = [[] for _ in range(THREADS)]
    conflicts = [0] * THREADS

    def work(k: int) -> None:
        holder = f"enactor-{k}"
        for step in range(200):
            now = float(step)
            try:
                token = store.acquire_lease(0, holder, 0.5, now)
            except LeaseHeld:
                conflicts[k] += 1
                continue
            granted[k].append(token)
            if step % 3:
                # A thread further along (a later `now`) may have taken the expired lease over
                # already: then the release is refused, which is the contract.
                with contextlib.suppress(LeaseLost):
                    store.release_lease(0, holder, token)

    run_threads(work)
    tokens = [t for ts in granted for t in ts]
    assert len(tokens) == len(set(tokens))
    for ts in granted:
        assert ts == sorted(ts)
    stats = store.stats()
    assert stats["leases_granted"] == len(tokens)
    assert stats["lease_conflicts"] == sum(conflicts)
    assert store.state(0).highest_fence == max(tokens)
    assert max(tokens) == len(tokens)  # tokens are consecutive: highest + 1 each time


def test_concurrent_add_endpoints_are_dense(store_cls: Any) -> None:
    store = store_cls.Store()
    ids: list[list[int]] = [[] for _ in range(THREADS)]

    def work(k: int) -> None:
        for i in range(100):
            ids[k] += store.add_endpoints([f"n{(i * 7 + k) % 150}.example"])

    run_threads(work)
    assert len(store) == 150
    assert sorted({i for chunk in ids for i in chunk}) == list(range(150))
    for i in range(150):
        assert store.endpoint_id(store.endpoint_name(i)) == i


def test_mixed_mode_batches_never_lower_an_acknowledged_alias(store_cls: Any) -> None:
    """8 writer threads on overlapping endpoint ranges mix ``if_newer`` batches, read-then-
    ``exact`` batches (etcd-style CAS on the version), fenced ``if_newer`` batches under leases
    and single ``if_newer`` flips; a monitor thread samples every alias meanwhile.

    No discipline here may lower an alias, so: every sampled alias sequence is non-decreasing,
    and every acknowledged single flip is still covered (alias >= its generation) at the end.
    """
    endpoints, gens, rounds = 600, 24, 30
    store = make_store(store_cls, endpoints, gens)
    acknowledged: list[list[tuple[int, int]]] = [[] for _ in range(THREADS)]
    stop = threading.Event()
    monitor_errors: list[str] = []

    def monitor() -> None:
        last = [0] * endpoints
        while not stop.is_set():
            for i, alias in enumerate(store.aliases()):
                a = alias or 0
                if a < last[i]:
                    monitor_errors.append(f"endpoint {i} went from {last[i]} to {a}")
                last[i] = a

    def work(k: int) -> None:
        lo = (k * endpoints // THREADS // 2) % endpoints
        batch = [(lo + j) % endpoints for j in range(endpoints // 2)]  # overlapping halves
        for r in range(rounds):
            g = 1 + (r * 5 + k * 3) % gens
            kind = (r + k) % 4
            if kind == 0:
                store.flip_many(batch, g, "if_newer")
            elif kind == 1:
                # Versions first: if the alias moves after this read, the version moved too
                # and the exact flip is refused, so a stale alias can never be acted on.
                versions = store.versions(batch)
                aliases = store.aliases(batch)
                chosen = [i for i, a in enumerate(aliases) if a is None or g > a]
                store.flip_many(
                    [batch[i] for i in chosen],
                    g,
                    "exact",
                    expected_versions=[versions[i] for i in chosen],
                )
            elif kind == 2:
                tokens = store.acquire_leases(batch, f"w{k}", 5.0, float(r))
                held = [(e, t) for e, t in zip(batch, tokens, strict=True) if t is not None]
                store.flip_many([e for e, _ in held], g, "if_newer", fence=[t for _, t in held])
                store.release_leases([e for e, _ in held], f"w{k}", [t for _, t in held])
            else:
                for e in batch[r % 7 :: 7]:
                    if store.flip(e, g, "if_newer"):
                        acknowledged[k].append((e, g))

    watcher = threading.Thread(target=monitor)
    watcher.start()
    try:
        run_threads(work)
    finally:
        stop.set()
        watcher.join()
    assert not monitor_errors, monitor_errors[:5]
    final = store.aliases()
    for acks in acknowledged:
        for e, g in acks:
            assert final[e] is not None and final[e] >= g
    assert sum(len(a) for a in acknowledged) > 0
    assert store.stats()["stale_flips"] == 0
