"""Plan trees in etcd: target sets stored once per plan, endpoints' choices in 1 KiB chunks.

A plan of N endpoints costs ``ceil(N / TREES_PER_CHUNK)`` chunk keys plus its distinct target
sets (a few parts), not one key per endpoint or per record. A flip compares the
``mod_revision`` of the one chunk that holds its endpoint, so a clean-up that deletes or
rewrites the chunk in between makes the flip look again instead of writing over a gone tree.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import orjson

from dnsrace._types import Answer
from dnsrace.backends.etcd.keys import TREES_PER_CHUNK, decode_tree_chunk

__all__ = ["SETS_PART_BYTES", "Chunk", "chunk_of", "decode_sets", "encode_sets"]

SETS_PART_BYTES = 512 * 1024
"""Target-set parts stay well under etcd's default 1.5 MiB request limit."""


def chunk_of(endpoint: int) -> int:
    return endpoint // TREES_PER_CHUNK


@dataclass
class Chunk:
    """One tree chunk as read: its entries (set index + 1, 0 = none) and ``mod_revision``
    (0 = the key does not exist)."""

    entries: array[int] | None
    mod_revision: int

    @staticmethod
    def from_kv(kv: Any | None) -> Chunk:
        if kv is None:
            return Chunk(None, 0)
        return Chunk(decode_tree_chunk(kv.value), int(kv.mod_revision))

    def set_of(self, endpoint: int) -> int | None:
        """The set index of ``endpoint``'s tree, or None if it has none here."""
        if self.entries is None:
            return None
        code = self.entries[endpoint % TREES_PER_CHUNK]
        return code - 1 if code else None


def encode_sets(sets: list[Answer]) -> list[bytes]:
    """The distinct target sets as JSON parts of at most ``SETS_PART_BYTES``."""
    parts: list[bytes] = []
    current: list[Answer] = []
    size = 0
    for s in sets:
        n = len(orjson.dumps(s))
        if current and size + n > SETS_PART_BYTES:
            parts.append(orjson.dumps(current))
            current, size = [], 0
        current.append(s)
        size += n + 1
    parts.append(orjson.dumps(current))
    return parts


def decode_sets(parts: list[bytes]) -> list[Answer]:
    out: list[Answer] = []
    for part in parts:
        for s in orjson.loads(part):
            out.append(tuple((str(a), int(w)) for a, w in s))
    return out
