"""The Txn pieces every part of the etcd store builds its requests from (aetcd's messages)."""

from __future__ import annotations

from typing import Any

from dnsrace.backends.etcd.client import rpc

__all__ = [
    "CREATE",
    "EQ",
    "LT",
    "MAX_ROUNDS",
    "MOD",
    "delete_op",
    "get_op",
    "mod_is",
    "put_op",
    "repetition_rounds",
]

EQ, LT = rpc.Compare.EQUAL, rpc.Compare.LESS
MOD, CREATE = rpc.Compare.MOD, rpc.Compare.CREATE

MAX_ROUNDS = 64
"""Re-reads of one endpoint within one call before giving up (each needs a concurrent write)."""


def mod_is(key: bytes, revision: int) -> Any:
    """Compare: ``key`` was last written at ``revision`` (0: it does not exist)."""
    return rpc.Compare(result=EQ, target=MOD, key=key, mod_revision=revision)


def put_op(key: bytes, value: bytes, lease: int = 0) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease))


def delete_op(key: bytes, range_end: bytes = b"") -> Any:
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key, range_end=range_end))


def get_op(key: bytes, range_end: bytes = b"") -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key, range_end=range_end))


def repetition_rounds(ids: list[int], *, distinct: bool = False) -> list[list[int]]:
    """The positions of ``ids`` in rounds: a repeated endpoint sees its earlier positions,
    so its n-th occurrence goes in round n (``distinct``: known to have no repetition). etcd
    refuses a Txn that names one key twice, and each round sees the one before."""
    n = len(ids)
    if distinct or len(set(ids)) == n:
        return [list(range(n))] if n else []
    rounds: list[list[int]] = []
    seen_count: dict[int, int] = {}
    for pos, i in enumerate(ids):
        r = seen_count.get(i, 0)
        seen_count[i] = r + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(pos)
    return rounds
