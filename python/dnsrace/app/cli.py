"""Command line: ``dnsrace COMMAND ...``, one module per command in
:mod:`dnsrace.app.commands`, one dispatch path.

Every command meets the same doors: its files are read through
:mod:`dnsrace.app.doors.inputs` (regular files only, size and depth capped before parsing), its
outputs resolved through :mod:`dnsrace.app.doors.outputs` before it runs (never a special file
or one of its inputs; atomic writes), its messages printed through
:mod:`dnsrace.app.doors.text`. Exit status (docs/reference/exit-codes.md): 0 ok, 1 violation
found (``check``: illegal), 2 usage, input or output error (one line on stderr), 3 unknown
(``check``: the time bound ran out).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dnsrace.app.args import OneLineParser, UsageError
from dnsrace.app.doors.extras import require
from dnsrace.app.doors.inputs import InputError
from dnsrace.app.doors.text import print_error
from dnsrace.sim.pool import EXIT_TERMINATED, Terminated

__all__ = ["EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every command and its options (the CLI reference is generated
    from it)."""
    from dnsrace.app.commands import modules

    parser = OneLineParser(
        prog="dnsrace",
        description="Reproduce, measure and prevent the planner/enactor DNS race of Oct 2025.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for module in modules():
        module.register(sub)
    return parser


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Every error that means "bad input": one line, exit status 2."""
    from dnsrace.collapse.config import CollapseError
    from dnsrace.errors import DnsraceError
    from dnsrace.schema.errors import ScenarioError
    from dnsrace.sim.disciplines import DisciplineError

    return (UsageError, InputError, ScenarioError, DisciplineError, CollapseError, DnsraceError)


def _check_parsed(args: argparse.Namespace) -> None:
    """argparse turns ``--option=--`` into an empty list instead of an error: refuse what is
    not one value (``--set`` collects several, each one text)."""
    for name, value in vars(args).items():
        if name == "set":
            value = [v for v in value if not isinstance(v, str)]
        if isinstance(value, list) and (name != "set" or value):
            raise UsageError(f"--{name.replace('_', '-')}: expected one value")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (argparse's own errors exit by
    SystemExit with status 2 and one line)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        _check_parsed(args)
        require("sim", f"dnsrace {args.command}", args.needs)
        status: int = args.handler(args)
        return status
    except _usage_errors() as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        # SIGTERM while worker processes ran (dnsrace.sim.pool): they are gone already.
        print_error("terminated")
        return EXIT_TERMINATED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
