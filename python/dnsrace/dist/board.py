"""The plan board in etcd: newest generation, applied marker, automation switch, start time.

The same interface as :class:`dnsrace.sim.planner.PlanBoard`, read from the store at each use,
so planner and enactors in different processes (or hosts) see one board. Waiting polls.
"""

from __future__ import annotations

import asyncio
import time

from dnsrace.backends.etcd import EtcdStore
from dnsrace.backends.etcd.client import rpc
from dnsrace.backends.etcd.keys import decode_u64, u64
from dnsrace.sim.planner import PlanBoard

__all__ = ["EtcdBoard"]

POLL_S = 0.02


class _RisingGeneration:
    """A generation of the board (``newest``, ``applied``) read from its key at each use; a
    write only ever raises it, in one compare-and-swap loop (:meth:`EtcdBoard._raise_to`)."""

    def __init__(self, name: bytes) -> None:
        self._name = name

    def __get__(self, board: EtcdBoard, owner: object = None) -> int:
        return decode_u64(board._get(board._base + self._name) or b"")

    def __set__(self, board: EtcdBoard, value: int) -> None:
        board._raise_to(board._base + self._name, value)


class EtcdBoard(PlanBoard):
    """A :class:`PlanBoard` whose state lives under the store's ``board/`` keys."""

    def __init__(self, store: EtcdStore, poll_s: float = POLL_S) -> None:
        # No super().__init__(): the state is in etcd, not in attributes.
        self._client = store.client
        base = store.keys.prefix + b"board/"
        self._base = base
        self._paused = base + b"paused"
        self._started = base + b"started"
        self.published_at: dict[int, float] = {}
        self.poll_s = poll_s

    def _get(self, key: bytes) -> bytes | None:
        kvs = self._client.range(key).kvs
        return bytes(kvs[0].value) if kvs else None

    def _raise_to(self, key: bytes, value: int) -> None:
        """Set ``key`` to ``max(current, value)`` in one compare-and-swap loop."""
        while True:
            kvs = self._client.range(key).kvs
            rev = int(kvs[0].mod_revision) if kvs else 0
            if kvs and decode_u64(kvs[0].value) >= value:
                return
            done = self._client.txn(
                rpc.TxnRequest(
                    compare=[
                        rpc.Compare(
                            result=rpc.Compare.EQUAL,
                            target=rpc.Compare.MOD,
                            key=key,
                            mod_revision=rev,
                        )
                    ],
                    success=[rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=u64(value)))],
                ),
                idempotent=True,
            )
            if done.succeeded:
                return

    newest = _RisingGeneration(b"newest")
    applied = _RisingGeneration(b"applied")

    @property
    def automation_on(self) -> bool:
        return self._get(self._paused) is None

    @automation_on.setter
    def automation_on(self, value: bool) -> None:
        if value:
            self.resume_automation()
        else:
            self.pause_automation()

    def pause_automation(self) -> None:
        self._client.txn(
            rpc.TxnRequest(
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=self._paused, value=b"1"))]
            ),
            idempotent=True,
        )

    def resume_automation(self) -> None:
        self._client.txn(
            rpc.TxnRequest(
                success=[
                    rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=self._paused))
                ]
            ),
            idempotent=True,
        )

    async def wait_automation(self) -> None:
        while not self.automation_on:
            await asyncio.sleep(self.poll_s)

    def publish(self, generation: int, now: float) -> None:
        self.newest = generation  # raised, never lowered (_RisingGeneration)
        self.published_at[generation] = now

    def mark_applied(self, generation: int) -> None:
        self.applied = generation  # raised, never lowered

    async def wait_newer(self, than: int) -> int:
        while True:
            newest = self.newest
            if newest > than:
                return newest
            await asyncio.sleep(self.poll_s)

    # ------------------------------------------------------------------ the run's clock

    def start_clock(self) -> float:
        """Write the run's start (Unix time; hosts of one run need synchronised clocks)."""
        epoch = time.time()
        self._client.txn(
            rpc.TxnRequest(
                success=[
                    rpc.RequestOp(
                        request_put=rpc.PutRequest(key=self._started, value=repr(epoch).encode())
                    )
                ]
            ),
            idempotent=True,
        )
        return epoch

    def started(self) -> float | None:
        """The run's start, once the planner has set the fleet up."""
        value = self._get(self._started)
        return float(value) if value is not None else None
