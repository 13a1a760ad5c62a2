"""mkdocs hook: pages generated at build time, so that they cannot drift from what they describe.

* ``reference/cli.md``: every subcommand of ``dnsrace.app.cli.build_parser()`` with the help
  its parser prints (subcommands whose options another module parses are asked for their
  ``--help`` through ``dnsrace.app.cli.main``, which is what a user would see).
* ``reference/bench-report.md`` and ``reference/bench-report-full.md``: the benchmark suite's
  generated reports (``bench/results/REPORT.md``, ``bench/results/full/REPORT.md``) with their
  pictures. Measured figures are quoted from these, never typed into a page.

Registered in ``mkdocs.yml`` under ``hooks:``; the build imports ``dnsrace``, so it runs in the
project's ``.venv`` after ``make build`` (``make docs``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
REPORTS = {
    "reference/bench-report.md": ROOT / "bench" / "results",
    "reference/bench-report-full.md": ROOT / "bench" / "results" / "full",
}
HELP_WIDTH = "100"  # fixed, so the page does not depend on the terminal of whoever builds it


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.items())
    return found


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    out: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                out[choice.dest] = choice.help or ""
    return out


def _delegated_help(path: list[str]) -> str:
    """The help a placeholder subcommand prints: its options are parsed elsewhere."""
    from dnsrace.app.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*path, "--help"])
    return out.getvalue()


def _is_placeholder(parser: argparse.ArgumentParser) -> bool:
    return not parser.add_help and not parser._actions


def _walk(parser: argparse.ArgumentParser, path: list[str], lines: list[str]) -> None:
    summaries = _summaries(parser)
    for name, sub in _subcommands(parser):
        full = [*path, name]
        text = _delegated_help(full) if _is_placeholder(sub) else sub.format_help()
        lines += [f"## `dnsrace {' '.join(full)}`", ""]
        if summaries.get(name):
            lines += [summaries[name][0].upper() + summaries[name][1:] + ".", ""]
        lines += ["```text", text.rstrip(), "```", ""]
        if not _is_placeholder(sub):
            _walk(sub, full, lines)


def cli_reference() -> str:
    from dnsrace.app.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        parser = build_parser()
        lines = [
            "# Command-line reference",
            "",
            "Generated when the site is built, from the parsers of `dnsrace.app.cli."
            "build_parser()` (each subcommand's `--help`); it cannot drift from the code.",
            "Exit statuses: 0 ok, 1 a violation (or an illegal history), 2 bad usage or input"
            " (one line on stderr, nothing written), 3 unknown (a check that ran out of time).",
            "`python -m dnsrace` takes the same command line.",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
            "",
        ]
        _walk(parser, [], lines)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(lines) + "\n"


def _report_page(src_uri: str, folder: Path) -> tuple[str, list[Path]]:
    report = folder / "REPORT.md"
    text = report.read_text(encoding="utf-8")
    # The report links to itself by its path in the repository; on the site it is this page.
    rel = report.relative_to(ROOT).as_posix()
    text = text.replace(f"]({rel})", f"]({Path(src_uri).name})")
    pictures = [folder / name for name in re.findall(r"!\[[^\]]*\]\(([^)/]+\.png)\)", text)]
    prefix = Path(src_uri).stem + "-"
    for picture in pictures:
        text = text.replace(f"]({picture.name})", f"]({prefix}{picture.name})")
    return text, pictures


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "reference/cli.md", content=cli_reference()))
    for src_uri, folder in REPORTS.items():
        text, pictures = _report_page(src_uri, folder)
        files.append(File.generated(config, src_uri, content=text))
        base = Path(src_uri)
        for picture in pictures:
            uri = (base.parent / f"{base.stem}-{picture.name}").as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(picture)))
    return files
