"""The etcd store's read-only calls: the control records as columns, answers, dangling
aliases and the gauges of ``stats()``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dnsrace import _rules as rules
from dnsrace._types import Answer, Output, StoreStats
from dnsrace.backends.etcd.keys import decode_alias
from dnsrace.backends.etcd.namespace import EtcdNamespace
from dnsrace.backends.etcd.plans import plan_generations
from dnsrace.backends.etcd.trees import Chunk, chunk_of

__all__ = ["column", "dangling_aliases", "has_tree", "resolve_many", "stats"]

_NO_CHUNK = Chunk(None, 0)

ALIAS, ROLLBACK, VERSION = 0, 1, 2
"""The columns of a control record that :func:`column` reads."""


def column(store: EtcdNamespace, endpoints: object, which: int, output: object) -> Any:
    """One column of the endpoints' control records (``ALIAS``, ``ROLLBACK`` or ``VERSION``)."""
    out_kind: Output = rules.output(output)
    everything = endpoints is None
    ids = store._ids_of(endpoints)
    kvs = store._control(ids, everything and len(ids) > 1000)
    values: list[int] = []
    for i in ids:
        alias, rollback, rev = store._alias_of(kvs, i)
        values.append((alias, rollback, rev)[which])
    if out_kind == "list":
        if which == VERSION:
            return values
        return [v or None for v in values]
    return rules.typed_array(values, "Q", "uint64", out_kind)


def dangling_aliases(store: EtcdNamespace, endpoints: object, output: Output) -> Any:
    out_kind: Output = rules.output(output)
    ids = store._ids_of(endpoints)
    kvs, chunks, _ = store._state(ids, everything=endpoints is None and len(ids) > 1000)
    found = []
    for i in ids:
        alias = store._alias_of(kvs, i)[0]
        if alias and chunks.get((alias, chunk_of(i)), _NO_CHUNK).set_of(i) is None:
            found.append(i)
    return found if out_kind == "list" else rules.typed_array(found, "I", "uint32", out_kind)


def has_tree(store: EtcdNamespace, endpoint: int | str, generation: int) -> bool:
    gen = rules.generation(generation)
    i = store._id_of(endpoint)
    return store._chunks([(gen, chunk_of(i))])[(gen, chunk_of(i))].set_of(i) is not None


def resolve_many(store: EtcdNamespace, endpoints: object) -> list[Answer]:
    ids = store._ids_of(endpoints)
    kvs, chunks, _ = store._state(ids, everything=endpoints is None and len(ids) > 1000)
    aliases = [store._alias_of(kvs, i)[0] for i in ids]
    out: list[Answer] = []
    empty = 0
    for i, a in zip(ids, aliases, strict=True):
        s = chunks.get((a, chunk_of(i)), _NO_CHUNK).set_of(i) if a else None
        answer = () if s is None else store._plan_sets(a)[s]
        empty += not answer
        out.append(answer)
    store._counters["empty_answers"] += empty
    return out


def _is_gone(present: dict[int, dict[int, Chunk]], endpoint: int, gen: int) -> bool:
    """Whether ``endpoint`` has no tree of ``gen`` among the chunks ``present``."""
    chunk = present.get(gen, {}).get(chunk_of(endpoint))
    return chunk is None or chunk.set_of(endpoint) is None


def stats(store: EtcdNamespace) -> StoreStats:
    count = store._sync_names()[0]
    k = store.keys
    controls = store._read_prefix(k.alias_prefix)
    trees = records = 0
    live_sets: set[Answer] = set()  # distinct target sets, as the embedded stores intern them
    present: dict[int, dict[int, Chunk]] = defaultdict(dict)
    plans = plan_generations(store)
    for kv in store._read_prefix(k.trees_prefix).values():
        gen, c = k.tree_key_parts(kv.key)
        chunk = present[gen][c] = Chunk.from_kv(kv)
        assert chunk.entries is not None
        sets = store._plan_sets(gen)
        for code in chunk.entries:
            if code:
                trees += 1
                records += len(sets[code - 1])
                live_sets.add(sets[code - 1])
    dangling_aliases = dangling_rollbacks = 0
    for kv in controls.values():
        i = k.id_of(kv.key)
        alias, rollback = decode_alias(kv.value)
        dangling_aliases += bool(alias) and _is_gone(present, i, alias)
        dangling_rollbacks += bool(rollback) and _is_gone(present, i, rollback)
    return StoreStats(
        {
            "endpoints": count,
            "plans": len(plans),
            "trees": trees,
            "target_sets": len(live_sets),
            "records_live": records,
            **store._counters,
            "dangling_aliases": dangling_aliases,
            "dangling_rollbacks": dangling_rollbacks,
        }
    )
