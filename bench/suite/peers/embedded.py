"""The stores with the ``RecordStore`` API: the Rust core, the pure-Python reference, and
``EtcdStore`` (whose calls are the same; only the bytes are counted differently)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Sequence
from typing import Any

from bench.suite.peers.base import (
    HOLDER,
    TTL_S,
    LeaseClock,
    LeaseOp,
    Mode,
    fleet_plans,
    group_of,
    next_fence,
)
from dnsrace.sim.workload import endpoint_name


def rss_bytes() -> int:
    """Resident bytes of this process, allocator caches handed back first."""
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: the figure includes the allocator's cache
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class ApiPeer:
    """A store with ``dnsrace.RecordStore``'s calls; ``store`` is created empty."""

    def __init__(
        self, name: str, store: Any, plan_cls: Any, *, in_process: bool, arrays: bool = False
    ) -> None:
        self.name = name
        self.store = store
        self.plan_cls = plan_cls
        self.in_process = in_process
        self.n = 0
        self._base = 0
        self._versions: Sequence[int] | None = None
        self._fence = next_fence()
        self._tokens: dict[int, int] = {}
        self._clock = LeaseClock()
        # numpy arrays in and out where the store takes and gives them (RecordStore): ids
        # converted untimed, as a simulation keeps its id arrays.
        self.arrays = arrays
        self._id_arrays: dict[int, Any] = {}
        self._token_array: Any = None

    def load(self, n: int) -> None:
        self._base = rss_bytes() if self.in_process else 0
        for start in range(0, n, 50_000):
            self.store.add_endpoints(
                [endpoint_name(i) for i in range(start, min(n, start + 50_000))]
            )
        ids = range(n)
        index = [group_of(i) for i in ids]
        for g, sets in fleet_plans():
            self.store.put_plan(self.plan_cls.from_shared(g, sets, ids, index))
        self.store.flip_many(None, 1, "lww")
        self.n = n

    def prepare(self, ids: Sequence[int] | None, mode: Mode) -> None:
        self._versions = self.store.versions(ids, output="array") if mode == "exact" else None
        self._fence = next_fence()

    def flip_batch(self, ids: Sequence[int] | None, mode: Mode, generation: int) -> int:
        if mode == "exact":
            counts = self.store.flip_many(
                ids, generation, "exact", expected_versions=self._versions
            )
        elif mode == "fenced":
            counts = self.store.flip_many(ids, generation, "lww", fence=self._fence)
        else:
            counts = self.store.flip_many(ids, generation, mode)
        return int(counts.applied)

    def flip_single(self, ids: Sequence[int], mode: Mode, generation: int) -> int:
        flip = self.store.flip
        applied = 0
        if mode == "exact":
            versions = self._versions
            assert versions is not None
            for i, v in zip(ids, versions, strict=True):
                applied += flip(i, generation, "exact", expected_version=v)
        elif mode == "fenced":
            fence = self._fence
            for i in ids:
                applied += flip(i, generation, "lww", fence=fence)
        else:
            for i in ids:
                applied += flip(i, generation, mode)
        return applied

    def _array(self, ids: Sequence[int]) -> Any:
        import numpy as np

        arr = self._id_arrays.get(id(ids))
        if arr is None or len(arr) != len(ids):
            arr = np.asarray(ids, dtype=np.uint32)
            self._id_arrays = {id(ids): arr}
        return arr

    def read_batch(self, ids: Sequence[int] | None) -> int | None:
        if not self.arrays:
            return None
        arg = None if ids is None else self._array(ids)
        return len(self.store.aliases(arg, output="numpy"))

    def lease_batch(self, ids: Sequence[int], op: LeaseOp) -> int | None:
        if self.arrays:
            return self._lease_batch_arrays(ids, op)
        s = self.store
        if op == "acquire":
            tokens = s.acquire_leases(ids, HOLDER, TTL_S, self._clock.acquire_round())
            self._tokens = {i: t for i, t in zip(ids, tokens, strict=True) if t is not None}
            return len(self._tokens)
        if op == "release":
            return int(s.release_leases(ids, HOLDER, [self._tokens[i] for i in ids]))
        return None  # no batch renew in the RecordStore API

    def _lease_batch_arrays(self, ids: Sequence[int], op: LeaseOp) -> int | None:
        """Batch leases with numpy ids and tokens where the binding offers them: tokens as an
        array (``output="numpy"``, 0 = refused) and ``renew_leases`` when present; otherwise
        the list the binding returns (its conversion is then part of the call)."""
        import numpy as np

        s, arr = self.store, self._array(ids)
        if op == "acquire":
            now = self._clock.acquire_round()
            try:
                tokens = s.acquire_leases(arr, HOLDER, TTL_S, now, output="numpy")
            except TypeError:  # a binding without output=
                tokens = s.acquire_leases(arr, HOLDER, TTL_S, now)
                self._token_array = tokens
                return sum(t is not None for t in tokens)
            self._token_array = tokens
            return int(np.count_nonzero(tokens))
        if op == "renew":
            renew = getattr(s, "renew_leases", None)
            if renew is None:
                return None
            now = self._clock.renew_time()
            try:
                done = renew(arr, HOLDER, self._token_array, TTL_S, now, output="numpy")
            except TypeError:  # a binding without output=
                done = renew(arr, HOLDER, self._token_array, TTL_S, now)
            return int(done if isinstance(done, int) else np.count_nonzero(done))
        return int(s.release_leases(arr, HOLDER, self._token_array))

    def lease_single(self, ids: Sequence[int], op: LeaseOp) -> int:
        s, done = self.store, 0
        if op == "acquire":
            now = self._clock.acquire_round()
            for i in ids:
                self._tokens[i] = s.acquire_lease(i, HOLDER, TTL_S, now)
                done += 1
        elif op == "renew":
            now = self._clock.renew_time()
            for i in ids:
                s.renew_lease(i, HOLDER, self._tokens[i], TTL_S, now)
                done += 1
        else:
            for i in ids:
                s.release_lease(i, HOLDER, self._tokens[i])
                done += 1
        return done

    def used_bytes(self) -> int:
        return rss_bytes() - self._base

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def record_store() -> ApiPeer:
    import dnsrace

    return ApiPeer("RecordStore", dnsrace.RecordStore(), dnsrace.Plan, in_process=True, arrays=True)


def py_record_store() -> ApiPeer:
    from dnsrace.reference import Plan, PyRecordStore

    return ApiPeer("PyRecordStore", PyRecordStore(), Plan, in_process=True)
