"""The peers by name, in report order; each is created fresh for one size."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from bench.suite.peers.base import Peer

_FACTORIES: dict[str, tuple[str, str]] = {
    "RecordStore": ("embedded", "record_store"),
    "numpy": ("numpy_store", "NumpyPeer"),
    "PyRecordStore": ("embedded", "py_record_store"),
    "Redis": ("redis", "RedisChunkPeer"),
    "Redis per-key pipelined": ("redis", "RedisPeer"),
    "EtcdStore": ("etcd", "EtcdPeer"),
}
"""Each peer's module in ``bench.suite.peers`` and the callable there that makes it; a module
is imported only when its peer is asked for (Redis, etcd and numpy are optional)."""

PEERS: tuple[str, ...] = tuple(_FACTORIES)
REFERENCE = "RecordStore"
"""Every ratio of the report is against this peer, measured in the same run."""


def factory(name: str) -> Callable[[], Peer]:
    module, attr = _FACTORIES[name]
    found = getattr(importlib.import_module(f"bench.suite.peers.{module}"), attr)
    return cast("Callable[[], Peer]", found)


def fast(name: str) -> bool:
    """In-process peers: cheap enough for several rounds and many single calls."""
    return name in ("RecordStore", "numpy", "PyRecordStore")
