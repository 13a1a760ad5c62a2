"""Histories of store operations and their linearizability check (docs/guide/checker.md).

A history is the ``jsonl`` file ``RecordStore(history=N).export_history`` writes (the simulator
writes the same with ``--history``): one object per operation per endpoint,
``{"client", "endpoint", "op", "call", "return", "input", "output"}``. :func:`read` validates
one strictly and returns its operations; :func:`check` judges it: each endpoint's operations
against the store's model (partitioned by endpoint, Wing-Gong/Lowe search with memoisation, in
the Rust core with the interpreter released), plus the domain checks that need no search.
Bad input raises :class:`dnsrace.errors.InvalidHistory` naming the line.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal, TypedDict

import orjson

from dnsrace.errors import InvalidArgument, InvalidHistory

__all__ = [
    "OPS",
    "CheckResult",
    "Operation",
    "check",
    "history_hash",
    "load",
    "read",
]

OPS = ("flip", "read", "acquire", "renew", "release", "put_tree", "delete_tree")

Source = str | os.PathLike[str] | bytes

# "return" is a keyword: the functional form.
Operation = TypedDict(
    "Operation",
    {
        "client": int,
        "endpoint": int,
        "op": str,
        "call": int,
        "return": int,
        "input": dict[str, Any],
        "output": dict[str, Any],
    },
)


class IllegalWindow(TypedDict):
    endpoint: int
    window: list[int]
    reason: str


class DomainViolation(TypedDict):
    check: str
    endpoint: int
    ops: list[int]
    detail: str


class _CheckResultBase(TypedDict):
    verdict: Literal["ok", "illegal", "unknown"]
    operations: int
    endpoints: int
    elapsed_s: float | None
    illegal: IllegalWindow | None
    illegal_endpoints: list[int]
    domain_violations: list[DomainViolation]
    unknown_endpoints: list[int]


class CheckResult(_CheckResultBase, total=False):
    """The checker's verdict (docs/guide/checker.md). Op indexes are 0-based positions in the
    history file; ``linearizations`` (endpoint as a string -> op indexes in linearised order)
    only when asked for."""

    linearizations: dict[str, list[int]]


def _core() -> Any:
    try:
        from dnsrace import _core
    except ImportError as exc:  # pragma: no cover - the tests build it
        raise InvalidArgument(
            f"the checker needs the Rust core ({exc}); run `make build`"
        ) from None
    return _core


def load(source: Source) -> bytes:
    """The bytes of a history: ``source`` itself if bytes, else the file it names
    (``InvalidHistory`` if it cannot be read)."""
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InvalidHistory(f"cannot read history {os.fspath(source)!r}: {exc.strerror}") from None


def read(source: Source) -> list[Operation]:
    """The operations of a history, validated (``InvalidHistory`` naming the line)."""
    data = load(source)
    _core().parse_history(data)
    return [orjson.loads(line) for line in data.splitlines()]


def check(
    source: Source,
    *,
    timeout: float | None = None,
    linearizations: bool = False,
) -> CheckResult:
    """Check a history: verdict ``ok``, ``illegal`` (with the endpoint and a window of
    operations that cannot be linearised, plus any domain violations) or ``unknown`` (the
    ``timeout``, in seconds, ran out first). ``linearizations``: also return each endpoint's
    linearisation (for small histories and the viewer)."""
    data = load(source)
    text = _core().check_history(data, timeout=timeout, linearizations=linearizations)
    result: CheckResult = orjson.loads(text)
    return result


def history_hash(source: Source) -> str:
    """SHA-256 of a history's bytes (the same seed gives the same hash)."""
    return hashlib.sha256(load(source)).hexdigest()
