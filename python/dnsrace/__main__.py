"""``python -m dnsrace`` and the ``dnsrace`` console script: the command line, imported only
here so that a store-only install (``pip install dnsrace``, without the ``sim`` extra) gets one
line naming the extra (exit status 2) instead of a traceback from an import deep inside it."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``dnsrace.app.cli.main``); exit status 2 if a package it needs is
    missing."""
    try:
        from dnsrace.app.cli import main as cli_main
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"dnsrace: the command line needs the 'sim' extra ({exc.name} is not installed): "
            "pip install 'dnsrace[sim]'\n"
        )
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
