"""The bounded search's counts in docs/guide/exploration.md are the searches' own: each row is
re-run here and compared with the guide (``python -m bench.dfs_table --write`` writes them;
the bound-3 rows, minutes each, are only generated)."""

from __future__ import annotations

import pytest
from bench.dfs_table import HEADER, ROWS, Row, guide_table, render_row, search


def _guide_rows() -> list[str]:
    table = guide_table()
    assert table.startswith(HEADER)
    return table[len(HEADER) :].strip().splitlines()


def test_the_guide_has_one_line_per_search() -> None:
    assert len(_guide_rows()) == len(ROWS)


@pytest.mark.parametrize("row", [r for r in ROWS if r.fast], ids=str)
def test_the_guides_fast_rows_are_what_the_search_finds(row: Row) -> None:
    assert _guide_rows()[ROWS.index(row)] == render_row(row, search(row))


@pytest.mark.slow
@pytest.mark.parametrize("row", [r for r in ROWS if r.checked and not r.fast], ids=str)
def test_the_guides_slow_rows_are_what_the_search_finds(row: Row) -> None:
    assert _guide_rows()[ROWS.index(row)] == render_row(row, search(row))
