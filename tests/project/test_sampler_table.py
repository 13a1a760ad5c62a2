"""The generated sampler table (bench/results/samplers.json and .md, `python -m bench.samplers`)
and what follows from it: the default sampler of `dnsrace explore` is the table's pick, the
docs include the generated file instead of retyping it, and a sampler that misses a violation
another sampler finds reads as a miss, not as safe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench.samplers import SAMPLERS, TABLE_SCENARIOS, markdown, pick_default

from dnsrace.app.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((RESULTS / "samplers.json").read_text())
    return doc


def test_the_table_covers_three_scenarios_every_sampler_and_50_seeds(table: dict[str, Any]) -> None:
    assert table["seeds"] == 50
    assert {r["scenario"] for r in table["rows"]} == set(TABLE_SCENARIOS)
    for scenario in TABLE_SCENARIOS:
        presets = {r["preset"] for r in table["rows"] if r["scenario"] == scenario}
        assert {"lww", "aws2025"} <= presets
        for preset in presets:
            samplers = [
                r["sampler"]
                for r in table["rows"]
                if r["scenario"] == scenario and r["preset"] == preset
            ]
            assert samplers == [label for label, _, _ in SAMPLERS]
    for r in table["rows"]:
        assert len(r["any"]["firsts"]) == 50
        assert r["runs_per_s"] > 0


def test_the_default_sampler_of_explore_is_the_tables_pick(
    table: dict[str, Any], tmp_path: Path
) -> None:
    assert table["default"] == pick_default(table["rows"])
    out = tmp_path / "explore.json"
    spin = str(ROOT / "scenarios" / "spin.toml")
    argv = ["explore", spin, "--discipline", "cas", "--runs", "1", "--quiet", "--json", str(out)]
    assert cli_main(argv) == 0
    assert json.loads(out.read_text())["schedule"] == table["default"]


def test_the_markdown_is_the_json_rendered(table: dict[str, Any]) -> None:
    assert (RESULTS / "samplers.md").read_text() == markdown(table)


def test_a_missed_violation_reads_as_never_found_not_as_safe(table: dict[str, Any]) -> None:
    # Every (scenario, preset, kind) that one sampler never found while another did is
    # rendered as "never found" in that sampler's row.
    text = markdown(table)
    lines = {(r["scenario"], r["preset"], r["sampler"]): r for r in table["rows"]}
    for (scenario, preset, sampler), r in lines.items():
        for kind in ("any", "empty_answer"):
            if r[kind] is None or r[kind]["found"] > 0:
                continue
            others = [
                o[kind]["found"]
                for (s, p, _), o in lines.items()
                if s == scenario and p == preset and o[kind] is not None
            ]
            assert max(others) > 0, (scenario, preset, kind)  # a real miss, not a safe preset
            row = next(
                line
                for line in text.splitlines()
                if line.startswith(f"| {scenario} | `{preset}` | {sampler} |")
            )
            assert "never found" in row


def test_the_docs_include_the_generated_tables_instead_of_typing_them() -> None:
    page = (ROOT / "docs" / "guide" / "exploration.md").read_text()
    assert '--8<-- "bench/results/samplers.md"' in page
    assert "| scenario | preset | sampler |" not in page
    campaigns = (ROOT / "docs" / "guide" / "campaigns.md").read_text()
    assert '--8<-- "bench/results/campaign.md"' in campaigns
