"""Copy the report's summary into the README's benchmark section, between the same markers:
``python -m bench.suite.readme [REPORT.md] [README.md]`` (``make readme-bench``). Links are
rewritten to work from the README's directory. Exit 2 with one line when a file or a marker
is missing."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.suite.report import SUMMARY_BEGIN, SUMMARY_END


class MarkerError(Exception):
    pass


def _block(text: str, where: str) -> tuple[int, int]:
    start, end = text.find(SUMMARY_BEGIN), text.find(SUMMARY_END)
    if start < 0 or end < start:
        raise MarkerError(f"{where}: no {SUMMARY_BEGIN} ... {SUMMARY_END} block")
    return start, end + len(SUMMARY_END)


def splice(report: str, readme: str) -> str:
    a, b = _block(report, "report")
    summary = report[a:b]
    c, d = _block(readme, "README")
    return readme[:c] + summary + readme[d:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = Path(args[0] if args else "bench/results/REPORT.md")
    readme = Path(args[1] if len(args) > 1 else "README.md")
    try:
        new = splice(report.read_text(), readme.read_text())
    except (OSError, MarkerError) as exc:
        print(f"python -m bench.suite.readme: error: {exc}", file=sys.stderr)
        return 2
    readme.write_text(new)
    print(f"{readme}: benchmark summary copied from {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
