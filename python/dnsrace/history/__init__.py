"""Histories of store operations and their linearizability check (docs/guide/store.md,
"Histories and dnsrace check"; the format: docs/guide/checker.md).

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
import numbers
import operator
import os
from collections.abc import Callable
from typing import Any, TypedDict

from dnsrace.errors import InvalidArgument, InvalidHistory
from dnsrace.history._context import record_tasks
from dnsrace.history._result import Bounds, CheckResult, DomainViolation, IllegalWindow
from dnsrace.inputfile import InputError, read_file

__all__ = [
    "OPS",
    "Bounds",
    "CheckResult",
    "DomainViolation",
    "IllegalWindow",
    "Operation",
    "OptionError",
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


def _json_loads() -> Callable[[bytes], Any]:
    """orjson where the ``sim`` extra is installed, else the standard library's reader: the
    Rust reader has validated the lines, and both give the same ints and floats."""
    try:
        import orjson
    except ImportError:
        import json

        return json.loads
    return orjson.loads


def load(source: Source) -> bytes:
    """The bytes of a history: ``source`` itself if bytes (or another bytes-like object),
    else the file it names. ``InvalidHistory`` if that file cannot be read,
    ``InvalidArgument`` if ``source`` is neither bytes nor a path."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, bytearray | memoryview):
        try:
            return bytes(source)
        except (TypeError, ValueError, BufferError) as exc:  # a released view, a strided one
            raise InvalidArgument(
                f"a history's bytes cannot be read from this buffer: {exc}"
            ) from None
    if not isinstance(source, str | os.PathLike):
        raise InvalidArgument(
            f"a history is bytes or the path of a file, got {type(source).__name__}"
        )
    # The input door's reader: a FIFO or device is refused, not waited on; a file over the
    # history limit is refused before it is read.
    try:
        name = os.fspath(source)
    except TypeError as exc:  # an __fspath__ that returns no path
        raise InvalidArgument(f"not a usable history path: {exc}") from None
    if not isinstance(name, str):
        raise InvalidArgument(f"a history path is text, got {type(name).__name__}")
    try:
        return read_file(name, "history", repr(name))
    except InputError as exc:
        raise InvalidHistory(str(exc)) from None


def read(source: Source) -> list[Operation]:
    """The operations of a history, validated (``InvalidHistory`` naming the line); op N of
    a check result is ``read(...)[N - 1]``. A truncated history's first line (its mark,
    ``{"truncated": {"dropped": N}}``) is not an operation: see :func:`dropped`."""
    data = load(source)
    _core().parse_history(data)
    loads = _json_loads()
    lines = data.splitlines()
    if lines and lines[0].startswith(b'{"truncated"'):
        lines = lines[1:]
    return [loads(line) for line in lines]


def dropped(source: Source) -> int:
    """How many earlier operations the recording ring dropped before this history (0: it is
    whole). A truncated history is not judged: checking it gives ``unknown``."""
    data = load(source)
    _core().parse_history(data)
    if not data.startswith(b'{"truncated"'):
        return 0
    mark = _json_loads()(data.split(b"\n", 1)[0])
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
    bounds = _check_arguments(timeout, max_states, linearizations)
    data = load(source)
    result: CheckResult = _core().check_history(data, linearizations=linearizations, **bounds)
    return result


def _check_arguments(timeout: object, max_states: object, linearizations: object) -> dict[str, Any]:
    """The checker's bounds as the binding takes them, their types checked here (its
    conversions would raise ``TypeError``): ``InvalidArgument`` for a wrong type or a
    ``max_states`` out of range; the core checks the timeout's range."""
    seconds: float | None = None
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise InvalidArgument(
                f"timeout must be a number of seconds or None, got {type(timeout).__name__}"
            )
        try:
            seconds = float(timeout)
        except OverflowError:
            raise InvalidArgument("invalid timeout: too large a number of seconds") from None
    states: int | None = None
    if max_states is not None:
        if isinstance(max_states, bool) or not hasattr(max_states, "__index__"):
            raise InvalidArgument(
                f"max_states must be an integer or None, got {type(max_states).__name__}"
            )
        try:
            states = operator.index(max_states)
        except TypeError:  # an __index__ that returns no int
            raise InvalidArgument("max_states must be an integer or None") from None
        maximum = int(_core().CHECK_MAX_MAX_STATES)
        if not 1 <= states <= maximum:  # also keeps it within the binding's u64
            shown = states if states.bit_length() < 64 else "out of range"
            raise InvalidArgument(f"invalid max_states {shown}: must be an integer 1..{maximum}")
    if not isinstance(linearizations, bool):
        raise InvalidArgument(
            f"linearizations must be True or False, got {type(linearizations).__name__}"
        )
    return {"timeout": seconds, "max_states": states}


class OptionError(InvalidArgument, argparse.ArgumentTypeError):
    """A bad ``--timeout`` or ``--max-states`` text: an ``InvalidArgument`` to a caller, an
    ``ArgumentTypeError`` to argparse (which then prints the message as it is)."""


def _option_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise OptionError(f"must be {what} given as text, got {type(text).__name__}")
    return text


def timeout_option(text: str) -> float:
    """An argparse type for ``--timeout`` of ``check`` and ``view``: seconds, > 0 and at most
    ``CHECK_MAX_TIMEOUT_S`` (a day). ``OptionError`` otherwise."""
    text = _option_text(text, "a number of seconds")
    maximum = float(_core().CHECK_MAX_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"must be a number of seconds, got {text[:40]!r}") from None
    if not 0 < value <= maximum:
        raise OptionError(f"must be > 0 and <= {maximum:g} seconds, got {text[:40]}")
    return value


def max_states_option(text: str) -> int:
    """An argparse type for ``--max-states`` of ``check`` and ``view``: 1 to
    ``CHECK_MAX_MAX_STATES``. ``OptionError`` otherwise."""
    text = _option_text(text, "an integer")
    maximum = int(_core().CHECK_MAX_MAX_STATES)
    try:
        value = int(text, 10) if len(text) <= 20 else -1
    except ValueError:
        raise OptionError(f"must be an integer, got {text[:40]!r}") from None
    if not 1 <= value <= maximum:
        raise OptionError(f"must be an integer 1..{maximum}, got {text[:40]}")
    return value


def history_hash(source: Source) -> str:
    """SHA-256 of a history's bytes (the same seed gives the same hash)."""
    return hashlib.sha256(load(source)).hexdigest()
