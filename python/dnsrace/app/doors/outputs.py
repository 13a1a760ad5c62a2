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
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dnsrace.atomicfile import prepare, publish
from dnsrace.inputfile import InputError, check_path_text, describe_mode, file_identity

__all__ = ["PICTURE_SUFFIXES", "Output", "OutputError", "Outputs"]

PICTURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff")
"""The formats a picture output may have; matplotlib picks the format from the suffix."""

Content = bytes | Callable[[Path], None]
"""What an output receives: its bytes, or a function that writes a file at the path given."""


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

    def error(self, exc: OSError) -> OutputError:
        where = "standard output" if self.path is None else self.path
        return OutputError(f"{self.flag} {where}: cannot write: {exc.strerror or exc}")


class Outputs:
    """The outputs of one command, resolved against its inputs before it runs, then written
    together: :meth:`stage` puts each file's content in a temporary file beside it (nothing
    visible yet), :meth:`commit` renames them all into place and writes standard output. A
    failure while staging removes every staged file, so a refused write leaves no output."""

    def __init__(self, inputs: Iterable[str | None] = ()) -> None:
        self._inputs: dict[tuple[int, int], str] = {}
        for path in inputs:
            self.add_input(path)
        self._targets: dict[str, str] = {}
        self._stdout: str | None = None
        self._staged: list[tuple[Output, Path | bytes]] = []

    def add_input(self, path: str | None) -> None:
        """Declare a file the command reads (outputs may not be it)."""
        if path:
            ident = file_identity(path)
            if ident is not None:
                self._inputs.setdefault(ident, path)

    def add(
        self, flag: str, path: str | None, *, text: bool = True, picture: bool = False
    ) -> Output | None:
        """Resolve the output of option ``flag``; None when the option was not given.
        ``text``: ``-`` may name standard output; ``picture``: the suffix names a format."""
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
        if picture and os.path.splitext(path)[1].lower() not in PICTURE_SUFFIXES:
            raise OutputError(
                f"{flag} {path}: the picture's format comes from its suffix: "
                f"{', '.join(PICTURE_SUFFIXES)}"
            )
        return Output(flag, path)

    @property
    def stdout_taken(self) -> bool:
        """Whether a document goes to standard output (human text then goes to stderr)."""
        return self._stdout is not None

    def stage(self, out: Output | None, content: Content) -> None:
        """Prepare ``out`` (None: not asked for, nothing to do) without making it visible."""
        if out is None:
            return
        if out.path is None:
            if not isinstance(content, bytes):
                raise OutputError(f"{out.flag} -: this output is not text; give a file name")
            self._staged.append((out, content))
            return

        def write(tmp: Path) -> None:
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                content(tmp)

        try:
            tmp = prepare(out.path, write)
        except OSError as exc:
            self.discard()
            raise out.error(exc) from None
        except BaseException:
            self.discard()
            raise
        self._staged.append((out, tmp))

    def discard(self) -> None:
        """Remove every staged file (nothing was made visible)."""
        for _, staged in self._staged:
            if isinstance(staged, Path):
                with contextlib.suppress(OSError):
                    staged.unlink()
        self._staged.clear()

    def commit(self) -> None:
        """Rename every staged file into place, then write standard output."""
        files = [(o, t) for o, t in self._staged if isinstance(t, Path)]
        text = [(o, t) for o, t in self._staged if isinstance(t, bytes)]
        self._staged.clear()
        for i, (out, tmp) in enumerate(files):
            assert out.path is not None
            try:
                publish(tmp, out.path)
            except OSError as exc:
                for _, rest in files[i + 1 :]:
                    with contextlib.suppress(OSError):
                        rest.unlink()
                raise out.error(exc) from None
        for out, data in text:
            try:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            except OSError as exc:
                raise out.error(exc) from None

    def write(self, out: Output | None, content: Content) -> None:
        """Stage and commit one output (a command with a single output)."""
        self.stage(out, content)
        self.commit()

    def _check(self, flag: str, path: str) -> None:
        where = f"{flag} {path}"
        check_path_text(path, flag, OutputError)
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
        _probe(parent, where)
        key = os.path.join(os.path.realpath(parent), os.path.basename(os.path.abspath(path)))
        if key in self._targets:
            raise OutputError(f"{where}: same file as {self._targets[key]}")
        self._targets[key] = flag


def _probe(folder: str, where: str) -> None:
    """Create and remove a file in ``folder``: what a permission check cannot tell (a
    read-only mount, /proc, root's access to anything) shows before the run, not after."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".dnsrace-probe.")
    except OSError as exc:
        raise OutputError(
            f"{where}: cannot create a file in {folder}: {exc.strerror or exc}"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
