"""Checks of command-line input made before any work starts, and safe terminal text.

Kept apart from ``cli.py`` so that the command definitions stay small: the CLI calls
:func:`check_outputs` right after parsing (a bad ``--json``/``--plot``/``--snapshot`` path is
refused before a long simulation runs, not after it) and prints every error line through
:func:`safe_text`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from dnsrace.atomicfile import OutputPathError, check_output_path

__all__ = [
    "InputError",
    "OneLineParser",
    "bounded_int",
    "check_outputs",
    "safe_text",
    "snapshot_paths",
]

MAX_RUNS = 10_000_000
"""Most runs per discipline of ``dnsrace explore`` (about a day of exploration here)."""
MAX_JOBS = 1024
MAX_DEPTH = 100


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line and exit status 2 (not the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {safe_text(message)}\n")


class InputError(ValueError):
    """A command-line value that cannot work; the message names the option and the value."""


def safe_text(text: str) -> str:
    """``text`` with every non-printable character (control characters, so every terminal
    escape sequence, and line breaks) written as a Python escape: one harmless line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def bounded_int(minimum: int, maximum: int) -> type:
    """An argparse type: an integer in ``minimum..maximum`` (the message says which)."""

    class _Bounded(int):
        def __new__(cls, text: str) -> _Bounded:
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
            if not minimum <= value <= maximum:
                raise argparse.ArgumentTypeError(f"must be in {minimum}..{maximum}, got {value}")
            return super().__new__(cls, value)

    _Bounded.__name__ = f"integer in {minimum}..{maximum}"
    return _Bounded


def check_outputs(outputs: Iterable[tuple[str, str | None]]) -> None:
    """Refuse output paths that cannot be written (``-`` is stdout), and two options naming
    the same file, before anything runs."""
    seen: dict[Path, str] = {}
    for flag, path in outputs:
        if path is None or path == "-":
            continue
        try:
            target = check_output_path(path)
        except OutputPathError as exc:
            raise InputError(f"{flag} {path!r}: {exc}") from None
        resolved = target.resolve()
        if resolved in seen:
            raise InputError(f"{flag} {path!r}: same file as {seen[resolved]}")
        seen[resolved] = flag


def snapshot_paths(path: str, disciplines: list[str]) -> dict[str, str]:
    """Where each discipline's final store goes: ``path`` itself for one discipline, else
    ``STEM.DISCIPLINE.SUFFIX`` beside it (``out.snap`` -> ``out.cas.snap``)."""
    if Path(path).is_dir():
        raise InputError(f"--snapshot {path!r}: is a directory (give a file name)")
    if len(disciplines) == 1:
        return {disciplines[0]: path}
    p = Path(path)
    # A custom discipline's name may hold any printable character; keep it out of the path.
    safe = {d: re.sub(r"[^A-Za-z0-9_-]", "_", d) for d in disciplines}
    return {d: str(p.with_name(f"{p.stem}.{safe[d]}{p.suffix}")) for d in disciplines}
