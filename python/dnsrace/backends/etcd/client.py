"""A small synchronous etcd v3 client: Range, Txn, leases, status, with deadlines and failover.

Built on gRPC and the v3 protocol messages that the ``aetcd`` package ships (``aetcd.rpc``),
used synchronously: the simulator calls its store from plain functions, and gRPC futures give
pipelining (many Txns in flight) without an event loop. Why not the alternatives (and the
command that measures them): docs/guide/etcd.md.

Every request carries a deadline. A member that refuses or times out is left for the next one
in the list; when none answers, :class:`~dnsrace.errors.StoreUnavailable` says so. A Txn whose
answer was lost may or may not have been applied: :class:`Uncertain` carries that doubt to the
caller, which re-reads instead of guessing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc
from aetcd import rpc

from dnsrace.errors import StoreUnavailable

__all__ = ["EtcdClient", "Uncertain", "rpc"]

_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_OPTIONS = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
    # Fail fast on a dead member instead of waiting for a reconnect back-off.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class Uncertain(Exception):
    """A write's answer was lost (deadline or connection): it may or may not have applied."""


class LeaseNotFound(StoreUnavailable):
    """A Txn put a key on an etcd lease that no longer exists (it expired or was revoked, for
    instance while this process was stopped): etcd refused the whole Txn."""


def _failure(what: str, exc: grpc.RpcError) -> StoreUnavailable:
    """The typed error of a request etcd refused (not one to retry elsewhere)."""
    if exc.code() == grpc.StatusCode.NOT_FOUND and "lease not found" in (exc.details() or ""):
        return LeaseNotFound(f"etcd {what} failed: {_reason(exc)}")
    return StoreUnavailable(f"etcd {what} failed: {_reason(exc)}")


class EtcdClient:
    """Synchronous access to one etcd cluster.

    ``timeout_s`` bounds every request; ``inflight`` bounds the pipelined Txns of
    :meth:`txn_many`. Thread-safe: gRPC channels and stubs are, and the member choice is
    guarded by a lock.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        inflight: int = 64,
    ) -> None:
        if not endpoints:
            raise StoreUnavailable("no etcd endpoint given")
        self.endpoints = tuple(endpoints)
        self.timeout_s = timeout_s
        self.inflight = inflight
        self._lock = threading.Lock()
        self._channels = [grpc.insecure_channel(e, options=_OPTIONS) for e in self.endpoints]
        self._stubs = [rpc.KVStub(ch) for ch in self._channels]
        # Txn requests already encoded (see wire.py) go through as bytes.
        self._raw_txn = [
            ch.unary_unary(
                "/etcdserverpb.KV/Txn",
                request_serializer=None,
                response_deserializer=rpc.TxnResponse.FromString,
            )
            for ch in self._channels
        ]
        self._current = 0
        self._connect(connect_timeout_s)

    # ------------------------------------------------------------------ members

    def _connect(self, timeout_s: float) -> None:
        """Find a member that answers, within ``timeout_s`` per member."""
        errors = []
        for k, ch in enumerate(self._channels):
            try:
                rpc.MaintenanceStub(ch).Status(rpc.StatusRequest(), timeout=timeout_s)
            except grpc.RpcError as exc:
                errors.append(f"{self.endpoints[k]}: {_reason(exc)}")
                continue
            self._current = k
            return
        self.close()
        raise StoreUnavailable(
            f"no etcd member answered within {timeout_s:g} s ({'; '.join(errors)})"
        )

    def _kv(self) -> tuple[int, Any]:
        k = self._current
        return k, self._stubs[k]

    def _failed(self, k: int) -> None:
        """Member ``k`` did not answer: use the next one."""
        with self._lock:
            if self._current == k:
                self._current = (k + 1) % len(self._channels)

    def close(self) -> None:
        for ch in self._channels:
            ch.close()

    # ------------------------------------------------------------------ requests

    def _call(self, method: str, request: Any, *, idempotent: bool) -> Any:
        """One unary request; idempotent ones go round the members until one answers."""
        last: grpc.RpcError | None = None
        for _ in range(len(self._channels) * 2):
            k, kv = self._kv()
            try:
                return getattr(kv, method)(request, timeout=self.timeout_s)
            except grpc.RpcError as exc:
                if exc.code() not in _RETRYABLE:
                    raise _failure(method, exc) from None
                self._failed(k)
                last = exc
                if not idempotent:
                    raise Uncertain(f"etcd {method}: {_reason(exc)}") from None
        assert last is not None
        raise StoreUnavailable(
            f"no etcd member answered {method} ({', '.join(self.endpoints)}): {_reason(last)}"
        )

    def range(
        self,
        key: bytes,
        range_end: bytes = b"",
        *,
        revision: int = 0,
        keys_only: bool = False,
        limit: int = 0,
    ) -> Any:
        """A linearizable read (``revision``: as of that revision)."""
        return self._call(
            "Range",
            rpc.RangeRequest(
                key=key, range_end=range_end, revision=revision, keys_only=keys_only, limit=limit
            ),
            idempotent=True,
        )

    def range_all(
        self, key: bytes, range_end: bytes, *, revision: int = 0, page: int = 20_000
    ) -> Iterator[Any]:
        """Every key of a range, in pages, all as of one revision; yields KeyValues."""
        yield from self.range_all_at(key, range_end, revision=revision, page=page)[0]

    def range_all_at(
        self, key: bytes, range_end: bytes, *, revision: int = 0, page: int = 20_000
    ) -> tuple[list[Any], int]:
        """Every key of a range, in pages, all as of one revision (0: now), and that
        revision."""
        kvs: list[Any] = []
        start = key
        while True:
            resp = self.range(start, range_end, revision=revision, limit=page)
            # Later pages are read as of the first one's revision.
            revision = revision or int(resp.header.revision)
            kvs.extend(resp.kvs)
            if not resp.more or not resp.kvs:
                return kvs, revision
            start = resp.kvs[-1].key + b"\0"

    def txn(self, request: Any, *, idempotent: bool = False) -> Any:
        return self._call("Txn", request, idempotent=idempotent)

    def txn_many_raw(self, requests: Iterable[bytes]) -> list[Any]:
        """:meth:`txn_many` for requests already encoded as bytes, taken from ``requests`` as
        the window allows (a generator can still be encoding while the first are served).
        Writes: a lost answer raises :class:`Uncertain`, after every request was sent."""
        out: list[Any] = []
        window: deque[tuple[int, Any, int]] = deque()
        lost: list[int] = []
        sent = 0
        for pos, req in enumerate(requests):
            out.append(None)
            sent += 1
            k = self._current
            window.append((pos, self._raw_txn[k].future(req, timeout=self.timeout_s), k))
            if len(window) >= self.inflight:
                self._collect(window, out, lost)
        while window:
            self._collect(window, out, lost)
        if lost:
            raise Uncertain(f"{len(lost)} of {sent} Txns lost their answer")
        return out

    def _collect(
        self, window: deque[tuple[int, Any, int]], out: list[Any], lost: list[int]
    ) -> None:
        """The oldest Txn of ``window``'s answer into ``out``; a retryable failure marks its
        member failed and its position ``lost``, any other raises."""
        pos, fut, k = window.popleft()
        try:
            out[pos] = fut.result()
        except grpc.RpcError as exc:
            if exc.code() not in _RETRYABLE:
                raise _failure("Txn", exc) from None
            self._failed(k)
            lost.append(pos)

    def txn_many(self, requests: Iterable[Any], *, idempotent: bool = False) -> list[Any]:
        """Pipelined Txns, at most ``inflight`` at once; responses in request order. A failed
        one is retried alone (read-only ones anywhere; writes raise :class:`Uncertain` for the
        caller to re-read), after the others have been collected."""
        reqs = list(requests)
        out: list[Any] = [None] * len(reqs)
        window: deque[tuple[int, Any, int]] = deque()
        redo: list[int] = []
        for pos, req in enumerate(reqs):
            k, kv = self._kv()
            window.append((pos, kv.Txn.future(req, timeout=self.timeout_s), k))
            if len(window) >= self.inflight:
                self._collect(window, out, redo)
        while window:
            self._collect(window, out, redo)
        if redo and not idempotent:
            raise Uncertain(f"{len(redo)} of {len(reqs)} Txns lost their answer")
        for pos in redo:
            out[pos] = self.txn(reqs[pos], idempotent=True)
        return out

    # ------------------------------------------------------------------ leases

    def lease_grant(self, ttl_s: int) -> int:
        resp = self._lease_call("LeaseGrant", rpc.LeaseGrantRequest(TTL=ttl_s))
        if resp.error:
            raise StoreUnavailable(f"etcd refused a lease: {resp.error}")
        return int(resp.ID)

    def lease_revoke(self, lease_id: int) -> None:
        try:
            self._lease_call("LeaseRevoke", rpc.LeaseRevokeRequest(ID=lease_id))
        except StoreUnavailable as exc:
            if "not found" not in str(exc):
                raise

    def lease_keepalive(self, lease_id: int) -> int:
        """One keep-alive round; the new TTL in seconds (0: the lease is gone)."""
        for _ in range(len(self._channels) * 2):
            k, _kv = self._kv()
            stub = rpc.LeaseStub(self._channels[k])
            try:
                replies = stub.LeaseKeepAlive(
                    iter([rpc.LeaseKeepAliveRequest(ID=lease_id)]), timeout=self.timeout_s
                )
                for reply in replies:
                    return int(reply.TTL)
                return 0
            except grpc.RpcError as exc:
                if exc.code() not in _RETRYABLE:
                    raise StoreUnavailable(f"etcd keep-alive failed: {_reason(exc)}") from None
                self._failed(k)
        raise StoreUnavailable("no etcd member answered a keep-alive")

    def _lease_call(self, method: str, request: Any) -> Any:
        for _ in range(len(self._channels) * 2):
            k, _kv = self._kv()
            stub = rpc.LeaseStub(self._channels[k])
            try:
                return getattr(stub, method)(request, timeout=self.timeout_s)
            except grpc.RpcError as exc:
                if exc.code() not in _RETRYABLE:
                    raise StoreUnavailable(f"etcd {method} failed: {_reason(exc)}") from None
                self._failed(k)
        raise StoreUnavailable(f"no etcd member answered {method}")

    # ------------------------------------------------------------------ maintenance

    def status(self, endpoint: int | None = None) -> Any:
        """A member's status (database size, leader, revision)."""
        k = self._current if endpoint is None else endpoint
        try:
            return rpc.MaintenanceStub(self._channels[k]).Status(
                rpc.StatusRequest(), timeout=self.timeout_s
            )
        except grpc.RpcError as exc:
            raise StoreUnavailable(
                f"etcd member {self.endpoints[k]} did not answer: {_reason(exc)}"
            ) from None

    def compact_and_defragment(self) -> None:
        """Drop old revisions and give their space back, on every member (for size figures)."""
        rev = self.range(b"\0", limit=1, keys_only=True).header.revision
        try:
            # Physical compaction answers once done: minutes on a large database.
            rpc.KVStub(self._channels[self._current]).Compact(
                rpc.CompactionRequest(revision=rev, physical=True), timeout=600
            )
        except grpc.RpcError as exc:
            if "compacted" not in _reason(exc):  # already compacted that far: nothing to drop
                raise StoreUnavailable(f"etcd Compact failed: {_reason(exc)}") from None
        for ch in self._channels:
            rpc.MaintenanceStub(ch).Defragment(rpc.DefragmentRequest(), timeout=120)


def _reason(exc: grpc.RpcError) -> str:
    code = exc.code()
    detail = exc.details() or ""
    name = code.name.lower() if code is not None else "error"
    return f"{name}: {detail}" if detail else name
