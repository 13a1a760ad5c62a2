"""Histories of store operations and their linearizability check (docs/guide/histories.md).

A history is the ``jsonl`` file ``RecordStore(history=N).export_history`` writes (the simulator
writes the same with ``--history``): one object per operation per endpoint,
``{"client", "endpoint", "op", "call", "return", "input", "output"}``. :func:`read` validates
one strictly and returns its operations; :func:`check` judges it: each endpoint's operations
against the store's model (partitioned by endpoint, Wing-Gong/Lowe search with memoisation, in
the Rust core with the interpreter released), plus the domain checks that need no search.
Bad input raises :class:`dnsrace.errors.InvalidHistory` naming the line.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path
from typing import Any, TypedDict

from dnsrace.errors import InvalidArgument, InvalidHistory
from dnsrace.history._context import record_tasks
from dnsrace.history._result import Bounds, CheckResult, DomainViolation, IllegalWindow

__all__ = [
    "OPS",
    "Bounds",
    "CheckResult",
    "DomainViolation",
    "IllegalWindow",
    "Operation",
    "check",
    "dropped",
    "history_hash",
    "load",
    "max_states_option",
    "read",
    "record_tasks",
    "timeout_option",
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
    """The operations of a history, validated (``InvalidHistory`` naming the line); op N of
    a check result is ``read(...)[N - 1]``. A truncated history's first line (its mark,
    ``{"truncated": {"dropped": N}}``) is not an operation: see :func:`dropped`."""
    data = load(source)
    _core().parse_history(data)
    import orjson

    lines = data.splitlines()
    if lines and lines[0].startswith(b'{"truncated"'):
        lines = lines[1:]
    return [orjson.loads(line) for line in lines]


def dropped(source: Source) -> int:
    """How many earlier operations the recording ring dropped before this history (0: it is
    whole). A truncated history is not judged: checking it gives ``unknown``."""
    data = load(source)
    _core().parse_history(data)
    if not data.startswith(b'{"truncated"'):
        return 0
    import orjson

    mark = orjson.loads(data.split(b"\n", 1)[0])
    return int(mark["truncated"]["dropped"])


def check(
    source: Source,
    *,
    timeout: float | None = None,
    max_states: int | None = None,
    linearizations: bool = False,
) -> CheckResult:
    """Check a history: verdict ``ok``, ``illegal`` (with the endpoint and a window of
    operations that cannot be linearised, plus any domain violations) or ``unknown`` (a bound
    ran out first; ``unknown_reason`` says which). ``timeout``: seconds (default
    ``_core.CHECK_DEFAULT_TIMEOUT_S``, at most a day); ``max_states``: states kept in the
    search's memo (default ``_core.CHECK_DEFAULT_MAX_STATES``). ``linearizations``: also
    return each endpoint's linearisation (for small histories and the viewer).
    ``InvalidArgument`` for a bound out of range, ``InvalidHistory`` for a bad file."""
    data = load(source)
    result: CheckResult = _core().check_history(
        data, timeout=timeout, max_states=max_states, linearizations=linearizations
    )
    return result


def timeout_option(text: str) -> float:
    """An argparse type for ``--timeout`` of ``check`` and ``view``: seconds, > 0 and at most
    ``CHECK_MAX_TIMEOUT_S`` (a day)."""
    maximum = float(_core().CHECK_MAX_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= maximum:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= {maximum:g} seconds, got {text}")
    return value


def max_states_option(text: str) -> int:
    """An argparse type for ``--max-states`` of ``check`` and ``view``: 1 to
    ``CHECK_MAX_MAX_STATES``."""
    maximum = int(_core().CHECK_MAX_MAX_STATES)
    try:
        value = int(text, 10) if len(text) <= 20 else -1
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 1 <= value <= maximum:
        raise argparse.ArgumentTypeError(f"must be an integer 1..{maximum}, got {text[:40]}")
    return value


def history_hash(source: Source) -> str:
    """SHA-256 of a history's bytes (the same seed gives the same hash)."""
    return hashlib.sha256(load(source)).hexdigest()
