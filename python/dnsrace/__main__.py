"""``python -m dnsrace``: the same command line as the ``dnsrace`` console script."""

from __future__ import annotations

import sys

from dnsrace.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
