"""Where an :class:`~dnsrace.backends.etcd.store.EtcdStore` keeps what, and how values are coded.

Under ``/dnsrace/<namespace>/``:

===================  ===================================================================
``count``            number of endpoints (8-byte big-endian)
``n/<chunk>``        names of endpoints ``chunk*NAMES_PER_CHUNK ...``, newline-joined
``a/<id>``           the control record: alias (8 bytes) then rollback (8 bytes),
                     big-endian, 0 = none. Its ``mod_revision`` is the endpoint's version.
``f/<id>``           highest fencing token issued or accepted (8 bytes); absent = 0
``l/<id>``           the live lease: expiry (caller clock) or etcd lease, token, holder
``g/<gen>``          a plan's header (JSON: target-set part count, records)
``s/<gen>/<part>``   the plan's distinct target sets (JSON, chunked)
``t/<chunk>/<gen>``  which set each endpoint of a chunk of ``TREES_PER_CHUNK`` uses
                     (4 bytes each, set index + 1, 0 = no tree). Chunk first: one range
                     read returns a chunk's trees in every live plan, so a flip learns about
                     its target tree and its active tree in the same round trip.
===================  ===================================================================

Ids, generations and chunk numbers are fixed-width big-endian, so byte order is number order:
a control record's bytes order as its generation (etcd compares values as bytes), and a range
read walks endpoints in id order.
"""

from __future__ import annotations

import struct
from array import array

__all__ = [
    "NAMES_PER_CHUNK",
    "TREES_PER_CHUNK",
    "Keys",
    "decode_alias",
    "decode_u64",
    "encode_alias",
    "u64",
]

NAMES_PER_CHUNK = 1024
TREES_PER_CHUNK = 256
"""Endpoints per tree chunk: a chunk is 1 KiB, and a flip's Txn compares one chunk per tree."""

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_ALIAS = struct.Struct(">QQ")


def u64(value: int) -> bytes:
    return _U64.pack(value)


def decode_u64(data: bytes) -> int:
    return int(_U64.unpack_from(data)[0]) if data else 0


def encode_alias(alias: int, rollback: int) -> bytes:
    return _ALIAS.pack(alias, rollback)


def decode_alias(data: bytes) -> tuple[int, int]:
    alias, rollback = _ALIAS.unpack(data)
    return int(alias), int(rollback)


def decode_tree_chunk(data: bytes) -> array[int]:
    """Set index + 1 per endpoint of a chunk (0 = no tree)."""
    out = array("I", data)
    if out.itemsize == 4 and array("I", [1]).tobytes()[0] == 1:
        out.byteswap()  # stored big-endian, host is little-endian
    return out


def encode_tree_chunk(entries: array[int]) -> bytes:
    out = array("I", entries)
    if array("I", [1]).tobytes()[0] == 1:
        out.byteswap()
    return out.tobytes()


class Keys:
    """Key builders for one namespace."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"/dnsrace/{namespace}/".encode()
        p = self.prefix
        self.count = p + b"count"
        self.names_prefix = p + b"n/"
        self.alias_prefix = p + b"a/"
        self.fence_prefix = p + b"f/"
        self.lease_prefix = p + b"l/"
        self.plan_prefix = p + b"g/"
        self.sets_prefix = p + b"s/"
        self.trees_prefix = p + b"t/"

    @staticmethod
    def end(prefix: bytes) -> bytes:
        """The range end that covers every key starting with ``prefix``."""
        return prefix[:-1] + bytes([prefix[-1] + 1])

    def names(self, chunk: int) -> bytes:
        return self.names_prefix + _U32.pack(chunk)

    def alias(self, endpoint: int) -> bytes:
        return self.alias_prefix + _U32.pack(endpoint)

    def fence(self, endpoint: int) -> bytes:
        return self.fence_prefix + _U32.pack(endpoint)

    def lease(self, endpoint: int) -> bytes:
        return self.lease_prefix + _U32.pack(endpoint)

    def plan(self, generation: int) -> bytes:
        return self.plan_prefix + _U64.pack(generation)

    def sets(self, generation: int, part: int) -> bytes:
        return self.sets_prefix + _U64.pack(generation) + b"/" + _U32.pack(part)

    def sets_of(self, generation: int) -> bytes:
        return self.sets_prefix + _U64.pack(generation) + b"/"

    def trees(self, generation: int, chunk: int) -> bytes:
        return self.trees_prefix + _U32.pack(chunk) + b"/" + _U64.pack(generation)

    def trees_in(self, chunk: int) -> bytes:
        """Prefix of one chunk's trees in every generation."""
        return self.trees_prefix + _U32.pack(chunk) + b"/"

    def tree_key_parts(self, key: bytes) -> tuple[int, int]:
        """(generation, chunk) of a ``t/`` key."""
        n = len(self.trees_prefix)
        return int(_U64.unpack_from(key, n + 5)[0]), int(_U32.unpack_from(key, n)[0])

    @staticmethod
    def id_of(key: bytes) -> int:
        """The endpoint id (or chunk number) at the end of a key."""
        return int(_U32.unpack_from(key, len(key) - 4)[0])

    def generation_of(self, key: bytes) -> int:
        """The generation of a ``g/`` or ``s/`` key."""
        return int(_U64.unpack_from(key, len(self.plan_prefix))[0])
