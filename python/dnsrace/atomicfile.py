"""Crash-safe file output shared by every writer of dnsrace (CLI documents, pictures, HTML,
snapshots of the reference store, histories).

A file appears under its final name only whole: the bytes go to a fresh temporary file in the
same directory (so the rename stays on one file system and is atomic), which is flushed to disk,
renamed over the target, and the directory is flushed so that the rename survives a power loss.
A process killed at any moment leaves the old file (or none) under the final name, plus at most
one hidden ``.NAME.*.tmp*`` file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "OutputPathError",
    "atomic_output",
    "check_output_path",
    "prepare",
    "publish",
    "write_atomic",
]


class OutputPathError(ValueError):
    """An output path that cannot become a file (a directory, a missing or read-only parent)."""


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Refuse, before any work is done, a path that cannot be written: empty, a directory, a
    missing parent directory, a parent that is not writable. Returns the path."""
    text = os.fspath(path)
    if not text:
        raise OutputPathError("empty path")
    target = Path(text)
    if target.is_dir():
        raise OutputPathError(f"{text} is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise OutputPathError(f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"directory {parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK) and os.geteuid() != 0:
        raise OutputPathError(f"{text} is not writable")
    return target


def _umask() -> int:
    # The only way to read the umask is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's contents (a folder: the names in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """First half of an atomic write: ``write`` fills a fresh temporary file beside ``path``
    (same folder, same suffix, so writers that pick a format by suffix still can), which is
    flushed to disk and returned; on any error it is removed. :func:`publish` completes it."""
    target = Path(os.fspath(path))
    # The temporary name keeps the target's suffix: writers such as matplotlib pick the file
    # format from it.
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        _fsync(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def publish(tmp: Path, path: str | os.PathLike[str]) -> None:
    """Second half: rename the prepared file over ``path`` and flush the folder, so the
    rename survives a power loss. On error the temporary file is removed."""
    target = Path(os.fspath(path))
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync(target.parent)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file name (matplotlib,
    a browser); on normal exit it is flushed and renamed over ``path``, on error removed."""
    box: list[Path] = []

    def write(tmp: Path) -> None:
        box.append(tmp)

    tmp = prepare(path, write)
    try:
        yield tmp
        _fsync(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    publish(tmp, path)


def write_atomic(path: str | os.PathLike[str], data: bytes | Callable[[IO[bytes]], None]) -> None:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)

    publish(prepare(path, write), path)
