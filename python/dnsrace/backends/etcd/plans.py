"""Plans in etcd: storing one (its target sets once, its trees in chunks, its header last),
listing them, and clean-up, ``safe`` or not, in Txns that compare what they decided on."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from dnsrace import _rules as rules
from dnsrace._plan import Plan, shared_form
from dnsrace._types import DeleteResult
from dnsrace.backends.etcd.client import Uncertain, rpc
from dnsrace.backends.etcd.keys import TREES_PER_CHUNK, Keys, decode_alias, encode_tree_chunk
from dnsrace.backends.etcd.namespace import EtcdNamespace
from dnsrace.backends.etcd.ops import (
    CREATE,
    EQ,
    LT,
    MAX_ROUNDS,
    MOD,
    delete_op,
    get_op,
    mod_is,
    put_op,
)
from dnsrace.backends.etcd.trees import Chunk, encode_sets
from dnsrace.errors import InvalidArgument, StoreUnavailable

__all__ = ["delete_plans", "plan_generations", "put_plan"]


def plan_generations(store: EtcdNamespace) -> list[int]:
    """Generations with a stored plan header (at least one tree left), ascending."""
    prefix = store.keys.plan_prefix
    resp = store.client.range(prefix, Keys.end(prefix), keys_only=True)
    return [store.keys.generation_of(kv.key) for kv in resp.kvs]


def put_plan(store: EtcdNamespace, plan: Plan) -> None:
    if not isinstance(plan, Plan):
        raise InvalidArgument(
            f"EtcdStore stores dnsrace.reference.Plan objects, not {type(plan).__name__}"
        )
    gen = plan.generation
    sets, keys, index = shared_form(plan)
    store._sync_names()
    ids = [store._id_of(key) for key in keys]
    if len(set(ids)) != len(ids):
        raise InvalidArgument(f"an endpoint appears twice in plan {gen} (by name and by id)")
    k = store.keys
    client = store.client
    absent = rpc.Compare(result=EQ, target=CREATE, key=k.plan(gen), create_revision=0)
    if client.range(k.plan(gen), keys_only=True).kvs:
        raise InvalidArgument(f"plan {gen} is already stored (plans are immutable)")
    if not ids:
        return  # as embedded: a plan without endpoints stores nothing
    by_chunk: dict[int, array[int]] = {}
    for i, s in zip(ids, index, strict=True):
        entries = by_chunk.get(i // TREES_PER_CHUNK)
        if entries is None:
            entries = by_chunk[i // TREES_PER_CHUNK] = array("I", bytes(4 * TREES_PER_CHUNK))
        entries[i % TREES_PER_CHUNK] = s + 1
    ops = [put_op(k.sets(gen, p), part) for p, part in enumerate(encode_sets(sets))]
    ops += [put_op(k.trees(gen, c), encode_tree_chunk(e)) for c, e in sorted(by_chunk.items())]
    reqs = [
        rpc.TxnRequest(compare=[absent], success=ops[lo : lo + 64]) for lo in range(0, len(ops), 64)
    ]
    header = b'{"records":%d,"endpoints":%d}' % (plan.records, len(ids))
    try:
        ok = all(r.succeeded for r in client.txn_many(reqs))
        ok = (
            ok
            and client.txn(
                rpc.TxnRequest(compare=[absent], success=[put_op(k.plan(gen), header)])
            ).succeeded
        )
    except Uncertain:
        ok = bool(client.range(k.plan(gen), keys_only=True).kvs)
    if not ok:
        raise InvalidArgument(f"plan {gen} is already stored (plans are immutable)")
    store._sets[gen] = sets


def delete_plans(store: EtcdNamespace, generations: Iterable[int], safe: bool) -> DeleteResult:
    rules.flag(safe, "safe")
    gens = sorted(
        {
            rules.generation(g)
            for g in rules.int_sequence(generations, InvalidArgument, "generations", ordered=False)
        }
    )
    deleted = kept = 0
    kept_gens: list[int] = []
    unknown: list[int] = []
    for gen in gens:
        d, kp = _delete_generation(store, gen, safe)
        if d == 0 and kp == 0:
            unknown.append(gen)
        deleted += d
        kept += kp
        if kp:
            kept_gens.append(gen)
    return DeleteResult(deleted, kept, kept_gens, unknown)


def _generation_chunks(store: EtcdNamespace, gen: int) -> dict[int, Any]:
    """The stored tree chunks of one generation, by chunk number."""
    n = (store._sync_names()[0] + TREES_PER_CHUNK - 1) // TREES_PER_CHUNK
    found = store._read([store.keys.trees(gen, c) for c in range(n)])
    return {store.keys.tree_key_parts(key)[1]: kv for key, kv in found.items()}


def _delete_generation(store: EtcdNamespace, gen: int, safe: bool) -> tuple[int, int]:
    """Delete one generation's trees, chunk by chunk, until no chunk conflicts; then its
    header and sets once no tree is left. How many trees were deleted and kept."""
    k = store.keys
    deleted = kept = 0
    pending = _generation_chunks(store, gen)
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        chunk_list = sorted(pending)
        controls: dict[bytes, Any] = {}
        read_rev = 0
        if safe:
            ids = [c * TREES_PER_CHUNK + j for c in chunk_list for j in range(TREES_PER_CHUNK)]
            read_rev = store.client.range(k.count, keys_only=True).header.revision
            controls = store._read([k.alias(i) for i in ids])
        inner: list[Any] = []
        plans: list[tuple[int, int, int]] = []  # chunk, deleted, kept
        for c in chunk_list:
            txn, n_del, n_keep = _chunk_clean_up(
                store, gen, c, pending[c], controls, read_rev, safe
            )
            inner.append(txn)
            plans.append((c, n_del, n_keep))
        try:
            results = store._nested_txns(inner)
        except Uncertain:
            pending = _generation_chunks(store, gen)
            continue
        retry: dict[int, Any] = {}
        for (c, n_del, n_keep), res in zip(plans, results, strict=True):
            if res.succeeded:
                deleted += n_del
                kept += n_keep
            else:
                kvs = res.responses[0].response_range.kvs
                if kvs:
                    retry[c] = kvs[0]
        pending = retry
    else:
        raise StoreUnavailable(f"clean-up of plan {gen} kept conflicting with writers")
    if kept == 0 and not _generation_chunks(store, gen):
        store.client.txn(
            rpc.TxnRequest(
                success=[
                    delete_op(k.plan(gen)),
                    delete_op(k.sets_of(gen), Keys.end(k.sets_of(gen))),
                ]
            ),
            idempotent=True,
        )
        store._sets.pop(gen, None)
    return deleted, kept


def _chunk_clean_up(
    store: EtcdNamespace,
    gen: int,
    c: int,
    kv: Any,
    controls: dict[bytes, Any],
    read_rev: int,
    safe: bool,
) -> tuple[Any, int, int]:
    """The nested Txn that cleans chunk ``c`` of ``gen`` as read (``kv``): deletes or rewrites
    it, keeping (if ``safe``) the trees the ``controls`` read at ``read_rev`` refer to; on
    conflict it returns the chunk as it now is. With how many trees it deletes and keeps."""
    k = store.keys
    entries = Chunk.from_kv(kv).entries
    assert entries is not None
    lo = c * TREES_PER_CHUNK
    keep = array("I", bytes(4 * TREES_PER_CHUNK))
    n_del = n_keep = 0
    for j, code in enumerate(entries):
        if not code:
            continue
        ref = False
        if safe:
            ctl = controls.get(k.alias(lo + j))
            if ctl is not None:
                alias, rollback = decode_alias(ctl.value)
                ref = gen in (alias, rollback)
        if ref:
            keep[j] = code
            n_keep += 1
        else:
            n_del += 1
    compares = [mod_is(kv.key, int(kv.mod_revision))]
    if safe:
        # Every control record of the chunk's endpoints is as read: none of them has come to
        # refer to this generation since (the check and the delete are one step, unlike the
        # `checked` clean-up's read-then-delete).
        compares.append(
            rpc.Compare(
                result=LT,
                target=MOD,
                key=k.alias(lo),
                range_end=k.alias(lo + TREES_PER_CHUNK),
                mod_revision=read_rev + 1,
            )
        )
    if n_del == 0:
        write: list[Any] = []
    elif n_keep:
        write = [put_op(kv.key, encode_tree_chunk(keep))]
    else:
        write = [delete_op(kv.key)]
    txn = rpc.RequestOp(
        request_txn=rpc.TxnRequest(compare=compares, success=write, failure=[get_op(kv.key)])
    )
    return txn, n_del, n_keep
