"""The safe printer: every text the CLI shows a user goes through here.

Messages quote what the user typed (paths, option values, names from a scenario file), so they
may hold terminal escape sequences, bidi overrides or line breaks. :func:`safe_text` writes every
such character as a visible escape, so an error stays one harmless line; :func:`markup` also
neutralises rich markup (a discipline name must not become a link or blink in the progress bar);
:func:`shell_line` quotes a command line so it can be pasted back into a shell as it is.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["MAX_SHOWN_CHARS", "error_line", "markup", "print_error", "safe_text", "shell_line"]

MAX_SHOWN_CHARS = 400
"""Longest quoted value in an error line; the rest is elided with its length."""


def safe_text(text: str, limit: int | None = None) -> str:
    """``text`` with every non-printable character (controls, so every terminal escape
    sequence; line breaks; bidi and other format characters) written as a Python escape.
    With ``limit``: at most that many characters, the elided length named."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}...({len(text) - limit:,} more characters)"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def markup(text: str) -> str:
    """Text for a rich renderable (table cell, progress label): printable and without markup."""
    from rich.markup import escape

    return escape(safe_text(text))


def _shell_word(word: str) -> str:
    if word.isprintable():
        return shlex.quote(word)
    # A control character inside plain quotes would reach the terminal raw; bash's $'...'
    # spells it as an escape and still gives the same argument back.
    body = "".join(
        c if c.isprintable() and c not in "\\'" else ("\\" + c if c in "\\'" else _escape(c))
        for c in word
    )
    return f"$'{body}'"


def _escape(c: str) -> str:
    code = ord(c)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def shell_line(argv: Sequence[str]) -> str:
    """One command line, each argument quoted for a POSIX shell (bash ``$'...'`` where an
    argument holds a character a terminal would act on)."""
    return " ".join(_shell_word(a) for a in argv)


def error_line(message: str, prog: str = "dnsrace") -> str:
    """The one line an error prints (without its end of line)."""
    return f"{prog}: error: {safe_text(message)}"


def print_error(message: str, prog: str = "dnsrace", file: TextIO | None = None) -> None:
    """Print ``message`` as one safe line on stderr."""
    stream = file if file is not None else sys.stderr
    print(error_line(message, prog), file=stream, flush=True)
