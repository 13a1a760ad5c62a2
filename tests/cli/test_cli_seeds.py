"""``--seeds A-B`` on the command line: the rates document, and one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest


def _dnsrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dnsrace", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_incident_seed_range_writes_the_rates(tmp_path: Path) -> None:
    out = tmp_path / "rates.json"
    done = _dnsrace(
        "incident", "--endpoints", "40", "--duration", "120", "--discipline", "aws2025,cas",
        "--seeds", "1-2", "--jobs", "1", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "regional incident / h" in done.stdout
    doc = orjson.loads(out.read_bytes())
    assert doc["kind"] == "rates" and doc["seeds"] == [1, 2]
    assert list(doc["rates"]) == ["aws2025", "cas"]
    assert [r["seed"] for r in doc["per_seed"]["cas"]] == [1, 2]
    low, high = doc["rates"]["cas"]["regional_incident_per_hour"]["wilson95"]
    assert 0 <= low <= high <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "5-3"], "--seeds"),
        (["--seeds", "x"], "--seeds"),
        (["--seeds", "1-200000"], "at most"),
        (["--seeds", "1-2", "--seed", "4"], "cannot be combined with --seed"),
        (["--seeds", "1-2", "--schedule", "pct"], "cannot be combined with --schedule"),
    ],
)
def test_bad_seed_ranges_are_one_line(args: list[str], message: str) -> None:
    done = _dnsrace("incident", "--endpoints", "10", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_run_seed_range_takes_the_file_and_its_overrides(tmp_path: Path) -> None:
    out = tmp_path / "rates.json"
    scenario = Path(__file__).parents[2] / "scenarios" / "incident.toml"
    done = _dnsrace(
        "run", str(scenario), "--set", "endpoints.count=30", "--set", "duration_s=60.0",
        "--discipline", "cas", "--seeds", "3-4", "--jobs", "1", "--quiet", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = orjson.loads(out.read_bytes())
    assert doc["endpoints"] == 31 and doc["duration_s"] == 60.0
    assert [r["seed"] for r in doc["per_seed"]["cas"]] == [3, 4]
    assert doc["rates"]["cas"]["stuck_endpoints"]["max"] == 0
