"""Copy the report's summary into a page, between the same markers:
``python -m bench.suite.readme [REPORT.md] [PAGE.md] [LINK]`` (``make bench-summary``: into the
docs site's benchmark guide). The summary links to the full report by its path in the
repository; LINK, when given, replaces that link (on the docs site the report is a generated
page). Exit 2 with one line when a file or a marker is missing."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.suite.report import SUMMARY_BEGIN, SUMMARY_END

DEFAULT_PAGE = "docs/guide/benchmarks.md"


class MarkerError(Exception):
    pass


def _block(text: str, where: str) -> tuple[int, int]:
    start, end = text.find(SUMMARY_BEGIN), text.find(SUMMARY_END)
    if start < 0 or end < start:
        raise MarkerError(f"{where}: no {SUMMARY_BEGIN} ... {SUMMARY_END} block")
    return start, end + len(SUMMARY_END)


def splice(report: str, page: str, links: dict[str, str] | None = None) -> str:
    a, b = _block(report, "report")
    summary = report[a:b]
    for old, new in (links or {}).items():
        summary = summary.replace(f"]({old})", f"]({new})")
    c, d = _block(page, "page")
    return page[:c] + summary + page[d:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = Path(args[0] if args else "bench/results/REPORT.md")
    page = Path(args[1] if len(args) > 1 else DEFAULT_PAGE)
    links = {report.as_posix(): args[2]} if len(args) > 2 else None
    try:
        new = splice(report.read_text(), page.read_text(), links)
    except (OSError, MarkerError) as exc:
        print(f"python -m bench.suite.readme: error: {exc}", file=sys.stderr)
        return 2
    page.write_text(new)
    print(f"{page}: benchmark summary copied from {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
