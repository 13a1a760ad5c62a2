"""Every ```python block of the documentation pages runs.

Each page's python blocks run in order, as one program, in a fresh interpreter whose working
directory is a temporary directory holding only a link to ``scenarios/``; the page fails if any
block raises. A block whose first line is ``# not run: <reason>`` is left out (for fragments
that cannot run alone).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    return [b for b in blocks if not b.lstrip().startswith("# not run:")]


def _sections(page: Path) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_library_guide_runs_an_example_of_each_topic() -> None:
    """Issue 18's guide: one page, and each of its topics shown by code that runs."""
    sections = _sections(ROOT / "docs" / "guide" / "store.md")
    topics = (
        "Arrays in and out",
        "Leases with fencing",
        "asyncio",
        "Threads and the interpreter lock",
        "Histories and `dnsrace check`",
        "Determinism with `dnsrace.clock`",
    )
    for topic in topics:
        blocks = [b for b in BLOCK.findall(sections[topic]) if not b.startswith("# not run:")]
        assert blocks, f"no runnable example under {topic!r}"


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    program = "\n\n".join(python_blocks(page))
    script = tmp_path / "example.py"
    script.write_text(program, encoding="utf-8")
    # Pages name the shipped scenarios by their path from the project's root.
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{page.relative_to(ROOT)}:\n{done.stderr}"
