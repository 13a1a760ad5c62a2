"""The output door: every file the CLI writes is declared here before any work starts.

:class:`Outputs` resolves each output path once, right after the command line is parsed: ``-``
is standard output where the output is text; an existing target must be a regular file (a
device, FIFO, socket, directory or symbolic link is refused, never replaced); the target must
not be the same file as any input of the run (compared by device and inode, so a symlink or a
hard link to an input is caught) nor as another output; its folder must exist and be writable.
Writes are atomic (:mod:`dnsrace.atomicfile`): a write that still fails (disk full, read-only
file system) raises :class:`OutputError` (one line, exit status 2), removes its temporary file and
leaves the previous file under the name untouched.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dnsrace.app.doors.inputs import InputError, describe_mode, file_identity
from dnsrace.atomicfile import atomic_output, write_atomic

__all__ = ["Output", "OutputError", "Outputs"]


class OutputError(InputError):
    """An output that cannot be written; the message names the option and the path."""


@dataclass(frozen=True)
class Output:
    """One resolved output: a file path, or standard output (``path is None``)."""

    flag: str
    path: str | None

    @property
    def to_stdout(self) -> bool:
        return self.path is None

    def write(self, data: bytes) -> None:
        """Write the whole output (atomically for a file); :class:`OutputError` on failure."""
        if self.path is None:
            try:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            except OSError as exc:
                raise OutputError(
                    f"{self.flag}: cannot write to standard output: {exc.strerror or exc}"
                ) from None
            return
        try:
            write_atomic(self.path, data)
        except OSError as exc:
            raise OutputError(
                f"{self.flag} {self.path}: cannot write: {exc.strerror or exc}"
            ) from None

    @contextlib.contextmanager
    def temporary_file(self) -> Iterator[Path]:
        """A temporary path beside the target for writers that want a file name (matplotlib);
        renamed over the target when the block ends without an error."""
        assert self.path is not None, "binary outputs never go to standard output"
        try:
            with atomic_output(self.path) as tmp:
                yield tmp
        except OSError as exc:
            raise OutputError(
                f"{self.flag} {self.path}: cannot write: {exc.strerror or exc}"
            ) from None


class Outputs:
    """The outputs of one command, resolved against its inputs before it runs."""

    def __init__(self, inputs: Iterable[str | None] = ()) -> None:
        self._inputs: dict[tuple[int, int], str] = {}
        for path in inputs:
            self.add_input(path)
        self._targets: dict[str, str] = {}
        self._stdout: str | None = None

    def add_input(self, path: str | None) -> None:
        """Declare a file the command reads (outputs may not be it)."""
        if path:
            ident = file_identity(path)
            if ident is not None:
                self._inputs.setdefault(ident, path)

    def add(self, flag: str, path: str | None, *, text: bool = True) -> Output | None:
        """Resolve the output of option ``flag``; None when the option was not given."""
        if path is None:
            return None
        if path == "-":
            if not text:
                raise OutputError(f"{flag} -: this output is not text; give a file name")
            if self._stdout is not None:
                raise OutputError(f"{flag} -: standard output is already taken by {self._stdout}")
            self._stdout = flag
            return Output(flag, None)
        self._check(flag, path)
        return Output(flag, path)

    @property
    def stdout_taken(self) -> bool:
        """Whether a document goes to standard output (human text then goes to stderr)."""
        return self._stdout is not None

    def _check(self, flag: str, path: str) -> None:
        where = f"{flag} {path}"
        if not path:
            raise OutputError(f"{flag}: empty path")
        if "\0" in path:
            raise OutputError(f"{flag}: path holds a NUL character")
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            st = None  # the folder check below names the problem
        except OSError as exc:
            raise OutputError(f"{where}: {exc.strerror or exc}") from None
        if st is not None:
            if stat.S_ISLNK(st.st_mode):
                raise OutputError(f"{where}: is a symbolic link (give the file it points to)")
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(f"{where}: is {describe_mode(st.st_mode)}, not a regular file")
            same = self._inputs.get((st.st_dev, st.st_ino))
            if same is not None:
                raise OutputError(f"{where}: is the same file as the input {same}")
        elif path.endswith(os.sep) or path.endswith("/"):
            raise OutputError(f"{where}: names a directory")
        parent = os.path.dirname(os.path.abspath(path))
        try:
            pst = os.stat(parent)
        except OSError:
            raise OutputError(f"{where}: directory {parent} does not exist") from None
        if not stat.S_ISDIR(pst.st_mode):
            raise OutputError(f"{where}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{where}: directory {parent} is not writable")
        if st is not None and not os.access(path, os.W_OK) and os.geteuid() != 0:
            raise OutputError(f"{where}: is not writable")
        key = os.path.join(os.path.realpath(parent), os.path.basename(os.path.abspath(path)))
        if key in self._targets:
            raise OutputError(f"{where}: same file as {self._targets[key]}")
        self._targets[key] = flag
