"""``EtcdStore``: the record store's semantics on an etcd v3 cluster.

The same calls, arguments, errors and outcome rules as ``dnsrace.RecordStore`` (see
``dnsrace/_core.pyi``), so the simulator, its checker and its reports run unchanged.

How a write stays one atomic step: every per-endpoint decision is taken on values read
before, then made by a Txn whose compares say "what I read is still so", carrying the mode's
condition: ``value(a/<id>) == the bytes read`` (a fixed-width big-endian generation below
``generation`` for ``if_newer``, and the rollback the write records), or for ``exact``
``mod_revision(a/<id>) == expected``; and the ``mod_revision`` of the fence key and of the
tree chunks involved. If any of it changed, the Txn writes nothing and that
endpoint is read and decided again. Refusals go through the same kind of Txn (with no write),
so every outcome, applied or not, is linearised at a Txn of its own. Batches are outer Txns
of up to ``txn_ops`` operations (1000 where the cluster allows, else 100), pipelined.

Differences from the embedded store, all documented in the README:

- ``versions()`` are etcd ``mod_revision``\\ s of the control record: they grow with every flip
  of the endpoint (and jump by other writes in between); ``mode="exact"`` compares them.
- Fencing tokens grow by one per endpoint, as embedded.
- Leases: ``lease_clock="caller"`` (default) keeps the expiry in the caller's time, as the
  embedded store does (virtual-clock runs need it); ``lease_clock="etcd"`` attaches the lease
  key to a real etcd lease (granted with ``ceil(ttl)`` seconds, kept alive by
  ``renew_lease``, revoked once its last key is released), so etcd's clock expires it.
- Counters (``stats()``) are this client's own; processes of one run add theirs up.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

from dnsrace._types import (
    STORE_COUNTERS,
    Answer,
    ArrayResult,
    DeleteResult,
    FlipCounts,
    FlipResult,
    Outcome,
    Output,
)
from dnsrace.backends.etcd import wire
from dnsrace.backends.etcd.client import EtcdClient, LeaseNotFound, Uncertain, rpc
from dnsrace.backends.etcd.keys import (
    NAMES_PER_CHUNK,
    TREES_PER_CHUNK,
    Keys,
    decode_alias,
    decode_u64,
    encode_alias,
    encode_tree_chunk,
    u64,
)
from dnsrace.backends.etcd.trees import Chunk, chunk_of, decode_sets, encode_sets
from dnsrace.backends.etcd.url import EtcdUrl, parse_etcd_url
from dnsrace.errors import (
    DanglingAlias,
    InvalidArgument,
    InvalidToken,
    LeaseHeld,
    LeaseLost,
    StoreUnavailable,
    UnknownEndpoint,
)
from dnsrace.reference import (
    Plan,
    _check_expected,
    _flag,
    _float,
    _generation,
    _holder,
    _int_sequence,
    _mode,
    _outcomes,
    _output,
    _sequence,
    _token,
    _ttl,
    _typed_array,
    _version,
    canonical_name,
    shared_form,
)

__all__ = ["EtcdStore", "LeaseClock"]

LeaseClock = Literal["caller", "etcd"]

_EQ, _GT, _LT, _NE = (
    rpc.Compare.EQUAL,
    rpc.Compare.GREATER,
    rpc.Compare.LESS,
    rpc.Compare.NOT_EQUAL,
)
_VALUE, _MOD, _CREATE = rpc.Compare.VALUE, rpc.Compare.MOD, rpc.Compare.CREATE
_U32 = struct.Struct(">I")
_ALIAS = struct.Struct(">QQ")
_LEASE = struct.Struct(">dQQ")  # expiry (caller clock), token, etcd lease id; then the holder
_NO_CHUNK = Chunk(None, 0)


class _Record(NamedTuple):
    """A control record as this client last wrote it (the fields of a KeyValue it reads)."""

    value: bytes
    mod_revision: int


@dataclass
class _View:
    """The whole namespace's control records and tree chunks as of ``revision``: what a
    whole-fleet batch reads first. Kept after the batch, with this client's own writes folded
    in, and used again only while the cluster's revision is still ``revision``, i.e. nobody
    (this client included) has written anything since: then the read would return exactly
    this, and the Txns' compares still check every decision."""

    kvs: dict[bytes, Any]
    chunks: dict[tuple[int, int], Chunk]
    revision: int


_MAX_ROUNDS = 64
"""Re-reads of one endpoint within one call before giving up (each needs a concurrent write)."""


def _mod(key: bytes, revision: int) -> Any:
    return rpc.Compare(result=_EQ, target=_MOD, key=key, mod_revision=revision)


def _put(key: bytes, value: bytes, lease: int = 0) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease))


def _delete(key: bytes, range_end: bytes = b"") -> Any:
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=range_end))


def _get(key: bytes, range_end: bytes = b"") -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key, range_end=range_end))


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


class EtcdStore:
    """The record store on an etcd cluster (see the module docstring for the mapping).

    ``EtcdStore("etcd://127.0.0.1:2379/ns")`` attaches to namespace ``ns`` (creating it empty
    if new); ``reset=True`` empties it first. ``timeout_s`` bounds every request; an
    unreachable cluster raises :class:`~dnsrace.errors.StoreUnavailable` within
    ``connect_timeout_s`` per member.
    """

    def __init__(
        self,
        url: str | EtcdUrl,
        *,
        reset: bool = False,
        lease_clock: LeaseClock = "caller",
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        inflight: int = 32,
        txn_ops: int = 1000,
    ) -> None:
        self.url = url if isinstance(url, EtcdUrl) else parse_etcd_url(url)
        if lease_clock not in ("caller", "etcd"):
            raise InvalidArgument(f"invalid lease_clock {lease_clock!r}: 'caller' or 'etcd'")
        if not 1 <= txn_ops <= 10_000:
            raise InvalidArgument(f"invalid txn_ops {txn_ops!r}: must be in 1..10000")
        self.lease_clock: LeaseClock = lease_clock
        self.txn_ops = txn_ops
        self.keys = Keys(self.url.namespace)
        self.client = EtcdClient(
            self.url.endpoints,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            inflight=inflight,
        )
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._sets: dict[int, list[Answer]] = {}
        self._lease_keys: dict[int, set[int]] = defaultdict(set)
        self._counters: dict[str, int] = dict.fromkeys(STORE_COUNTERS, 0)
        self._view: _View | None = None
        self._fit_txn_ops()
        if reset:
            self.client.txn(
                rpc.TxnRequest(success=[_delete(self.keys.prefix, Keys.end(self.keys.prefix))]),
                idempotent=True,
            )
        # The namespace exists once its count does.
        self.client.txn(
            rpc.TxnRequest(
                compare=[
                    rpc.Compare(result=_EQ, target=_CREATE, key=self.keys.count, create_revision=0)
                ],
                success=[_put(self.keys.count, u64(0))],
            ),
            idempotent=True,
        )

    def _fit_txn_ops(self) -> None:
        """Bigger Txns flip faster (etcd's per-Txn cost is spread thinner), but a cluster
        refuses more operations than its ``--max-txn-ops`` (default 128): ask once, with a
        harmless read-only Txn of that many gets, and fall back to 100."""
        probe = rpc.TxnRequest(success=[_get(self.keys.count)] * self.txn_ops)
        try:
            self.client.txn(probe, idempotent=True)
        except StoreUnavailable as exc:
            if "too many operations" not in str(exc):
                raise
            self.txn_ops = min(self.txn_ops, 100)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> EtcdStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================== endpoints

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

    def __len__(self) -> int:
        return self._sync_names()[0]

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        """Register DNS names; their ids (dense from 0, in registration order, shared by every
        client of the namespace). Registering is one Txn on the count at the end; the records
        written before it are guarded by that count, so concurrent registrations never mix."""
        canon = [canonical_name(n) for n in _sequence(names, "names")]
        for _ in range(_MAX_ROUNDS):
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
        guard = _mod(k.count, count_rev)
        total = count + len(new)
        reqs = []
        step = self.txn_ops
        for lo in range(count, total, step):
            hi = min(total, lo + step)
            empty = rpc.Compare(
                result=_EQ,
                target=_CREATE,
                key=k.alias(lo),
                range_end=k.alias(hi),
                create_revision=0,
            )
            ops = [_put(k.alias(i), encode_alias(0, 0)) for i in range(lo, hi)]
            reqs.append(rpc.TxnRequest(compare=[guard, empty], success=ops))
        names = self._names + new
        first = count // NAMES_PER_CHUNK
        chunks = [
            _put(
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
                rpc.TxnRequest(compare=[guard], success=[_put(k.count, u64(total))])
            )
        except Uncertain:
            return False  # the next round reads the count and sees what happened
        return bool(done.succeeded)

    def _ids_of(self, endpoints: object, *, allow_all: bool = True) -> list[int]:
        if endpoints is None:
            if not allow_all:
                raise InvalidArgument("endpoints must be a sequence, not None")
            return list(range(self._sync_names()[0]))
        items = _int_sequence(endpoints, InvalidArgument, "endpoints")
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
        if isinstance(endpoint, str):
            i = self._ids.get(endpoint)
            if i is None:
                name = canonical_name(endpoint)
                i = self._ids.get(name)
                if i is None:
                    self._sync_names()
                    i = self._ids.get(name)
                if i is None:
                    raise UnknownEndpoint(f"unknown endpoint {name}")
            return i
        if isinstance(endpoint, int) and not isinstance(endpoint, bool):
            if 0 <= endpoint < len(self._names):
                return int(endpoint)
            if 0 <= endpoint < self._sync_names()[0]:
                return int(endpoint)
            raise UnknownEndpoint(f"unknown endpoint id {endpoint}")
        raise InvalidArgument(f"invalid endpoint {endpoint!r}: must be a name (str) or an id (int)")

    def endpoint_id(self, name: str) -> int:
        return self._id_of(name)

    def endpoint_name(self, endpoint: int | str) -> str:
        return self._names[self._id_of(endpoint)]

    # ================================================================== reads

    def _read(self, keys: Sequence[bytes], prefixes: Sequence[bytes] = ()) -> dict[bytes, Any]:
        """Point reads of many keys and whole-prefix reads, packed into Txns of ``txn_ops``
        operations (pipelined when more than one); absent keys are left out."""
        ops = [_get(key) for key in dict.fromkeys(keys)]
        ops += [_get(pre, Keys.end(pre)) for pre in dict.fromkeys(prefixes)]
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

    def _read_prefix(self, prefix: bytes) -> dict[bytes, Any]:
        return self._read_prefix_at(prefix, 0)[0]

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

    def _read_prefix_at(self, prefix: bytes, revision: int) -> tuple[dict[bytes, Any], int]:
        """A whole prefix as of ``revision`` (0: now), and the revision it was read at."""
        kvs, revision = self.client.range_all_at(prefix, Keys.end(prefix), revision=revision)
        return {kv.key: kv for kv in kvs}, revision

    def _current_view(self) -> _View | None:
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

    def _column(self, endpoints: object, which: int, output: object) -> Any:
        out_kind: Output = _output(output)
        everything = endpoints is None
        ids = self._ids_of(endpoints)
        kvs = self._control(ids, everything and len(ids) > 1000)
        values: list[int] = []
        for i in ids:
            alias, rollback, rev = self._alias_of(kvs, i)
            values.append((alias, rollback, rev)[which])
        if out_kind == "list":
            if which == 2:
                return values
            return [v or None for v in values]
        return _typed_array(values, "Q", "uint64", out_kind)

    @overload
    def aliases(self, endpoints: object = None) -> list[int | None]: ...
    @overload
    def aliases(self, endpoints: object = None, *, output: Output) -> Any: ...
    def aliases(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """Generation each endpoint points at (None: never flipped)."""
        return self._column(endpoints, 0, output)

    @overload
    def rollbacks(self, endpoints: object = None) -> list[int | None]: ...
    @overload
    def rollbacks(self, endpoints: object = None, *, output: Output) -> Any: ...
    def rollbacks(self, endpoints: object = None, *, output: Output = "list") -> Any:
        return self._column(endpoints, 1, output)

    @overload
    def versions(self, endpoints: object = None) -> list[int]: ...
    @overload
    def versions(self, endpoints: object = None, *, output: Output) -> Any: ...
    def versions(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """The control records' ``mod_revision``\\ s (what ``mode="exact"`` compares)."""
        return self._column(endpoints, 2, output)

    def dangling_aliases(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """Endpoints whose alias names a tree that is gone (they resolve to nothing)."""
        out_kind: Output = _output(output)
        ids = self._ids_of(endpoints)
        kvs, chunks, _ = self._state(ids, everything=endpoints is None and len(ids) > 1000)
        found = []
        for i in ids:
            alias = self._alias_of(kvs, i)[0]
            if alias and chunks.get((alias, chunk_of(i)), _NO_CHUNK).set_of(i) is None:
                found.append(i)
        return found if out_kind == "list" else _typed_array(found, "I", "uint32", out_kind)

    def has_tree(self, endpoint: int | str, generation: int) -> bool:
        gen = _generation(generation)
        i = self._id_of(endpoint)
        return self._chunks([(gen, chunk_of(i))])[(gen, chunk_of(i))].set_of(i) is not None

    def _plan_sets(self, generation: int) -> list[Answer]:
        """A plan's target sets (immutable once stored: cached)."""
        sets = self._sets.get(generation)
        if sets is None:
            prefix = self.keys.sets_of(generation)
            parts = [kv.value for kv in self.client.range_all(prefix, Keys.end(prefix))]
            sets = self._sets[generation] = decode_sets(parts)
        return sets

    def resolve_many(self, endpoints: object = None) -> list[Answer]:
        """Each endpoint's answer: the target set of its alias's tree, or ``()``."""
        ids = self._ids_of(endpoints)
        kvs, chunks, _ = self._state(ids, everything=endpoints is None and len(ids) > 1000)
        aliases = [self._alias_of(kvs, i)[0] for i in ids]
        out: list[Answer] = []
        empty = 0
        for i, a in zip(ids, aliases, strict=True):
            s = chunks.get((a, chunk_of(i)), _NO_CHUNK).set_of(i) if a else None
            if s is None:
                out.append(())
                empty += 1
            else:
                out.append(self._plan_sets(a)[s])
        self._counters["empty_answers"] += empty
        return out

    def resolve(self, endpoint: int | str) -> Answer:
        return self.resolve_many([endpoint])[0]

    # ================================================================== plans

    def plan_generations(self) -> list[int]:
        """Generations with a stored plan header (at least one tree left), ascending."""
        prefix = self.keys.plan_prefix
        resp = self.client.range(prefix, Keys.end(prefix), keys_only=True)
        return [self.keys.generation_of(kv.key) for kv in resp.kvs]

    def put_plan(self, plan: Plan) -> None:
        """Store a plan (a ``dnsrace.reference.Plan``): its sets once, its trees in chunks, its
        header last. Fails if the generation is stored (plans are immutable)."""
        if not isinstance(plan, Plan):
            raise InvalidArgument(
                f"EtcdStore stores dnsrace.reference.Plan objects, not {type(plan).__name__}"
            )
        gen = plan.generation
        sets, keys, index = shared_form(plan)
        self._sync_names()
        ids = [self._id_of(key) for key in keys]
        if len(set(ids)) != len(ids):
            raise InvalidArgument(f"an endpoint appears twice in plan {gen} (by name and by id)")
        k = self.keys
        absent = rpc.Compare(result=_EQ, target=_CREATE, key=k.plan(gen), create_revision=0)
        if self.client.range(k.plan(gen), keys_only=True).kvs:
            raise InvalidArgument(f"plan {gen} is already stored (plans are immutable)")
        by_chunk: dict[int, array[int]] = {}
        for i, s in zip(ids, index, strict=True):
            entries = by_chunk.get(i // TREES_PER_CHUNK)
            if entries is None:
                entries = by_chunk[i // TREES_PER_CHUNK] = array("I", bytes(4 * TREES_PER_CHUNK))
            entries[i % TREES_PER_CHUNK] = s + 1
        ops = [_put(k.sets(gen, p), part) for p, part in enumerate(encode_sets(sets))]
        ops += [_put(k.trees(gen, c), encode_tree_chunk(e)) for c, e in sorted(by_chunk.items())]
        reqs = [
            rpc.TxnRequest(compare=[absent], success=ops[lo : lo + 64])
            for lo in range(0, len(ops), 64)
        ]
        header = b'{"records":%d,"endpoints":%d}' % (plan.records, len(ids))
        try:
            ok = all(r.succeeded for r in self.client.txn_many(reqs))
            ok = (
                ok
                and self.client.txn(
                    rpc.TxnRequest(compare=[absent], success=[_put(k.plan(gen), header)])
                ).succeeded
            )
        except Uncertain:
            ok = bool(self.client.range(k.plan(gen), keys_only=True).kvs)
        if not ok:
            raise InvalidArgument(f"plan {gen} is already stored (plans are immutable)")
        self._sets[gen] = sets

    def delete_plans(self, generations: Iterable[int], *, safe: bool = True) -> DeleteResult:
        """Delete the trees of ``generations``; ``safe`` keeps every tree that an alias or
        rollback refers to, in a Txn per chunk that compares those records unchanged."""
        _flag(safe, "safe")
        gens = sorted(
            {_generation(g) for g in _int_sequence(generations, InvalidArgument, "generations")}
        )
        deleted = kept = 0
        kept_gens: list[int] = []
        unknown: list[int] = []
        for gen in gens:
            d, kp = self._delete_generation(gen, safe)
            if d == 0 and kp == 0:
                unknown.append(gen)
            deleted += d
            kept += kp
            if kp:
                kept_gens.append(gen)
        return DeleteResult(deleted, kept, kept_gens, unknown)

    def _generation_chunks(self, gen: int) -> dict[int, Any]:
        """The stored tree chunks of one generation, by chunk number."""
        n = (self._sync_names()[0] + TREES_PER_CHUNK - 1) // TREES_PER_CHUNK
        found = self._read([self.keys.trees(gen, c) for c in range(n)])
        return {self.keys.tree_key_parts(key)[1]: kv for key, kv in found.items()}

    def _delete_generation(self, gen: int, safe: bool) -> tuple[int, int]:
        k = self.keys
        deleted = kept = 0
        pending = self._generation_chunks(gen)
        for _ in range(_MAX_ROUNDS):
            if not pending:
                break
            reqs: list[Any] = []
            plans: list[tuple[int, int, int]] = []  # chunk, deleted, kept
            chunk_list = sorted(pending)
            controls: dict[bytes, Any] = {}
            read_rev = 0
            if safe:
                ids = [c * TREES_PER_CHUNK + j for c in chunk_list for j in range(TREES_PER_CHUNK)]
                resp_rev = self.client.range(k.count, keys_only=True).header.revision
                controls = self._read([k.alias(i) for i in ids])
                read_rev = resp_rev
            inner: list[Any] = []
            for c in chunk_list:
                kv = pending[c]
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
                compares = [_mod(kv.key, int(kv.mod_revision))]
                if safe:
                    # Every control record of the chunk's endpoints is as read: none of them
                    # has come to refer to this generation since (the check and the delete
                    # are one step, unlike the `checked` clean-up's read-then-delete).
                    compares.append(
                        rpc.Compare(
                            result=_LT,
                            target=_MOD,
                            key=k.alias(lo),
                            range_end=k.alias(lo + TREES_PER_CHUNK),
                            mod_revision=read_rev + 1,
                        )
                    )
                if n_del == 0:
                    write: list[Any] = []
                elif n_keep:
                    write = [_put(kv.key, encode_tree_chunk(keep))]
                else:
                    write = [_delete(kv.key)]
                inner.append(
                    rpc.RequestOp(
                        request_txn=rpc.TxnRequest(
                            compare=compares, success=write, failure=[_get(kv.key)]
                        )
                    )
                )
                plans.append((c, n_del, n_keep))
            for lo in range(0, len(inner), self.txn_ops):
                reqs.append(rpc.TxnRequest(success=inner[lo : lo + self.txn_ops]))
            try:
                resps = self.client.txn_many(reqs)
            except Uncertain:
                pending = self._generation_chunks(gen)
                continue
            results = [op.response_txn for r in resps for op in r.responses]
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
        if kept == 0 and not self._generation_chunks(gen):
            self.client.txn(
                rpc.TxnRequest(
                    success=[
                        _delete(k.plan(gen)),
                        _delete(k.sets_of(gen), Keys.end(k.sets_of(gen))),
                    ]
                ),
                idempotent=True,
            )
            self._sets.pop(gen, None)
        return deleted, kept

    # ================================================================== flips

    @overload
    def flip_many(
        self,
        endpoints: object,
        generation: int,
        mode: str = "if_newer",
        *,
        expected_versions: object = None,
        fence: object = None,
        rollback: bool = True,
        outcomes: Literal[False] = False,
    ) -> FlipCounts: ...
    @overload
    def flip_many(
        self,
        endpoints: object,
        generation: int,
        mode: str = "if_newer",
        *,
        expected_versions: object = None,
        fence: object = None,
        rollback: bool = True,
        outcomes: Literal[True, "array"],
    ) -> ArrayResult: ...
    @overload
    def flip_many(
        self,
        endpoints: object,
        generation: int,
        mode: str = "if_newer",
        *,
        expected_versions: object = None,
        fence: object = None,
        rollback: bool = True,
        outcomes: Literal["numpy"],
    ) -> FlipResult[Any]: ...
    def flip_many(
        self,
        endpoints: object,
        generation: int,
        mode: str = "if_newer",
        *,
        expected_versions: object = None,
        fence: object = None,
        rollback: bool = True,
        outcomes: bool | Literal["array", "numpy"] = False,
    ) -> FlipCounts | FlipResult[Any]:
        """Flip many endpoints to ``generation`` (``None``: all); semantics of
        ``RecordStore.flip_many``, each endpoint one atomic etcd step."""
        gen = _generation(generation)
        _flag(rollback, "rollback")
        output = _outcomes(outcomes)
        code = _mode(mode)
        _check_expected(code, expected_versions, "expected_versions")
        ids = self._ids_of(endpoints)
        n = len(ids)
        expected: list[int] | None = None
        if mode == "exact":
            raw = _int_sequence(expected_versions, InvalidToken, "expected_versions")
            if len(raw) != n:
                raise InvalidArgument(f"expected_versions has {len(raw)} items for {n} endpoints")
            expected = [_version(v) for v in raw]
        fences: list[int] | None = None
        if fence is not None:
            if isinstance(fence, int) and not isinstance(fence, bool):
                fences = [_token(fence, "fence")] * n
            else:
                raw = _int_sequence(fence, InvalidToken, "fence")
                if len(raw) != n:
                    raise InvalidArgument(f"fence has {len(raw)} items for {n} endpoints")
                fences = [_token(f, "fence") for f in raw]
        codes = bytearray(n)
        previous = [0] * n
        # A repeated endpoint sees its earlier positions: one round per repetition.
        rounds: list[list[int]] = []
        if endpoints is None or len(set(ids)) == n:
            rounds = [list(range(n))] if n else []
        else:
            seen_count: dict[int, int] = {}
            for pos, i in enumerate(ids):
                r = seen_count.get(i, 0)
                seen_count[i] = r + 1
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append(pos)
        for positions in rounds:
            self._flip_round(
                ids,
                positions,
                gen,
                mode,
                expected,
                fences,
                rollback,
                codes,
                previous,
                everything=endpoints is None and n > 1000,
            )
        counts = FlipCounts(*(codes.count(c) for c in range(5)))
        if output is None:
            return counts
        return FlipResult(
            counts,
            _typed_array(list(codes), "B", "uint8", output),
            _typed_array(previous, "Q", "uint64", output),
        )

    def flip(
        self,
        endpoint: int | str,
        generation: int,
        mode: str = "if_newer",
        *,
        expected_version: int | None = None,
        fence: int | None = None,
        rollback: bool = True,
    ) -> bool:
        """Flip one endpoint; True if applied (``DanglingAlias`` as the embedded store)."""
        res = self.flip_many(
            [endpoint],
            generation,
            mode,
            expected_versions=None if expected_version is None else [expected_version],
            fence=fence,
            rollback=rollback,
            outcomes=True,
        )
        if res.outcomes[0] == Outcome.DANGLING:
            raise DanglingAlias(
                f"endpoint {self.endpoint_name(endpoint)} points at generation "
                f"{res.previous[0]}, whose tree is gone; flip with rollback=False to repair"
            )
        return bool(res.outcomes[0] == Outcome.APPLIED)

    def _flip_round(
        self,
        ids: list[int],
        positions: list[int],
        gen: int,
        mode: str,
        expected: list[int] | None,
        fences: list[int] | None,
        rollback: bool,
        codes: bytearray,
        previous: list[int],
        *,
        everything: bool,
    ) -> None:
        """Decide each endpoint on what was read, then confirm every decision with a Txn.

        Groups of ``txn_ops`` endpoints go as one Txn whose compares are all of theirs (the
        usual case: nothing changed, one step for the group). A group whose Txn failed goes
        again as one nested Txn per endpoint, so each endpoint is confirmed or refused on its
        own; endpoints whose own Txn failed are read and decided again.
        """
        pending = positions
        # Positions whose write lost its answer: (the value it wrote, the revision before).
        doubtful: dict[int, tuple[bytes, int, int]] = {}
        for _ in range(_MAX_ROUNDS):
            if not pending:
                return
            pending = self._flip_attempt(
                ids,
                pending,
                gen,
                mode,
                expected,
                fences,
                rollback,
                codes,
                previous,
                doubtful,
                everything,
            )
            everything = False
        raise StoreUnavailable(
            f"{len(pending)} flips kept conflicting with concurrent writers; giving up"
        )

    def _flip_attempt(
        self,
        ids: list[int],
        pending: list[int],
        gen: int,
        mode: str,
        expected: list[int] | None,
        fences: list[int] | None,
        rollback: bool,
        codes: bytearray,
        previous: list[int],
        doubtful: dict[int, tuple[bytes, int, int]],
        everything: bool,
    ) -> list[int]:
        """One round of :meth:`_flip_round`: the positions to read and decide again.

        Each decision keeps the compares it rests on in two parts: the tree chunks it read
        (shared by the endpoints of a chunk: once per group in the flat Txn) and its own
        (control record, fence key, the mode's condition), plus its writes.
        """
        k = self.keys
        pend_ids = [ids[p] for p in pending]
        # A whole-fleet batch reads every record first, unless the view kept from the last one
        # is provably what that read would return (see `_View`).
        keep = everything and fences is None
        view = self._current_view() if keep else None
        self._view = None
        if view is not None:
            kvs, chunks = view.kvs, view.chunks
        else:
            kvs, chunks, revision = self._state(
                pend_ids, fences=fences is not None, everything=everything
            )
            if keep:
                view = _View(kvs, chunks, revision)
        # position, outcome (-1: our lost write did land), alias before, chunk keys read,
        # own compares, writes, revision of the control record read; for an applied one, the
        # control record's key and the value written
        Decision = tuple[
            int, int, int, tuple[tuple[int, int], ...], bytes, bytes, int, bytes, bytes
        ]
        decisions: list[Decision] = []
        chunk_compares: dict[tuple[int, int], bytes] = {}
        for key in chunks:
            chunk_compares[key] = wire.compare_mod(k.trees(*key), chunks[key].mod_revision)

        def chunk_compare(key: tuple[int, int]) -> bytes:
            found = chunk_compares.get(key)
            if found is None:  # absent: compared as absent (mod_revision 0)
                found = chunk_compares[key] = wire.compare_mod(k.trees(*key), 0)
            return found

        groups: list[list[Decision]] = []
        group_writes: list[bool] = []

        def group_txn(group: list[Decision], shared: dict[tuple[int, int], None]) -> bytes:
            """A group of decisions as one flat Txn: the chunks they read, once each, then
            their own compares and their writes."""
            groups.append(group)
            writes = b"".join([d[5] for d in group])
            group_writes.append(bool(writes))
            return wire.txn(
                b"".join([chunk_compare(c) for c in shared]),
                b"".join([d[4] for d in group]),
                writes,
            )

        alias_prefix = k.alias_prefix
        pack_id = _U32.pack
        unpack_alias = _ALIAS.unpack
        pack_alias = _ALIAS.pack
        compare_mod, compare_value, op_put = wire.compare_mod, wire.compare_value, wire.op_put
        equal = wire.EQUAL
        if_newer, exact = mode == "if_newer", mode == "exact"
        step = self.txn_ops
        per_endpoint = 1 if fences is None else 2  # compares (and puts) of its own
        per_chunk = TREES_PER_CHUNK
        applied, stale, fenced_, missing, dangling_ = (
            Outcome.APPLIED,
            Outcome.OUTDATED,
            Outcome.FENCED,
            Outcome.MISSING,
            Outcome.DANGLING,
        )
        no_entries: list[int] = [0] * per_chunk
        # The usual compare and put of a control record (fixed-width key, 16-byte value) as
        # one format each: what wire.compare_value and wire.op_put write, without the calls.
        klen = len(alias_prefix) + 4
        record_compare, record_put = wire.record_formats(klen, _ALIAS.size)

        def entries_of(key: tuple[int, int]) -> Any:
            tree = chunks.get(key)
            return no_entries if tree is None or tree.entries is None else tree.entries

        def requests() -> Iterator[bytes]:
            """Decide and encode group by group, so that etcd works on the first groups
            while the next ones are being decided."""
            group: list[Decision] = []
            shared: dict[tuple[int, int], None] = {}
            size = 0
            # Consecutive endpoints mostly share their chunk and active plan: keep those trees'
            # entries at hand.
            last_c = -1
            target: tuple[int, int] = (gen, 0)
            target_entries: Any = no_entries
            active: tuple[int, int] = (0, -1)
            active_entries: Any = no_entries
            for pos, i in zip(pending, pend_ids, strict=True):
                akey = alias_prefix + pack_id(i)
                a_kv = kvs.get(akey)
                if a_kv is None:
                    raise StoreUnavailable(f"control record of endpoint {i} is missing")
                value_now = a_kv.value
                alias = unpack_alias(value_now)[0]
                rev = a_kv.mod_revision
                c = i // per_chunk
                if doubtful:
                    seen = doubtful.pop(pos, None)
                    if seen is not None and value_now == seen[0] and rev > seen[1]:
                        decisions.append((pos, -1, seen[2], (), b"", b"", rev, b"", b""))
                        continue
                if c != last_c:
                    last_c = c
                    target = (gen, c)
                    target_entries = entries_of(target)
                if not target_entries[i % per_chunk]:
                    d: Decision = (pos, missing, alias, (target,), b"", b"", rev, b"", b"")
                    decisions.append(d)
                    group.append(d)
                    shared[target] = None
                else:
                    own = b""
                    fence = None
                    highest = 0
                    if fences is not None:
                        fence = fences[pos]
                        f_kv = kvs.get(k.fence(i))
                        highest = decode_u64(f_kv.value) if f_kv is not None else 0
                        own = compare_mod(k.fence(i), int(f_kv.mod_revision) if f_kv else 0)
                    # What the decision rests on, and the mode's condition, in one compare
                    # per record (each compare costs etcd a lookup: two per endpoint cost it
                    # 40 % more CPU than one). `exact`: the revision read, which it requires to
                    # be the expected one. Otherwise the record's bytes as read: its
                    # big-endian generation, below `gen` for an `if_newer` write, and the
                    # rollback the write records.
                    if exact:
                        own += compare_mod(akey, rev)
                    elif record_compare is not None:
                        own += record_compare % (akey, value_now)
                    else:
                        own += compare_value(akey, value_now, equal)
                    shared[target] = None
                    if fence is not None and fence < highest:
                        d = (pos, fenced_, alias, (target,), own, b"", rev, b"", b"")
                    elif (if_newer and gen <= alias) or (
                        exact and expected is not None and expected[pos] != rev
                    ):
                        d = (pos, stale, alias, (target,), own, b"", rev, b"", b"")
                    elif alias and rollback:
                        if alias != active[0] or c != active[1]:
                            active = (alias, c)
                            active_entries = entries_of(active)
                        shared[active] = None
                        if not active_entries[i % per_chunk]:
                            d = (pos, dangling_, alias, (target, active), own, b"", rev, b"", b"")
                        else:
                            value = pack_alias(gen, alias)
                            writes = (
                                record_put % (akey, value) if record_put else op_put(akey, value)
                            )
                            if fence is not None and fence > highest:
                                writes += op_put(k.fence(i), u64(fence))
                            d = (
                                pos,
                                applied,
                                alias,
                                (target, active),
                                own,
                                writes,
                                rev,
                                akey,
                                value,
                            )
                    else:
                        value = pack_alias(gen, 0)
                        writes = record_put % (akey, value) if record_put else op_put(akey, value)
                        if fence is not None and fence > highest:
                            writes += op_put(k.fence(i), u64(fence))
                        d = (pos, applied, alias, (target,), own, writes, rev, akey, value)
                    decisions.append(d)
                    group.append(d)
                # etcd bounds compares and puts per Txn (--max-txn-ops): close the group
                # before the next endpoint (at most a fence and a record compare, two chunks
                # and two puts) could pass it.
                size += per_endpoint
                if size + len(shared) + 4 > step:
                    yield group_txn(group, shared)
                    group, shared, size = [], {}, 0
            if group:
                yield group_txn(group, shared)

        try:
            responses = self.client.txn_many_raw(requests())
            # A group where something changed: each endpoint on its own, one nested Txn
            # each, in one request per group.
            split = [g for g, r in zip(groups, responses, strict=True) if not r.succeeded]
            nested = [
                wire.txn(
                    *(
                        wire.op_txn(b"".join(chunk_compare(c) for c in d[3]) + d[4], d[5])
                        for d in group
                    )
                )
                for group in split
            ]
            nested_responses = iter(self.client.txn_many_raw(nested) if nested else [])
        except Uncertain:
            # Read the whole round again; `doubtful` recognises our own landed writes by
            # the value they wrote and a revision above the one read.
            for d in decisions:
                if d[1] == applied:
                    doubtful[d[0]] = (d[8], d[6], d[2])
            return [d[0] for d in decisions]
        if view is not None and len(responses) == len(groups) and not split:
            self._keep_view(view, groups, group_writes, responses)
        retry: list[int] = []
        done: list[Decision] = [d for d in decisions if d[1] < 0]
        for group, resp in zip(groups, responses, strict=True):
            if resp.succeeded:
                done += group
                continue
            oks = [op.response_txn.succeeded for op in next(nested_responses).responses]
            for d, ok in zip(group, oks, strict=True):
                if ok:
                    done.append(d)
                else:
                    retry.append(d[0])
        self._count_many(done, gen, codes, previous)
        return retry

    def _keep_view(
        self,
        view: _View,
        groups: Sequence[Sequence[Sequence[Any]]],
        group_writes: Sequence[bool],
        responses: Sequence[Any],
    ) -> None:
        """Fold a batch's writes into the view it decided on and keep it, if the batch's
        writing Txns took exactly the revisions after the view's: then nobody else wrote in
        between, and the view is the namespace as it now is."""
        writes = [
            (group, int(resp.header.revision))
            for group, wrote, resp in zip(groups, group_writes, responses, strict=True)
            if wrote
        ]
        revisions = sorted(rev for _, rev in writes)
        if revisions != list(range(view.revision + 1, view.revision + 1 + len(revisions))):
            return
        kvs, applied = view.kvs, Outcome.APPLIED
        for group, rev in writes:
            for d in group:
                if d[1] == applied:
                    kvs[d[7]] = _Record(d[8], rev)
        if revisions:
            view.revision = revisions[-1]
        self._view = view

    def _count_many(
        self, done: Sequence[Sequence[Any]], gen: int, codes: bytearray, previous: list[int]
    ) -> None:
        """Record confirmed decisions (position, outcome, alias before, ...) and count them;
        outcome -1 is a write of ours whose answer was lost and that did land: applied."""
        tally = [0] * 5
        stale_flips = 0
        for d in done:
            pos, code, alias = d[0], d[1], d[2]
            if code < 0:
                code = Outcome.APPLIED
            codes[pos] = code
            previous[pos] = alias
            tally[code] += 1
            if code == 0 and gen < alias:
                stale_flips += 1
        c = self._counters
        c["flips_applied"] += tally[Outcome.APPLIED]
        c["stale_flips"] += stale_flips
        c["outdated_rejections"] += tally[Outcome.OUTDATED]
        c["fenced_rejections"] += tally[Outcome.FENCED]
        c["missing_rejections"] += tally[Outcome.MISSING]
        c["dangling_rejections"] += tally[Outcome.DANGLING]

    # ================================================================== leases

    def _lease_state(self, ids: Sequence[int]) -> tuple[dict[bytes, Any], dict[bytes, Any]]:
        k = self.keys
        found = self._read([k.lease(i) for i in ids] + [k.fence(i) for i in ids])
        leases = {key: kv for key, kv in found.items() if key.startswith(k.lease_prefix)}
        fences = {key: kv for key, kv in found.items() if key.startswith(k.fence_prefix)}
        return leases, fences

    def acquire_leases(
        self, endpoints: object, holder: str, ttl: float, now: float
    ) -> list[int | None]:
        """Lease each endpoint until ``now + ttl`` (caller clock) or for ``ceil(ttl)`` seconds of
        etcd's clock; a fresh fencing token each, or None where another holder's lease lives."""
        who = _holder(holder)
        span = _ttl(ttl)
        at = _float(now, "now")
        ids = self._ids_of(endpoints, allow_all=False)
        k = self.keys
        out: list[int | None] = [None] * len(ids)
        pending = list(range(len(ids)))
        lease_id = 0
        for _ in range(_MAX_ROUNDS):
            if not pending:
                break
            leases, fences = self._lease_state([ids[p] for p in pending])
            inner: list[Any] = []
            plan: list[tuple[int, int | None]] = []
            for p in pending:
                i = ids[p]
                l_kv = leases.get(k.lease(i))
                f_kv = fences.get(k.fence(i))
                compares = [
                    _mod(k.lease(i), int(l_kv.mod_revision) if l_kv is not None else 0),
                    _mod(k.fence(i), int(f_kv.mod_revision) if f_kv is not None else 0),
                ]
                current = _Lease(l_kv.value) if l_kv is not None else None
                live = current is not None and (self.lease_clock == "etcd" or at < current.expiry)
                if live and current is not None and current.holder != who:
                    inner.append(rpc.RequestOp(request_txn=rpc.TxnRequest(compare=compares)))
                    plan.append((p, None))
                    continue
                token = (decode_u64(f_kv.value) if f_kv is not None else 0) + 1
                if self.lease_clock == "etcd" and not lease_id:
                    lease_id = self.client.lease_grant(max(1, math.ceil(span)))
                expiry = at + span if self.lease_clock == "caller" else 0.0
                ops = [
                    _put(k.lease(i), _Lease.encode(expiry, token, lease_id, who), lease_id),
                    _put(k.fence(i), u64(token)),
                ]
                inner.append(
                    rpc.RequestOp(request_txn=rpc.TxnRequest(compare=compares, success=ops))
                )
                plan.append((p, token))
            reqs = [
                rpc.TxnRequest(success=inner[lo : lo + self.txn_ops])
                for lo in range(0, len(inner), self.txn_ops)
            ]
            try:
                resps = self.client.txn_many(reqs)
            except Uncertain:
                continue  # re-read: a landed grant shows as our own live lease, granted again
            except LeaseNotFound:
                # The etcd lease granted above expired before its Txn arrived (this process
                # was stopped in between): nothing of that Txn was applied. Grant a new one.
                lease_id = 0
                continue
            results = [op.response_txn for r in resps for op in r.responses]
            retry: list[int] = []
            for (p, granted), res in zip(plan, results, strict=True):
                if not res.succeeded:
                    retry.append(p)
                elif granted is None:
                    self._counters["lease_conflicts"] += 1
                else:
                    out[p] = granted
                    self._counters["leases_granted"] += 1
                    if lease_id:
                        self._lease_keys[lease_id].add(ids[p])
            pending = retry
        else:
            raise StoreUnavailable("lease grants kept conflicting with concurrent writers")
        return out

    def acquire_lease(self, endpoint: int | str, holder: str, ttl: float, now: float) -> int:
        token = self.acquire_leases([endpoint], holder, ttl, now)[0]
        if token is None:
            raise LeaseHeld(f"lease on {self.endpoint_name(endpoint)!r} is held by another holder")
        return token

    def renew_lease(
        self, endpoint: int | str, holder: str, token: int, ttl: float, now: float
    ) -> float:
        """Extend a live lease; ``LeaseLost`` unless holder and token match and it lives."""
        who = _holder(holder)
        tok = _token(token)
        span = _ttl(ttl)
        at = _float(now, "now")
        i = self._id_of(endpoint)
        key = self.keys.lease(i)
        for _ in range(_MAX_ROUNDS):
            resp = self.client.range(key)
            current = _Lease(resp.kvs[0].value) if resp.kvs else None
            if (
                current is None
                or current.holder != who
                or current.token != tok
                or (self.lease_clock == "caller" and not at < current.expiry)
            ):
                raise LeaseLost(
                    f"{who!r} does not hold a live lease on {self._names[i]!r} with token {tok}"
                )
            if self.lease_clock == "etcd":
                left = self.client.lease_keepalive(current.lease_id)
                if left <= 0:
                    raise LeaseLost(f"the lease on {self._names[i]!r} expired")
                return at + left
            value = _Lease.encode(at + span, tok, 0, who)
            done = self.client.txn(
                rpc.TxnRequest(
                    compare=[_mod(key, int(resp.kvs[0].mod_revision))], success=[_put(key, value)]
                ),
                idempotent=True,
            )
            if done.succeeded:
                return at + span
        raise StoreUnavailable("lease renewal kept conflicting with concurrent writers")

    def release_leases(self, endpoints: object, holder: str, tokens: object) -> int:
        """Give up the leases whose holder and token match; how many were released."""
        who = _holder(holder)
        toks = [_token(t) for t in _int_sequence(tokens, InvalidToken, "tokens")]
        if endpoints is None:
            raise InvalidArgument("release_leases needs a sequence of endpoints, not None")
        ids = self._ids_of(endpoints)
        if len(ids) != len(toks):
            raise InvalidArgument(f"{len(toks)} tokens for {len(ids)} endpoints")
        k = self.keys
        released = 0
        pending = list(range(len(ids)))
        for _ in range(_MAX_ROUNDS):
            if not pending:
                break
            found = self._read([k.lease(ids[p]) for p in pending])
            inner: list[Any] = []
            mine: list[int] = []
            for p in pending:
                kv = found.get(k.lease(ids[p]))
                if kv is None:
                    continue
                current = _Lease(kv.value)
                if current.holder != who or current.token != toks[p]:
                    continue
                inner.append(
                    rpc.RequestOp(
                        request_txn=rpc.TxnRequest(
                            compare=[_mod(kv.key, int(kv.mod_revision))], success=[_delete(kv.key)]
                        )
                    )
                )
                mine.append(p)
            reqs = [
                rpc.TxnRequest(success=inner[lo : lo + self.txn_ops])
                for lo in range(0, len(inner), self.txn_ops)
            ]
            try:
                resps = self.client.txn_many(reqs)
            except Uncertain:
                continue
            results = [op.response_txn for r in resps for op in r.responses]
            retry = []
            for p, res in zip(mine, results, strict=True):
                if res.succeeded:
                    released += 1
                    self._forget_lease_key(ids[p])
                else:
                    retry.append(p)
            pending = retry
        return released

    def release_lease(self, endpoint: int | str, holder: str, token: int) -> None:
        if self.release_leases([endpoint], holder, [token]) != 1:
            raise LeaseLost(
                f"{holder!r} does not hold the lease on {self.endpoint_name(endpoint)!r} "
                f"with token {token}"
            )

    def _forget_lease_key(self, endpoint: int) -> None:
        for lease_id, held in list(self._lease_keys.items()):
            held.discard(endpoint)
            if not held:
                del self._lease_keys[lease_id]
                self.client.lease_revoke(lease_id)

    # ================================================================== accounting

    def stats(self) -> dict[str, int]:
        """Gauges read from etcd (one scan) and this client's counters (see the module doc)."""
        count = self._sync_names()[0]
        k = self.keys
        controls = self._read_prefix(k.alias_prefix)
        trees = records = target_sets = 0
        present: dict[int, dict[int, Chunk]] = defaultdict(dict)
        plans = self.plan_generations()
        for kv in self._read_prefix(k.trees_prefix).values():
            gen, c = k.tree_key_parts(kv.key)
            chunk = present[gen][c] = Chunk.from_kv(kv)
            assert chunk.entries is not None
            sets = self._plan_sets(gen)
            for code in chunk.entries:
                if code:
                    trees += 1
                    records += len(sets[code - 1])
        for gen in plans:
            target_sets += len(self._plan_sets(gen))

        def gone(i: int, gen: int) -> bool:
            chunk = present.get(gen, {}).get(chunk_of(i))
            return chunk is None or chunk.set_of(i) is None

        dangling_aliases = dangling_rollbacks = 0
        for kv in controls.values():
            i = k.id_of(kv.key)
            alias, rollback = decode_alias(kv.value)
            dangling_aliases += bool(alias) and gone(i, alias)
            dangling_rollbacks += bool(rollback) and gone(i, rollback)
        return {
            "endpoints": count,
            "plans": len(plans),
            "trees": trees,
            "target_sets": target_sets,
            "records_live": records,
            **self._counters,
            "dangling_aliases": dangling_aliases,
            "dangling_rollbacks": dangling_rollbacks,
        }

    def counters(self) -> dict[str, int]:
        """This client's counters only (no scan)."""
        return dict(self._counters)

    def db_size(self) -> int:
        """Bytes of the current member's database file."""
        return int(self.client.status().dbSize)

    def __iter__(self) -> Iterator[str]:
        self._sync_names()
        return iter(list(self._names))
