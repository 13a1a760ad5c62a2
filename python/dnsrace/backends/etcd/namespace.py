"""What every part of the etcd store shares: one namespace's client and key layout, the
endpoint names (registered and cached), cached target sets, counters, and the reads that
every call starts from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from dnsrace import _rules as rules
from dnsrace._types import STORE_COUNTERS, Answer
from dnsrace.backends.etcd.client import EtcdClient, Uncertain, rpc
from dnsrace.backends.etcd.keys import (
    NAMES_PER_CHUNK,
    Keys,
    decode_alias,
    decode_u64,
    encode_alias,
    u64,
)
from dnsrace.backends.etcd.ops import CREATE, EQ, MAX_ROUNDS, delete_op, get_op, mod_is, put_op
from dnsrace.backends.etcd.trees import Chunk, chunk_of, decode_sets
from dnsrace.backends.etcd.url import EtcdUrl
from dnsrace.errors import InvalidArgument, StoreUnavailable

__all__ = ["EtcdNamespace", "LeaseClock", "Record", "View"]

LeaseClock = Literal["caller", "etcd"]


class Record(NamedTuple):
    """A control record as this client last wrote it (the fields of a KeyValue it reads)."""

    value: bytes
    mod_revision: int


@dataclass
class View:
    """The whole namespace's control records and tree chunks as of ``revision``: what a
    whole-fleet batch reads first. Kept after the batch, with this client's own writes folded
    in, and used again only while the cluster's revision is still ``revision``, i.e. nobody
    (this client included) has written anything since: then the read would return exactly
    this, and the Txns' compares still check every decision."""

    kvs: dict[bytes, Any]
    chunks: dict[tuple[int, int], Chunk]
    revision: int


class EtcdNamespace:
    """One namespace of an etcd cluster as this client sees it; ``EtcdStore`` builds on it."""

    def __init__(
        self,
        url: EtcdUrl,
        client: EtcdClient,
        *,
        lease_clock: LeaseClock,
        txn_ops: int,
        reset: bool,
    ) -> None:
        self.url = url
        self.client = client
        self.lease_clock: LeaseClock = lease_clock
        self.txn_ops = txn_ops
        self.keys = Keys(url.namespace)
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._sets: dict[int, list[Answer]] = {}
        self._lease_keys: dict[int, set[int]] = defaultdict(set)
        self._counters: dict[str, int] = dict.fromkeys(STORE_COUNTERS, 0)
        self._view: View | None = None
        self._fit_txn_ops()
        if reset:
            self.client.txn(
                rpc.TxnRequest(success=[delete_op(self.keys.prefix, Keys.end(self.keys.prefix))]),
                idempotent=True,
            )
        # The namespace exists once its count does.
        self.client.txn(
            rpc.TxnRequest(
                compare=[
                    rpc.Compare(result=EQ, target=CREATE, key=self.keys.count, create_revision=0)
                ],
                success=[put_op(self.keys.count, u64(0))],
            ),
            idempotent=True,
        )

    def _fit_txn_ops(self) -> None:
        """Bigger Txns flip faster (etcd's per-Txn cost is spread thinner), but a cluster
        refuses more operations than its ``--max-txn-ops`` (default 128): ask once, with a
        harmless read-only Txn of that many gets, and fall back to 100."""
        probe = rpc.TxnRequest(success=[get_op(self.keys.count)] * self.txn_ops)
        try:
            self.client.txn(probe, idempotent=True)
        except StoreUnavailable as exc:
            if "too many operations" not in str(exc):
                raise
            self.txn_ops = min(self.txn_ops, 100)

    # ================================================================== endpoint names

    def _sync_names(self) -> tuple[int, int]:
        """Bring the name cache up to the stored count; the count and its ``mod_revision``."""
        resp = self.client.range(self.keys.count)
        if not resp.kvs:
            raise StoreUnavailable(f"namespace {self.url.namespace!r} was deleted under us")
        count, revision = decode_u64(resp.kvs[0].value), int(resp.kvs[0].mod_revision)
        have = len(self._names)
        if have < count:
            first = have // NAMES_PER_CHUNK
            last = (count - 1) // NAMES_PER_CHUNK
            names: list[str] = []
            for kv in self.client.range_all(
                self.keys.names(first), self.keys.names(last + 1), revision=resp.header.revision
            ):
                names.extend(kv.value.decode().split("\n"))
            del self._names[first * NAMES_PER_CHUNK :]
            for name in names[: count - first * NAMES_PER_CHUNK]:
                self._ids[name] = len(self._names)
                self._names.append(name)
        return count, revision

    def _add_names(self, names: Iterable[str]) -> list[int]:
        """The ids of ``names``, registering the new ones (see ``EtcdStore.add_endpoints``)."""
        canon = [rules.canonical_name(n) for n in rules.sequence(names, "names")]
        for _ in range(MAX_ROUNDS):
            count, count_rev = self._sync_names()
            new: list[str] = []
            fresh: set[str] = set()
            for name in canon:
                if name not in self._ids and name not in fresh:
                    fresh.add(name)
                    new.append(name)
            if not new:
                return [self._ids[n] for n in canon]
            if self._register(count, count_rev, new):
                self._sync_names()
                return [self._ids[n] for n in canon]
        raise StoreUnavailable("add_endpoints kept losing to concurrent registrations")

    def _register(self, count: int, count_rev: int, new: list[str]) -> bool:
        k = self.keys
        guard = mod_is(k.count, count_rev)
        total = count + len(new)
        reqs = []
        step = self.txn_ops
        for lo in range(count, total, step):
            hi = min(total, lo + step)
            empty = rpc.Compare(
                result=EQ,
                target=CREATE,
                key=k.alias(lo),
                range_end=k.alias(hi),
                create_revision=0,
            )
            ops = [put_op(k.alias(i), encode_alias(0, 0)) for i in range(lo, hi)]
            reqs.append(rpc.TxnRequest(compare=[guard, empty], success=ops))
        names = self._names + new
        first = count // NAMES_PER_CHUNK
        chunks = [
            put_op(
                k.names(c),
                "\n".join(names[c * NAMES_PER_CHUNK : (c + 1) * NAMES_PER_CHUNK]).encode(),
            )
            for c in range(first, (total - 1) // NAMES_PER_CHUNK + 1)
        ]
        for lo in range(0, len(chunks), 16):
            reqs.append(rpc.TxnRequest(compare=[guard], success=chunks[lo : lo + 16]))
        try:
            if not all(r.succeeded for r in self.client.txn_many(reqs)):
                return False
            done = self.client.txn(
                rpc.TxnRequest(compare=[guard], success=[put_op(k.count, u64(total))])
            )
        except Uncertain:
            return False  # the next round reads the count and sees what happened
        return bool(done.succeeded)

    def _ids_of(self, endpoints: object, *, allow_all: bool = True) -> list[int]:
        if endpoints is None:
            if not allow_all:
                raise InvalidArgument("endpoints must be a sequence, not None")
            return list(range(self._sync_names()[0]))
        items = rules.int_sequence(endpoints, InvalidArgument, "endpoints")
        ids: list[int] = []
        synced = False
        for e in items:
            if type(e) is int and 0 <= e < len(self._names):
                ids.append(e)
                continue
            if not synced:
                self._sync_names()
                synced = True
            ids.append(self._id_of(e))
        return ids

    def _id_of(self, endpoint: object) -> int:
        return rules.endpoint_id(
            endpoint, self._ids, len(self._names), lambda: self._sync_names()[0]
        )

    # ================================================================== reads

    def _read(self, keys: Sequence[bytes], prefixes: Sequence[bytes] = ()) -> dict[bytes, Any]:
        """Point reads of many keys and whole-prefix reads, packed into Txns of ``txn_ops``
        operations (pipelined when more than one); absent keys are left out."""
        ops = [get_op(key) for key in dict.fromkeys(keys)]
        ops += [get_op(pre, Keys.end(pre)) for pre in dict.fromkeys(prefixes)]
        out: dict[bytes, Any] = {}
        step = self.txn_ops
        reqs = [rpc.TxnRequest(success=ops[lo : lo + step]) for lo in range(0, len(ops), step)]
        if len(reqs) == 1:
            resps = [self.client.txn(reqs[0], idempotent=True)]
        else:
            resps = self.client.txn_many(reqs, idempotent=True)
        for resp in resps:
            for op in resp.responses:
                for kv in op.response_range.kvs:
                    out[kv.key] = kv
        return out

    def _nested_txns(self, inner: Sequence[Any]) -> list[Any]:
        """Nested Txns (``RequestOp``\\ s), packed into outer Txns of ``txn_ops`` operations and
        pipelined: each nested one's answer, in order (``Uncertain`` propagates)."""
        step = self.txn_ops
        reqs = [rpc.TxnRequest(success=inner[lo : lo + step]) for lo in range(0, len(inner), step)]
        return [op.response_txn for r in self.client.txn_many(reqs) for op in r.responses]

    def _read_prefix(self, prefix: bytes) -> dict[bytes, Any]:
        return self._read_prefix_at(prefix, 0)[0]

    def _read_prefix_at(self, prefix: bytes, revision: int) -> tuple[dict[bytes, Any], int]:
        """A whole prefix as of ``revision`` (0: now), and the revision it was read at."""
        kvs, revision = self.client.range_all_at(prefix, Keys.end(prefix), revision=revision)
        return {kv.key: kv for kv in kvs}, revision

    def _control(self, ids: Sequence[int], everything: bool = False) -> dict[bytes, Any]:
        """The ``a/<id>`` records of ``ids`` (``everything``: one paged range)."""
        if everything:
            return self._read_prefix(self.keys.alias_prefix)
        return self._read([self.keys.alias(i) for i in ids])

    def _state(
        self, ids: Sequence[int], *, fences: bool = False, everything: bool = False
    ) -> tuple[dict[bytes, Any], dict[tuple[int, int], Chunk], int]:
        """In one round trip where it fits: the control records of ``ids`` (and their fence
        keys), and every tree of their chunks, by (generation, chunk). ``everything``: whole
        prefixes, all as of one revision, which is returned (0 otherwise)."""
        k = self.keys
        revision = 0
        if everything:
            kvs, revision = self._read_prefix_at(k.alias_prefix, 0)
            if fences:
                kvs.update(self._read_prefix_at(k.fence_prefix, revision)[0])
            kvs.update(self._read_prefix_at(k.trees_prefix, revision)[0])
        else:
            chunk_numbers = sorted({chunk_of(i) for i in ids})
            points = [k.alias(i) for i in ids]
            if fences:
                points += [k.fence(i) for i in ids]
            kvs = self._read(points, [k.trees_in(c) for c in chunk_numbers])
        chunks: dict[tuple[int, int], Chunk] = {}
        tp = k.trees_prefix
        for key, kv in kvs.items():
            if key.startswith(tp):
                chunks[k.tree_key_parts(key)] = Chunk.from_kv(kv)
        return kvs, chunks, revision

    def _current_view(self) -> View | None:
        """The kept whole-namespace view, if the cluster has not moved since it was taken."""
        view = self._view
        if view is None:
            return None
        if int(self.client.range(self.keys.count, limit=1).header.revision) != view.revision:
            self._view = None
            return None
        return view

    def _chunks(self, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Chunk]:
        """Tree chunks by (generation, chunk number); absent ones as empty chunks."""
        pairs = list(dict.fromkeys(wanted))
        found = self._read([self.keys.trees(g, c) for g, c in pairs])
        return {(g, c): Chunk.from_kv(found.get(self.keys.trees(g, c))) for g, c in pairs}

    def _alias_of(self, kvs: dict[bytes, Any], endpoint: int) -> tuple[int, int, int]:
        kv = kvs.get(self.keys.alias(endpoint))
        if kv is None:
            raise StoreUnavailable(f"control record of endpoint {endpoint} is missing")
        alias, rollback = decode_alias(kv.value)
        return alias, rollback, int(kv.mod_revision)

    def _plan_sets(self, generation: int) -> list[Answer]:
        """A plan's target sets (immutable once stored: cached)."""
        sets = self._sets.get(generation)
        if sets is None:
            prefix = self.keys.sets_of(generation)
            parts = [kv.value for kv in self.client.range_all(prefix, Keys.end(prefix))]
            sets = self._sets[generation] = decode_sets(parts)
        return sets
