"""``EtcdStore`` as a peer, on one loopback etcd member (``LocalCluster``) started for the
run and stopped by PID. Its calls are the ``RecordStore`` API; its bytes are the growth of
etcd's database (compacted and defragmented) from the empty namespace."""

from __future__ import annotations

from typing import Any

from bench.suite.peers.base import PeerUnavailable
from bench.suite.peers.embedded import ApiPeer


class EtcdPeer(ApiPeer):
    def __init__(self) -> None:
        from dnsrace.backends.etcd.local import LocalCluster, etcd_binary
        from dnsrace.errors import StoreUnavailable

        if etcd_binary() is None:
            raise PeerUnavailable("etcd not found (make etcd installs Debian's etcd-server)")
        try:
            import dnsrace.backends.etcd as etcd_backend
            from dnsrace.reference import Plan
        except ImportError as exc:
            raise PeerUnavailable(f"EtcdStore cannot be imported: {exc}") from None
        self.cluster: Any = LocalCluster(1)
        try:
            self.cluster.start()
            store = etcd_backend.EtcdStore(f"{self.cluster.url}/bench", reset=True)
        except StoreUnavailable as exc:
            self.cluster.stop()
            raise PeerUnavailable(f"etcd did not start: {exc}") from None
        super().__init__("EtcdStore", store, Plan, in_process=False)

    def _db_size(self) -> int:
        self.store.client.compact_and_defragment()
        return int(self.store.db_size())

    def load(self, n: int) -> None:
        empty = self._db_size()
        super().load(n)
        self._base = empty

    def used_bytes(self) -> int:
        return self._db_size() - self._base

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.cluster.stop()
