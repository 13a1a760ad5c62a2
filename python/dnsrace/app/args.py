"""The CLI's argument types and its parser class, shared by every command.

Each type refuses a value that cannot work with a message argparse turns into one line (exit
status 2): integers within documented bounds, finite numbers of seconds within a week, lists of
them. Files are not opened here; paths go through the doors (:mod:`dnsrace.app.doors`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, NoReturn

from dnsrace.app.doors.text import safe_text

__all__ = [
    "MAX_DEPTH",
    "MAX_JOBS",
    "MAX_RUNS",
    "MAX_SECONDS",
    "OneLineParser",
    "UsageError",
    "add_checker_bounds",
    "bounded_int",
    "checker_bound",
    "count",
    "deadline",
    "number",
    "number_list",
    "seconds",
    "seed_range",
]

MAX_RUNS = 10_000_000
"""Most runs per discipline of ``dnsrace explore`` (about a day of exploration here)."""
MAX_JOBS = 1024
MAX_DEPTH = 100
"""Deepest PCT bug depth."""
MAX_SECONDS = 7 * 86_400.0
"""Longest duration an option takes (timeouts, simulated spans): one week."""
MAX_COUNT = 2**63 - 1
"""Largest unbounded count (a seed): what the store's 64-bit fields hold."""
MAX_NUMBER_CHARS = 100
"""Longest numeric option text: more is never a useful number."""


class UsageError(Exception):
    """Bad input found by a command: reported as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one safe line and exit status 2 (not the
    usage): the message may quote what was typed, so it goes through the safe printer."""

    def error(self, message: str) -> NoReturn:
        from dnsrace.app.doors.text import error_line

        # One prefix for every command, so a script can match "dnsrace: error:".
        self.exit(2, error_line(message) + "\n")


def _shown(text: str) -> str:
    return repr(safe_text(text, 60))


def bounded_int(minimum: int, maximum: int) -> type:
    """An argparse type: an integer in ``minimum..maximum`` (the message says which)."""

    class _Bounded(int):
        def __new__(cls, text: str) -> _Bounded:
            if len(text) > MAX_NUMBER_CHARS:
                raise argparse.ArgumentTypeError(
                    f"must be in {minimum}..{maximum}, got {len(text)} characters"
                )
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"must be an integer, got {_shown(text)}"
                ) from None
            if not minimum <= value <= maximum:
                raise argparse.ArgumentTypeError(f"must be in {minimum}..{maximum}, got {value}")
            return super().__new__(cls, value)

    _Bounded.__name__ = f"integer in {minimum}..{maximum}"
    return _Bounded


def count(minimum: int) -> type:
    """An argparse type: an integer >= ``minimum`` that fits in 63 bits."""
    return bounded_int(minimum, MAX_COUNT)


def number(
    kind: str,
    *,
    low: float = 0.0,
    low_open: bool = False,
    high: float = MAX_SECONDS,
) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` with
    ``low_open``); ``kind`` names it in the message."""
    sign = ">" if low_open else ">="

    def parse(text: str) -> float:
        if len(text) > MAX_NUMBER_CHARS:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {len(text)} characters")
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {_shown(text)}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {sign} {low:g}, got {_shown(text)}"
            )
        if value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {_shown(text)}")
        return value

    parse.__name__ = kind
    return parse


seconds = number("a number of seconds", low_open=True)
"""Seconds > 0, at most a week."""


def deadline(text: str) -> float:
    """Seconds > 0, or ``none`` (no deadline: infinity; None means not given)."""
    if text == "none":
        return math.inf
    try:
        return number("seconds or 'none'", low_open=True)(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or 'none')") from None


def checker_bound(name: str) -> Callable[[str], Any]:
    """The checker's own argparse type ``dnsrace.history.NAME`` (its bounds live in the Rust
    core), imported when an option is parsed so that the parser builds without the ``sim``
    extra."""

    def parse(text: str) -> Any:
        try:
            from dnsrace import history
        except ImportError as exc:
            raise argparse.ArgumentTypeError(
                f"the checker needs the 'sim' extra ({exc.name} is not installed): "
                "pip install 'dnsrace[sim]'"
            ) from None
        return getattr(history, name)(text)

    parse.__name__ = name
    return parse


def add_checker_bounds(p: argparse.ArgumentParser, *, what: str = "") -> None:
    """The checker's two bounds, ``--timeout`` and ``--max-states``, as ``check`` and ``view``
    both take them (defaults and limits: docs/reference/bounds.md, "Checker"); ``what``
    prefixes the help ("history: " where the command reads other inputs too)."""
    p.add_argument(
        "--timeout",
        type=checker_bound("timeout_option"),
        metavar="S",
        help=f"{what}give the checker at most S seconds, at most a day (default 60); past it "
        "the verdict is unknown, exit 3",
    )
    p.add_argument(
        "--max-states",
        type=checker_bound("max_states_option"),
        metavar="N",
        help=f"{what}the checker keeps at most N states per endpoint (default 8000000, about "
        "140 MB); past it the verdict is unknown, exit 3",
    )


def number_list(
    item: Callable[[str], float], most: int = 100
) -> Callable[[str], tuple[float, ...]]:
    """A comma-separated list of ``item`` values, at most ``most`` of them."""

    def parse(text: str) -> tuple[float, ...]:
        parts = [v for v in text.split(",") if v.strip()]
        if len(parts) > most:
            raise argparse.ArgumentTypeError(f"at most {most} values, got {len(parts)}")
        values = tuple(item(v.strip()) for v in parts)
        if not values:
            raise argparse.ArgumentTypeError("empty list")
        return values

    parse.__name__ = "list"
    return parse


MAX_SEED_RANGE = 100_000
"""Most seeds of one ``--seeds A-B`` range."""


def seed_range(text: str) -> tuple[int, int]:
    """``A-B`` (or ``A``): the seeds A..B inclusive, A <= B, at most MAX_SEED_RANGE of them."""
    if len(text) > MAX_NUMBER_CHARS:
        raise argparse.ArgumentTypeError(f"must be A-B, got {len(text)} characters")
    low, sep, high = text.strip().partition("-")
    try:
        a = int(low)
        b = int(high) if sep else a
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be A-B (seeds), got {_shown(text)}") from None
    if not 0 <= a <= b <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be A-B with 0 <= A <= B, got {_shown(text)}")
    if b - a + 1 > MAX_SEED_RANGE:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_SEED_RANGE:,} seeds, got {b - a + 1:,} ({_shown(text)})"
        )
    return a, b
