"""Flips in etcd: ``flip_many``'s arguments checked, then round by round: read, decide every
endpoint on what was read, send the decisions as Txns whose compares say "what I read is
still so", confirm them, and read and decide again the endpoints that conflicted."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dnsrace import _rules as rules
from dnsrace._front import FlipMany, FlipOne
from dnsrace._types import FlipCounts, FlipResult, Outcome
from dnsrace.backends.etcd import wire
from dnsrace.backends.etcd.client import Uncertain
from dnsrace.backends.etcd.keys import TREES_PER_CHUNK, Keys, decode_u64, u64
from dnsrace.backends.etcd.namespace import EtcdNamespace, Record, View
from dnsrace.backends.etcd.ops import MAX_ROUNDS, repetition_rounds
from dnsrace.backends.etcd.trees import Chunk
from dnsrace.errors import (
    DanglingAlias,
    StoreUnavailable,
    UnknownPlan,
)

__all__ = ["flip", "flip_many"]

ChunkKey = tuple[int, int]
"""A tree chunk by (generation, chunk number)."""

Decision = tuple[int, int, int, tuple[ChunkKey, ...], bytes, bytes, int, bytes, bytes]
"""One endpoint's decision: position, outcome (``LANDED``: our lost write did land), alias
before, chunk keys read, own compares, writes, revision of the control record read; for an
applied one, the control record's key and the value written. A plain tuple: one is built per
endpoint and flip, on the path whose speed the etcd benchmark measures."""

LANDED = -1
"""Outcome of a write of ours whose answer was lost and that, read again, did land: applied."""

_APPLIED, _STALE, _FENCED, _MISSING, _DANGLING = (
    Outcome.APPLIED,
    Outcome.OUTDATED,
    Outcome.FENCED,
    Outcome.MISSING,
    Outcome.DANGLING,
)
_U32 = struct.Struct(">I")
_ALIAS = struct.Struct(">QQ")
_NO_ENTRIES = (0,) * TREES_PER_CHUNK


@dataclass
class _Batch:
    """One ``flip_many`` call, its arguments checked, and where its answers go."""

    ids: list[int]
    gen: int
    mode: str
    expected: list[int] | None
    fences: list[int] | None
    rollback: bool
    codes: bytearray
    previous: list[int]


def flip_many(store: EtcdNamespace, call: FlipMany) -> FlipCounts | FlipResult[Any]:
    endpoints, generation, mode, expected_versions, fence, rollback, outcomes = call
    gen, code, output = rules.flip_call(generation, mode, rollback, outcomes, expected_versions)
    ids = store._ids_of(endpoints)
    n = len(ids)
    expected, single, fences = rules.flip_values(code, n, expected_versions, fence)
    if single is not None:
        fences = [single] * n
    batch = _Batch(ids, gen, mode, expected, fences, rollback, bytearray(n), [0] * n)
    for positions in repetition_rounds(ids, distinct=endpoints is None):
        _flip_round(store, batch, positions, everything=endpoints is None and n > 1000)
    counts = FlipCounts(*(batch.codes.count(c) for c in range(5)))
    if output is None:
        return counts
    return FlipResult(
        counts,
        rules.typed_array(list(batch.codes), "B", "uint8", output),
        rules.typed_array(batch.previous, "Q", "uint64", output),
    )


def flip(store: EtcdNamespace, call: FlipOne) -> bool:
    endpoint, generation, mode, expected_version, fence, rollback = call
    expected = None if expected_version is None else [expected_version]
    token = None if fence is None else rules.token(fence, "fence")
    res = flip_many(
        store, FlipMany([endpoint], generation, mode, expected, token, rollback, outcomes=True)
    )
    assert isinstance(res, FlipResult)
    name = store._names[store._id_of(endpoint)]
    if res.outcomes[0] == Outcome.MISSING:
        raise UnknownPlan(f"no tree of generation {generation} for endpoint {name}")
    if res.outcomes[0] == Outcome.DANGLING:
        raise DanglingAlias(
            f"endpoint {name!r}: the active tree is gone (generation {res.previous[0]}), "
            "the rollback cannot be recorded; flip with rollback=False to repair"
        )
    return bool(res.outcomes[0] == Outcome.APPLIED)


def _flip_round(
    store: EtcdNamespace, batch: _Batch, positions: list[int], *, everything: bool
) -> None:
    """Decide each endpoint on what was read, then confirm every decision with a Txn.

    Groups of ``txn_ops`` endpoints go as one Txn whose compares are all of theirs (the
    usual case: nothing changed, one step for the group). A group whose Txn failed goes
    again as one nested Txn per endpoint, so each endpoint is confirmed or refused on its
    own; endpoints whose own Txn failed are read and decided again.
    """
    pending = positions
    # Positions whose write lost its answer: (the value it wrote, the revision before, the
    # alias before).
    doubtful: dict[int, tuple[bytes, int, int]] = {}
    for _ in range(MAX_ROUNDS):
        if not pending:
            return
        pending = _flip_attempt(store, batch, pending, doubtful, everything)
        everything = False
    raise StoreUnavailable(
        f"{len(pending)} flips kept conflicting with concurrent writers; giving up"
    )


def _flip_attempt(
    store: EtcdNamespace,
    batch: _Batch,
    pending: list[int],
    doubtful: dict[int, tuple[bytes, int, int]],
    everything: bool,
) -> list[int]:
    """One round of :func:`_flip_round`: the positions to read and decide again."""
    pend_ids = [batch.ids[p] for p in pending]
    view, kvs, chunks = _read_for_flip(store, pend_ids, batch.fences, everything)
    decider = _Decider(store.keys, batch, kvs, chunks, doubtful)
    txns = _GroupedTxns(store.keys, chunks)
    decisions: list[Decision] = []
    per_endpoint = 1 if batch.fences is None else 2  # compares (and puts) of its own
    requests = _decide_and_encode(
        decider, txns, pending, pend_ids, decisions, store.txn_ops, per_endpoint
    )
    try:
        responses = store.client.txn_many_raw(requests)
        # A group where something changed: each endpoint on its own, one nested Txn each, in
        # one request per group.
        split = [g for g, r in zip(txns.groups, responses, strict=True) if not r.succeeded]
        nested = [txns.nested(group) for group in split]
        nested_responses = iter(store.client.txn_many_raw(nested) if nested else [])
    except Uncertain:
        # Read the whole round again; `doubtful` recognises our own landed writes by the value
        # they wrote and a revision above the one read.
        for d in decisions:
            if d[1] == _APPLIED:
                doubtful[d[0]] = (d[8], d[6], d[2])
        return [d[0] for d in decisions]
    if view is not None and len(responses) == len(txns.groups) and not split:
        _keep_view(store, view, txns.groups, txns.writes, responses)
    retry: list[int] = []
    done: list[Decision] = [d for d in decisions if d[1] < 0]
    for group, resp in zip(txns.groups, responses, strict=True):
        if resp.succeeded:
            done += group
            continue
        oks = [op.response_txn.succeeded for op in next(nested_responses).responses]
        for d, ok in zip(group, oks, strict=True):
            if ok:
                done.append(d)
            else:
                retry.append(d[0])
    _count_many(store, done, batch)
    return retry


def _read_for_flip(
    store: EtcdNamespace, pend_ids: list[int], fences: list[int] | None, everything: bool
) -> tuple[View | None, dict[bytes, Any], dict[ChunkKey, Chunk]]:
    """What an attempt decides on: the control records (and fence keys) and tree chunks.

    A whole-fleet batch reads every record first, unless the view kept from the last one is
    provably what that read would return (see ``View``); it returns the view it decides on,
    to be kept if the batch shows nobody else wrote.
    """
    keep = everything and fences is None
    view = store._current_view() if keep else None
    store._view = None
    if view is not None:
        return view, view.kvs, view.chunks
    kvs, chunks, revision = store._state(pend_ids, fences=fences is not None, everything=everything)
    return (View(kvs, chunks, revision) if keep else None), kvs, chunks


def _decide_and_encode(
    decider: _Decider,
    txns: _GroupedTxns,
    pending: list[int],
    pend_ids: list[int],
    decisions: list[Decision],
    step: int,
    per_endpoint: int,
) -> Iterator[bytes]:
    """Decide and encode group by group, so that etcd works on the first groups while the
    next ones are being decided; every decision also goes to ``decisions``."""
    decide = decider.decide
    group: list[Decision] = []
    shared: dict[ChunkKey, None] = {}
    size = 0
    for pos, i in zip(pending, pend_ids, strict=True):
        d = decide(pos, i)
        decisions.append(d)
        if d[1] == LANDED:
            continue  # nothing to confirm
        group.append(d)
        for key in d[3]:
            shared[key] = None
        # etcd bounds compares and puts per Txn (--max-txn-ops): close the group before the
        # next endpoint (at most a fence and a record compare, two chunks and two puts) could
        # pass it.
        size += per_endpoint
        if size + len(shared) + 4 > step:
            yield txns.flat(group, shared)
            group, shared, size = [], {}, 0
    if group:
        yield txns.flat(group, shared)


class _Decider:
    """Decides one endpoint at a time on what was read: its outcome, the compares it rests on
    and its writes. Consecutive endpoints mostly share their chunk and active plan: the
    entries of those two trees are kept at hand."""

    __slots__ = (
        "active",
        "active_entries",
        "alias_prefix",
        "chunks",
        "doubtful",
        "exact",
        "expected",
        "fences",
        "gen",
        "if_newer",
        "keys",
        "kvs",
        "last_chunk",
        "record_compare",
        "record_put",
        "rollback",
        "target",
        "target_entries",
    )

    def __init__(
        self,
        keys: Keys,
        batch: _Batch,
        kvs: dict[bytes, Any],
        chunks: dict[ChunkKey, Chunk],
        doubtful: dict[int, tuple[bytes, int, int]],
    ) -> None:
        self.keys = keys
        self.kvs = kvs
        self.chunks = chunks
        self.doubtful = doubtful
        self.gen = batch.gen
        self.expected = batch.expected
        self.fences = batch.fences
        self.rollback = batch.rollback
        self.if_newer, self.exact = batch.mode == "if_newer", batch.mode == "exact"
        self.alias_prefix = keys.alias_prefix
        # The usual compare and put of a control record (fixed-width key, 16-byte value) as
        # one format each: what wire.compare_value and wire.op_put write, without the calls.
        self.record_compare, self.record_put = wire.record_formats(
            len(keys.alias_prefix) + _U32.size, _ALIAS.size
        )
        self.last_chunk = -1
        self.target: ChunkKey = (batch.gen, 0)
        self.target_entries: Sequence[int] = _NO_ENTRIES
        self.active: ChunkKey = (0, -1)
        self.active_entries: Sequence[int] = _NO_ENTRIES

    def _entries_of(self, key: ChunkKey) -> Sequence[int]:
        tree = self.chunks.get(key)
        return _NO_ENTRIES if tree is None or tree.entries is None else tree.entries

    def decide(self, pos: int, i: int) -> Decision:
        """The decision for position ``pos``, endpoint ``i``."""
        akey = self.alias_prefix + _U32.pack(i)
        a_kv = self.kvs.get(akey)
        if a_kv is None:
            raise StoreUnavailable(f"control record of endpoint {i} is missing")
        value_now = a_kv.value
        alias = _ALIAS.unpack(value_now)[0]
        rev = a_kv.mod_revision
        if self.doubtful:
            seen = self.doubtful.pop(pos, None)
            if seen is not None and value_now == seen[0] and rev > seen[1]:
                return (pos, LANDED, seen[2], (), b"", b"", rev, b"", b"")
        c, j = divmod(i, TREES_PER_CHUNK)
        if c != self.last_chunk:
            self.last_chunk = c
            self.target = (self.gen, c)
            self.target_entries = self._entries_of(self.target)
        target = self.target
        if not self.target_entries[j]:
            return (pos, _MISSING, alias, (target,), b"", b"", rev, b"", b"")
        own = b""
        fence = None
        highest = 0
        if self.fences is not None:
            fence = self.fences[pos]
            fkey = self.keys.fence(i)
            f_kv = self.kvs.get(fkey)
            highest = decode_u64(f_kv.value) if f_kv is not None else 0
            own = wire.compare_mod(fkey, int(f_kv.mod_revision) if f_kv else 0)
        # What the decision rests on, and the mode's condition, in one compare per record
        # (each compare costs etcd a lookup: two per endpoint cost it 40 % more CPU than one).
        # `exact`: the revision read, which it requires to be the expected one. Otherwise the
        # record's bytes as read: its big-endian generation, below `gen` for an `if_newer`
        # write, and the rollback the write records.
        if self.exact:
            own += wire.compare_mod(akey, rev)
        elif self.record_compare is not None:
            own += self.record_compare % (akey, value_now)
        else:
            own += wire.compare_value(akey, value_now, wire.EQUAL)
        gen = self.gen
        # 0: the sentinel of a refused lease (batch fences only): never held.
        if fence is not None and (fence < highest or fence == 0):
            return (pos, _FENCED, alias, (target,), own, b"", rev, b"", b"")
        if (self.if_newer and gen <= alias) or (
            self.exact and self.expected is not None and self.expected[pos] != rev
        ):
            return (pos, _STALE, alias, (target,), own, b"", rev, b"", b"")
        if not (alias and self.rollback):
            value = _ALIAS.pack(gen, 0)
            writes = self._writes(i, akey, value, fence, highest)
            return (pos, _APPLIED, alias, (target,), own, writes, rev, akey, value)
        if alias != self.active[0] or c != self.active[1]:
            self.active = (alias, c)
            self.active_entries = self._entries_of(self.active)
        read = (target, self.active)
        if not self.active_entries[j]:
            return (pos, _DANGLING, alias, read, own, b"", rev, b"", b"")
        value = _ALIAS.pack(gen, alias)
        writes = self._writes(i, akey, value, fence, highest)
        return (pos, _APPLIED, alias, read, own, writes, rev, akey, value)

    def _writes(self, i: int, akey: bytes, value: bytes, fence: int | None, highest: int) -> bytes:
        """The puts of an applied flip: the control record, and a fence above the highest."""
        put = self.record_put
        writes = put % (akey, value) if put else wire.op_put(akey, value)
        if fence is not None and fence > highest:
            writes += wire.op_put(self.keys.fence(i), u64(fence))
        return writes


class _GroupedTxns:
    """The Txns of one attempt, group by group: each group's flat Txn (the compares of the
    tree chunks its decisions read, once each, then their own compares and their writes),
    and, for a group whose Txn failed, one nested Txn per decision."""

    def __init__(self, keys: Keys, chunks: dict[ChunkKey, Chunk]) -> None:
        self.keys = keys
        self.chunk_compares = {
            key: wire.compare_mod(keys.trees(*key), chunk.mod_revision)
            for key, chunk in chunks.items()
        }
        self.groups: list[list[Decision]] = []
        self.writes: list[bool] = []  # per group: whether its Txn writes anything

    def _chunk_compare(self, key: ChunkKey) -> bytes:
        found = self.chunk_compares.get(key)
        if found is None:  # absent: compared as absent (mod_revision 0)
            found = self.chunk_compares[key] = wire.compare_mod(self.keys.trees(*key), 0)
        return found

    def flat(self, group: list[Decision], shared: dict[ChunkKey, None]) -> bytes:
        """A group of decisions as one flat Txn (``shared``: the chunks they read)."""
        self.groups.append(group)
        writes = b"".join([d[5] for d in group])
        self.writes.append(bool(writes))
        return wire.txn(
            b"".join([self._chunk_compare(c) for c in shared]),
            b"".join([d[4] for d in group]),
            writes,
        )

    def nested(self, group: list[Decision]) -> bytes:
        """A group again, each decision as a nested Txn of its own."""
        return wire.txn(
            *(
                wire.op_txn(b"".join(self._chunk_compare(c) for c in d[3]) + d[4], d[5])
                for d in group
            )
        )


def _keep_view(
    store: EtcdNamespace,
    view: View,
    groups: Sequence[Sequence[Decision]],
    group_writes: Sequence[bool],
    responses: Sequence[Any],
) -> None:
    """Fold a batch's writes into the view it decided on and keep it, if the batch's writing
    Txns took exactly the revisions after the view's: then nobody else wrote in between, and
    the view is the namespace as it now is."""
    writes = [
        (group, int(resp.header.revision))
        for group, wrote, resp in zip(groups, group_writes, responses, strict=True)
        if wrote
    ]
    revisions = sorted(rev for _, rev in writes)
    if revisions != list(range(view.revision + 1, view.revision + 1 + len(revisions))):
        return
    kvs = view.kvs
    for group, rev in writes:
        for d in group:
            if d[1] == _APPLIED:
                kvs[d[7]] = Record(d[8], rev)
    if revisions:
        view.revision = revisions[-1]
    store._view = view


def _count_many(store: EtcdNamespace, done: Sequence[Decision], batch: _Batch) -> None:
    """Record confirmed decisions in the batch's answers and count them in the counters."""
    codes, previous, gen = batch.codes, batch.previous, batch.gen
    tally = [0] * 5
    stale_flips = 0
    for d in done:
        pos, code, alias = d[0], d[1], d[2]
        if code == LANDED:
            code = _APPLIED
        codes[pos] = code
        previous[pos] = alias
        tally[code] += 1
        if code == _APPLIED and gen < alias:
            stale_flips += 1
    c = store._counters
    c["flips_applied"] += tally[Outcome.APPLIED]
    c["stale_flips"] += stale_flips
    c["outdated_rejections"] += tally[Outcome.OUTDATED]
    c["fenced_rejections"] += tally[Outcome.FENCED]
    c["missing_rejections"] += tally[Outcome.MISSING]
    c["dangling_rejections"] += tally[Outcome.DANGLING]
