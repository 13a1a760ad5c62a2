"""Leases in etcd: a lease key (holder, expiry, token) and a fence key (the highest token) per
endpoint, granted, renewed and released in Txns that compare both as read. The expiry is in the
caller's clock (``lease_clock="caller"``) or an etcd lease's (``"etcd"``)."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

from dnsrace import _rules as rules
from dnsrace.backends.etcd.client import LeaseNotFound, Uncertain, rpc
from dnsrace.backends.etcd.keys import decode_u64, u64
from dnsrace.backends.etcd.namespace import EtcdNamespace
from dnsrace.backends.etcd.ops import MAX_ROUNDS, delete_op, mod_is, put_op, repetition_rounds
from dnsrace.errors import InvalidArgument, InvalidToken, LeaseHeld, LeaseLost, StoreUnavailable

__all__ = [
    "acquire_lease",
    "acquire_leases",
    "lease_of",
    "live_leases",
    "release_lease",
    "release_leases",
    "renew_lease",
    "renew_leases",
]

_LEASE = struct.Struct(">dQQ")  # expiry (caller clock), token, etcd lease id; then the holder


class _Lease:
    """A decoded ``l/<id>`` value."""

    __slots__ = ("expiry", "holder", "lease_id", "token")

    def __init__(self, data: bytes) -> None:
        expiry, token, lease_id = _LEASE.unpack_from(data)
        self.expiry: float = expiry
        self.token: int = token
        self.lease_id: int = lease_id
        self.holder = data[_LEASE.size :].decode()

    @staticmethod
    def encode(expiry: float, token: int, lease_id: int, holder: str) -> bytes:
        return _LEASE.pack(expiry, token, lease_id) + holder.encode()


def _lease_state(
    store: EtcdNamespace, ids: Sequence[int]
) -> tuple[dict[bytes, Any], dict[bytes, Any]]:
    """The lease and fence keys of ``ids`` that exist, each by key."""
    k = store.keys
    found = store._read([k.lease(i) for i in ids] + [k.fence(i) for i in ids])
    leases = {key: kv for key, kv in found.items() if key.startswith(k.lease_prefix)}
    fences = {key: kv for key, kv in found.items() if key.startswith(k.fence_prefix)}
    return leases, fences


def acquire_leases(
    store: EtcdNamespace, endpoints: object, holder: str, ttl: float, now: float, output: object
) -> Any:
    who = rules.holder(holder)
    span = rules.ttl(ttl)
    at = rules.number(now, "now")
    kind = rules.output(output)
    tokens = _acquire(store, endpoints, who, span, at)
    return (
        tokens
        if kind == "list"
        else rules.typed_array([t or 0 for t in tokens], "Q", "uint64", kind)
    )


def _acquire(
    store: EtcdNamespace, endpoints: object, who: str, span: float, at: float
) -> list[int | None]:
    ids = store._ids_of(endpoints, allow_all=False)
    out: list[int | None] = [None] * len(ids)
    lease_id = 0
    for positions in repetition_rounds(ids):
        lease_id = _acquire_round(store, ids, positions, who, span, at, out, lease_id)
    return out


def _acquire_round(
    store: EtcdNamespace,
    ids: list[int],
    pending: list[int],
    who: str,
    span: float,
    at: float,
    out: list[int | None],
    lease_id: int,
) -> int:
    """Grant the leases of ``pending`` (distinct endpoints) into ``out``; the etcd lease used."""
    k = store.keys
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        leases, fences = _lease_state(store, [ids[p] for p in pending])
        inner: list[Any] = []
        plan: list[tuple[int, int | None, bool]] = []  # position, token granted, conflict
        for p in pending:
            i = ids[p]
            l_kv = leases.get(k.lease(i))
            f_kv = fences.get(k.fence(i))
            compares = [
                mod_is(k.lease(i), int(l_kv.mod_revision) if l_kv is not None else 0),
                mod_is(k.fence(i), int(f_kv.mod_revision) if f_kv is not None else 0),
            ]
            current = _Lease(l_kv.value) if l_kv is not None else None
            live = current is not None and (store.lease_clock == "etcd" or at < current.expiry)
            highest = decode_u64(f_kv.value) if f_kv is not None else 0
            conflict = live and current is not None and current.holder != who
            if conflict or highest >= rules.MAX_I63:
                # Refused (a conflict, or exhausted tokens: not counted), in a Txn of its own.
                inner.append(rpc.RequestOp(request_txn=rpc.TxnRequest(compare=compares)))
                plan.append((p, None, conflict))
                continue
            token = highest + 1
            if store.lease_clock == "etcd" and not lease_id:
                lease_id = store.client.lease_grant(max(1, math.ceil(span)))
            expiry = at + span if store.lease_clock == "caller" else 0.0
            ops = [
                put_op(k.lease(i), _Lease.encode(expiry, token, lease_id, who), lease_id),
                put_op(k.fence(i), u64(token)),
            ]
            inner.append(rpc.RequestOp(request_txn=rpc.TxnRequest(compare=compares, success=ops)))
            plan.append((p, token, False))
        try:
            results = store._nested_txns(inner)
        except Uncertain:
            continue  # re-read: a landed grant shows as our own live lease, granted again
        except LeaseNotFound:
            # The etcd lease granted above expired before its Txn arrived (this process was
            # stopped in between): nothing of that Txn was applied. Grant a new one.
            lease_id = 0
            continue
        retry: list[int] = []
        for (p, granted, conflict), res in zip(plan, results, strict=True):
            if not res.succeeded:
                retry.append(p)
            elif granted is None:
                store._counters["lease_conflicts"] += conflict
            else:
                out[p] = granted
                store._counters["leases_granted"] += 1
                if lease_id:
                    store._lease_keys[lease_id].add(ids[p])
        pending = retry
    else:
        raise StoreUnavailable("lease grants kept conflicting with concurrent writers")
    return lease_id


def acquire_lease(
    store: EtcdNamespace, endpoint: int | str, holder: str, ttl: float, now: float
) -> int:
    who, span, at = rules.holder(holder), rules.ttl(ttl), rules.number(now, "now")
    token = _acquire(store, [endpoint], who, span, at)[0]
    if token is None:
        i = store._id_of(endpoint)
        current, _, expiry, highest = lease_of(store, i)
        if highest >= rules.MAX_I63:
            raise InvalidToken(f"fencing tokens of endpoint {store._names[i]} are exhausted")
        raise LeaseHeld(f"endpoint {store._names[i]} is leased by {current!r} until {expiry!r}")
    return token


def renew_lease(
    store: EtcdNamespace, endpoint: int | str, holder: str, token: int, ttl: float, now: float
) -> float:
    who = rules.holder(holder)
    tok = rules.token(token)
    span = rules.ttl(ttl)
    at = rules.number(now, "now")
    i = store._id_of(endpoint)
    key = store.keys.lease(i)
    for _ in range(MAX_ROUNDS):
        resp = store.client.range(key)
        current = _Lease(resp.kvs[0].value) if resp.kvs else None
        if (
            current is None
            or current.holder != who
            or current.token != tok
            or (store.lease_clock == "caller" and not at < current.expiry)
        ):
            raise LeaseLost(
                f"{who!r} does not hold a live lease on {store._names[i]!r} with token {tok}"
            )
        if store.lease_clock == "etcd":
            left = store.client.lease_keepalive(current.lease_id)
            if left <= 0:
                raise LeaseLost(f"the lease on {store._names[i]!r} expired")
            return at + left
        value = _Lease.encode(at + span, tok, 0, who)
        done = store.client.txn(
            rpc.TxnRequest(
                compare=[mod_is(key, int(resp.kvs[0].mod_revision))], success=[put_op(key, value)]
            ),
            idempotent=True,
        )
        if done.succeeded:
            return at + span
    raise StoreUnavailable("lease renewal kept conflicting with concurrent writers")


def release_leases(store: EtcdNamespace, endpoints: object, holder: str, tokens: object) -> int:
    who = rules.holder(holder)
    ids, toks = _ids_and_tokens(store, endpoints, tokens, "release_leases")

    def release(p: int, current: _Lease) -> bytes | None:
        return b"" if toks[p] and current.holder == who and current.token == toks[p] else None

    done = _rewrite_leases(store, ids, release)
    for p in done:
        _forget_lease_key(store, ids[p])
    return len(done)


def renew_leases(
    store: EtcdNamespace,
    endpoints: object,
    holder: str,
    tokens: object,
    ttl: float,
    now: float,
    output: object,
) -> Any:
    who = rules.holder(holder)
    ids, toks = _ids_and_tokens(store, endpoints, tokens, "renew_leases")
    span = rules.ttl(ttl)
    at = rules.number(now, "now")
    kind = rules.output(output)
    renewed: list[int | None] = [None] * len(ids)
    if store.lease_clock == "etcd":
        # etcd's clock: each lease is kept alive on its own (the key is not rewritten).
        for p, i in enumerate(ids):
            if toks[p]:
                try:
                    renew_lease(store, i, who, toks[p], span, at)
                except LeaseLost:
                    continue
                renewed[p] = toks[p]
    else:

        def renew(p: int, current: _Lease) -> bytes | None:
            ok = toks[p] and current.holder == who and current.token == toks[p]
            return _Lease.encode(at + span, toks[p], 0, who) if ok and at < current.expiry else None

        for p in _rewrite_leases(store, ids, renew):
            renewed[p] = toks[p]
    if kind == "list":
        return renewed
    return rules.typed_array([t or 0 for t in renewed], "Q", "uint64", kind)


def live_leases(store: EtcdNamespace, now: float, endpoints: object, output: object) -> Any:
    at = rules.number(now, "now")
    kind = rules.output(output)
    ids = store._ids_of(endpoints)
    found = store._read([store.keys.lease(i) for i in ids])
    live = []
    for i in ids:
        kv = found.get(store.keys.lease(i))
        if kv is not None and (store.lease_clock == "etcd" or at < _Lease(kv.value).expiry):
            live.append(i)
    return live if kind == "list" else rules.typed_array(live, "I", "uint32", kind)


def lease_of(store: EtcdNamespace, endpoint: int) -> tuple[str | None, int, float, int]:
    """One endpoint's lease holder, token and expiry (``None``, 0, 0.0 if none) and its
    highest fencing token, read in one step."""
    k = store.keys
    found = store._read([k.lease(endpoint), k.fence(endpoint)])
    fence = found.get(k.fence(endpoint))
    highest = decode_u64(fence.value) if fence is not None else 0
    kv = found.get(k.lease(endpoint))
    if kv is None:
        return None, 0, 0.0, highest
    current = _Lease(kv.value)
    return current.holder, current.token, current.expiry, highest


def _ids_and_tokens(
    store: EtcdNamespace, endpoints: object, tokens: object, call: str
) -> tuple[list[int], list[int]]:
    """A batch lease call's endpoints and their tokens (0: a refused entry, skipped)."""
    toks = rules.batch_tokens(tokens)
    if endpoints is None:
        raise InvalidArgument(f"{call} needs a sequence of endpoints, not None")
    ids = store._ids_of(endpoints)
    if len(ids) != len(toks):
        raise InvalidArgument(f"{len(toks)} tokens for {len(ids)} endpoints")
    return ids, toks


def _rewrite_leases(
    store: EtcdNamespace, ids: list[int], change: Callable[[int, _Lease], bytes | None]
) -> list[int]:
    """Rewrite the lease keys of ``ids`` that ``change`` (position, lease as read) answers
    with a value (``b""``: delete the key; ``None``: leave it), each in a Txn comparing it as
    read, reading and deciding again where it changed. The positions rewritten."""
    done: list[int] = []
    for positions in repetition_rounds(ids):
        done += _rewrite_round(store, ids, positions, change)
    return done


def _rewrite_round(
    store: EtcdNamespace,
    ids: list[int],
    pending: list[int],
    change: Callable[[int, _Lease], bytes | None],
) -> list[int]:
    """One round of :func:`_rewrite_leases` (distinct endpoints)."""
    k = store.keys
    done: list[int] = []
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        found = store._read([k.lease(ids[p]) for p in pending])
        inner: list[Any] = []
        mine: list[int] = []
        for p in pending:
            kv = found.get(k.lease(ids[p]))
            if kv is None:
                continue
            value = change(p, _Lease(kv.value))
            if value is None:
                continue
            write = put_op(kv.key, value) if value else delete_op(kv.key)
            compare = [mod_is(kv.key, int(kv.mod_revision))]
            inner.append(
                rpc.RequestOp(request_txn=rpc.TxnRequest(compare=compare, success=[write]))
            )
            mine.append(p)
        try:
            results = store._nested_txns(inner)
        except Uncertain:
            continue
        pending = []
        for p, res in zip(mine, results, strict=True):
            (done if res.succeeded else pending).append(p)
    return done


def release_lease(store: EtcdNamespace, endpoint: int | str, holder: str, token: int) -> None:
    token = rules.token(token)
    if release_leases(store, [endpoint], holder, [token]) != 1:
        name = store._names[store._id_of(endpoint)]
        raise LeaseLost(f"{holder!r} does not hold the lease on {name!r} with token {token}")


def _forget_lease_key(store: EtcdNamespace, endpoint: int) -> None:
    """Drop a released key from its etcd lease; revoke the lease once it holds no key."""
    for lease_id, held in list(store._lease_keys.items()):
        held.discard(endpoint)
        if not held:
            del store._lease_keys[lease_id]
            store.client.lease_revoke(lease_id)
