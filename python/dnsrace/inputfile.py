"""The reader behind every input door: regular files only, size capped before reading.

:func:`read_file` refuses what is not a regular file (a FIFO, a device, a directory, a socket)
before anything could block on it, refuses a file larger than its kind's limit before reading
it, and reads at most limit + 1 bytes, so a file that grows or lies about its size (``/proc``,
``/dev/zero``) costs no more. The CLI's door (``dnsrace.app.doors.inputs``) and the library's
readers (``dnsrace.history.load``, ``dnsrace.schema.tables.read_tables``) both read
through it and parse TOML with :func:`parse_toml`, so the API meets the same bounds and
messages as the command line (docs/reference/bounds.md, "Inputs"). Standard library only.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KINDS",
    "InputError",
    "InputKind",
    "check_depth",
    "describe_mode",
    "file_identity",
    "nested_over",
    "parse_toml",
    "read_file",
    "size_text",
]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


class InputError(ValueError):
    """An input that cannot be used; the message names the file or option (exit status 2)."""


@dataclass(frozen=True)
class InputKind:
    """What the door accepts of one kind of input."""

    name: str
    max_bytes: int
    max_depth: int


KINDS: dict[str, InputKind] = {
    k.name: k
    for k in (
        # A scenario is a few tables of scalars and short lists (bursts, crash times).
        InputKind("scenario", 4 * MiB, 32),
        # A run document (dnsrace run|incident --json): per discipline, timelines of windows.
        InputKind("run", 512 * MiB, 32),
        # A history: one small object per line; the Rust reader bounds each line's depth.
        InputKind("history", 2 * GiB, 16),
        # A checker result (dnsrace check --json): verdict, windows, linearisations.
        InputKind("check result", 512 * MiB, 16),
        # One --set value.
        InputKind("--set", 64 * KiB, 32),
    )
}

_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_mode(mode: int) -> str:
    """What a file of ``mode`` is, in words (``a FIFO (named pipe)``)."""
    for test, name in _TYPES:
        if test(mode):
            return name
    return "not a regular file"


def size_text(n: int) -> str:
    """``n`` bytes in words (``4 MiB``, ``1,234 bytes``)."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def file_identity(path: str) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of what ``path`` names (symlinks followed), None if nothing."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def check_path_text(name: str, where: str, error: type[Exception]) -> None:
    """Refuse, as ``error`` naming ``where``, a path no file can have: empty, or holding a NUL
    (the input and the output doors alike)."""
    if not name:
        raise error(f"{where}: empty path")
    if "\0" in name:
        raise error(f"{where}: path holds a NUL character")


def read_file(path: str | os.PathLike[str], kind: str, label: str | None = None) -> bytes:
    """The bytes of a regular file of ``kind`` (see :data:`KINDS`), or :class:`InputError`."""
    limits = KINDS[kind]
    name = os.fspath(path)
    where = label or name
    check_path_text(name, where, InputError)
    try:
        # stat first: opening a FIFO for reading would block until a writer came.
        st = os.stat(name)
    except OSError as exc:
        raise InputError(f"cannot read {kind} {where}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"cannot read {kind} {where}: is {describe_mode(st.st_mode)}, not a regular file"
        )
    if st.st_size > limits.max_bytes:
        raise InputError(
            f"{where}: {st.st_size:,} bytes, more than the {size_text(limits.max_bytes)} "
            f"a {kind} may have"
        )
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open does not wait.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read {kind} {where}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(
                f"cannot read {kind} {where}: is {describe_mode(st.st_mode)}, not a regular file"
            )
        chunks: list[bytes] = []
        left = limits.max_bytes + 1
        while left > 0:
            try:
                chunk = os.read(fd, min(left, 16 * MiB))
            except OSError as exc:
                raise InputError(f"cannot read {kind} {where}: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limits.max_bytes:
        raise InputError(f"{where}: more than the {size_text(limits.max_bytes)} a {kind} may have")
    return data


def parse_toml(data: bytes, where: str) -> dict[str, Any]:
    """A TOML document's tables (bytes as :func:`read_file` gives them); every failure one
    :class:`InputError` naming ``where``. Callers that need it scan the depth first."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError, MemoryError) as exc:
        # TOMLDecodeError is a ValueError, and so is what tomllib's own int() raises for more
        # than 4,300 digits.
        raise InputError(f"{where}: malformed TOML: {exc}") from None


# Strings, comments and brackets of TOML (and JSON, which has only the double-quoted strings).
# Only brackets count; a string or comment that holds one does not. An unterminated string
# matches nothing, so its brackets are counted: that only makes a broken input fail earlier.
_TOML_TOKENS = re.compile(
    rb'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
    re.S,
)
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def nested_over(data: bytes, max_depth: int, *, toml: bool) -> bool:
    """Whether the brackets of ``data`` (TOML or JSON) nest deeper than ``max_depth``, counted
    without recursion before any recursive parser sees them."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False  # cannot nest deeper than it has brackets
    depth = 0
    for token in (_TOML_TOKENS if toml else _JSON_TOKENS).finditer(data):
        t = token.group()
        if t in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif t in (b"]", b"}"):
            depth -= 1
    return False


def check_depth(data: bytes, max_depth: int, where: str, *, toml: bool) -> None:
    """Refuse ``data`` if its brackets nest deeper than ``max_depth`` (one line naming
    ``where`` instead of a RecursionError)."""
    if nested_over(data, max_depth, toml=toml):
        raise InputError(f"{where}: nested more than {max_depth} levels deep")
