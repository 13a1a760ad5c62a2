"""The input door: every file the CLI reads, and every structured option value, enters here.

One reader (:func:`read_file`) for every kind of input: it refuses what is not a regular file
(a FIFO, a device, a directory, a socket) before anything could block on it, refuses a file
larger than its kind's limit before reading it (and reads at most limit + 1 bytes, so a file
that grows or lies about its size, ``/proc`` or ``/dev/zero``, costs no more), refuses nesting
deeper than the kind's limit before a recursive parser sees it, and turns every parse failure
into :class:`InputError`: one line naming the file, exit status 2. ``--set`` values pass the same
size and depth caps (:func:`parse_set`).

The limits (docs/reference/bounds.md, "Inputs") are per kind, in :data:`KINDS`.
"""

from __future__ import annotations

from typing import Any

from dnsrace.inputfile import (
    KINDS,
    InputError,
    InputKind,
    check_depth,
    file_identity,
    parse_toml,
    read_file,
    size_text,
)
from dnsrace.schema.errors import ScenarioError
from dnsrace.schema.tables import override_value, split_override

__all__ = [
    "KINDS",
    "MAX_INT_BITS",
    "MAX_SET_CHARS",
    "MAX_SET_KEY_PARTS",
    "InputError",
    "InputKind",
    "check_depth",
    "file_identity",
    "load_json",
    "load_scenario_document",
    "parse_json",
    "parse_set",
    "read_file",
]

MAX_SET_CHARS = KINDS["--set"].max_bytes
MAX_SET_KEY_PARTS = 16
"""Most dotted parts in a ``--set`` key (a scenario nests about three tables)."""
MAX_INT_BITS = 64
"""Widest integer accepted in a scenario or option value: every count, seed and size fits."""


def _check_values(value: Any, where: str, max_depth: int) -> None:
    """Walk a parsed document without recursion: depth (dotted TOML keys nest tables without
    brackets) and integer width (a 400-digit integer would overflow a float field later)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    limit = 1 << MAX_INT_BITS
    while stack:
        v, path, depth = stack.pop()
        if depth > max_depth:
            raise InputError(f"{where}: {path}: nested more than {max_depth} levels deep")
        if isinstance(v, dict):
            stack.extend((x, f"{path}.{k}" if path else str(k), depth + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v))
        elif isinstance(v, int) and not isinstance(v, bool) and not -limit < v < limit:
            digits = len(str(abs(v))) if v.bit_length() < 10_000 else None
            shown = (
                str(v)
                if digits is not None and digits <= 40
                else f"an integer of {digits or 'over 3,000'} digits"
            )
            raise InputError(
                f"{where}: {path or 'value'}: must fit in {MAX_INT_BITS} bits, got {shown}"
            )


def _parse_json(data: bytes, where: str) -> Any:
    import orjson  # here, so that a missing extra is reported by the command, not at start

    try:
        return orjson.loads(data)
    except (ValueError, RecursionError, MemoryError) as exc:  # JSONDecodeError is a ValueError
        raise InputError(f"{where}: malformed JSON: {exc}") from None


def parse_json(data: bytes, where: str, kind: str) -> Any:
    """JSON bytes of ``kind`` (already read through :func:`read_file`): size, depth, parse,
    integer widths."""
    limits = KINDS[kind]
    if len(data) > limits.max_bytes:
        raise InputError(f"{where}: more than the {size_text(limits.max_bytes)} a {kind} may have")
    check_depth(data, limits.max_depth, where, toml=False)
    doc = _parse_json(data, where)
    _check_values(doc, where, limits.max_depth)
    return doc


def load_json(path: str, kind: str, label: str | None = None) -> Any:
    """A JSON file of ``kind`` through the door: read, depth-checked, parsed, walked."""
    return parse_json(read_file(path, kind, label), label or path, kind)


def load_scenario_document(path: str) -> dict[str, Any]:
    """A scenario file's tables (TOML, or JSON when the name ends in ``.json``), not yet
    validated against the schema."""
    limits = KINDS["scenario"]
    data = read_file(path, "scenario")
    is_json = path.lower().endswith(".json")
    check_depth(data, limits.max_depth, path, toml=not is_json)
    doc = _parse_json(data, path) if is_json else parse_toml(data, path)
    if not isinstance(doc, dict):
        raise InputError(
            f"{path}: a scenario must be a table (a JSON object), got {_json_type(doc)}"
        )
    _check_values(doc, path, limits.max_depth)
    return doc


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), type(value).__name__
    )


def parse_set(text: str) -> tuple[str, Any]:
    """``--set dotted.key=VALUE``, VALUE in TOML syntax: the configuration's own parser
    (:func:`dnsrace.schema.tables.parse_override`, in two steps) behind the same caps as a
    file: one line, at most :data:`MAX_SET_CHARS`, nesting and integers bounded."""
    limits = KINDS["--set"]
    if len(text) > limits.max_bytes:
        raise InputError(f"--set: longer than {limits.max_bytes:,} characters")
    try:
        key, raw = split_override(text)
    except ScenarioError as exc:
        raise InputError(str(exc)) from None
    if key.count(".") >= MAX_SET_KEY_PARTS:
        raise InputError(f"--set {key[:60]}...: more than {MAX_SET_KEY_PARTS} dotted parts")
    if any(c in raw for c in "\r\n"):
        # TOML would read a second line as a second key, which the option would then drop.
        raise InputError(f"--set {key}: the value must be one line, got {raw!r}")
    where = f"--set {key}"
    check_depth(raw.encode("utf-8", "surrogateescape"), limits.max_depth, where, toml=True)
    try:
        value = override_value(key, raw)
    except ScenarioError as exc:
        raise InputError(f"--set {exc}") from None
    _check_values(value, where, limits.max_depth)
    return key, value
