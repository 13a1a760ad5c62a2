"""The peers by name, in report order; each is created fresh for one size."""

from __future__ import annotations

from collections.abc import Callable

from bench.suite.peers.base import Peer

PEERS: tuple[str, ...] = (
    "RecordStore",
    "numpy",
    "PyRecordStore",
    "Redis",
    "Redis per-key pipelined",
    "EtcdStore",
)
REFERENCE = "RecordStore"
"""Every ratio of the report is against this peer, measured in the same run."""


def factory(name: str) -> Callable[[], Peer]:
    if name == "RecordStore":
        from bench.suite.peers.embedded import record_store

        return record_store
    if name == "PyRecordStore":
        from bench.suite.peers.embedded import py_record_store

        return py_record_store
    if name == "numpy":
        from bench.suite.peers.numpy_store import NumpyPeer

        return NumpyPeer
    if name == "Redis":
        from bench.suite.peers.redis import RedisChunkPeer

        return RedisChunkPeer
    if name == "Redis per-key pipelined":
        from bench.suite.peers.redis import RedisPeer

        return RedisPeer
    if name == "EtcdStore":
        from bench.suite.peers.etcd import EtcdPeer

        return EtcdPeer
    raise KeyError(name)


def fast(name: str) -> bool:
    """In-process peers: cheap enough for several rounds and many single calls."""
    return name in ("RecordStore", "numpy", "PyRecordStore")
