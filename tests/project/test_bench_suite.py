"""The benchmark suite's machinery on tiny sizes (``bench/suite``): not its timings, but that a
run renders every section, that a peer that cannot start becomes a "skipped" row with its
reason, that every target gets a verdict, and that bad sweep arguments exit 2 with one line.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from bench.suite import __main__ as suite_main
from bench.suite import readme
from bench.suite.peers.redis import redis_binary
from bench.suite.report import SECTION_TITLES, SUMMARY_BEGIN, SUMMARY_END
from bench.suite.sweeps import peers

ROOT = Path(__file__).resolve().parents[2]
MISSING_REDIS = "redis-server-not-here"
TINY = [
    "--sizes", "300",
    "--cas-size", "300",
    "--peers", "RecordStore,PyRecordStore,Redis",
    "--rounds", "2",
    "--single-calls", "50",
    "--threads", "1,2",
    "--contention-batch", "500",
    "--fit-size", "2000",
    "--sim-sizes", "30,60",
    "--sim-duration", "60",
    "--sim-presets", "cas,aws2025",
    "--pause", "0.1,10",
    "--enactors", "2..4",
    "--rate", "30",
    "--runs", "2",
]  # fmt: skip


@functools.cache
def _tiny_run_once() -> tuple[Path, dict[str, Any]]:
    # Once per process, not per fixture set-up: an xdist worker that runs out of queued tests
    # tears its module fixtures down, and make test's log showed this run set up twice.
    out = Path(tempfile.mkdtemp(prefix="suite-"))
    atexit.register(shutil.rmtree, out, True)
    env = {**os.environ, "DNSRACE_REDIS": MISSING_REDIS, "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--out", str(out), *TINY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out, orjson.loads((out / "suite.json").read_bytes())


@pytest.fixture(scope="module")  # module scope: conftest keeps its tests on one xdist worker
def tiny_run() -> tuple[Path, dict[str, Any]]:
    """One tiny quick run with Redis made unavailable (its binary name points nowhere)."""
    return _tiny_run_once()


@pytest.mark.slow
def test_report_renders_every_section(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    out, doc = tiny_run
    text = (out / "REPORT.md").read_text()
    for title in SECTION_TITLES:
        assert f"\n{title}\n" in text, title
    assert text.count(SUMMARY_BEGIN) == 1 and text.count(SUMMARY_END) == 1
    for section in ("peers", "fit", "contention", "sim", "violations"):
        assert doc[section], section
    for png in ("throughput", "cas_overhead", "contention", "sim_cost", "violations"):
        assert (out / f"{png}.png").stat().st_size > 1000, png
        assert f"]({png}.png)" in text
    # Every (peer, size) pair is in the document, measured or with a reason.
    pairs = {(r["peer"], r["n"]) for r in doc["peers"]}
    assert pairs == {(p, n) for p in ("RecordStore", "PyRecordStore", "Redis") for n in (300,)}
    ok = [r for r in doc["peers"] if r["status"] == "ok"]
    assert {r["peer"] for r in ok} == {"RecordStore", "PyRecordStore"}
    assert all(r["batch_rate"]["if_newer"] > 0 for r in ok)
    # PyRecordStore was timed next to a RecordStore in its own process, call by call.
    py = next(r for r in ok if r["peer"] == "PyRecordStore")
    assert set(py["batch_vs_reference"]) == {"lww", "if_newer", "exact", "fenced"}
    assert all(v > 0 for v in py["batch_vs_reference"].values())
    # The profile ran at the CAS size: every mode, single calls and leases.
    prof = [r for r in ok if r["profile"]]
    assert {r["n"] for r in prof} == {300}
    assert all(set(r["single_s"]) == {"lww", "if_newer", "exact", "fenced"} for r in prof)
    assert doc["fit"]["runs"] and doc["fit"]["flips_applied"] == [2000, 2000]
    # The exploration is real: cas never violates, the 2025 enactor at 10x TTL pauses does.
    cas = [r for r in doc["violations"] if r["preset"] == "cas"]
    assert cas and all(r["violating_runs"] == 0 for r in cas)
    assert "Measured flat at zero: cas." in text
    # The fitted exponents: over every size and between the two largest, per preset.
    assert re.search(r"\n\| cas \| -?\d+\.\d\d \| -?\d+\.\d\d \|\n", text)
    assert {r["value"] for r in doc["violations"] if r["axis"] == "enactors"} == {2, 4}


@pytest.mark.slow
def test_the_sweeps_results_are_kept_apart_from_their_timing(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    out, doc = tiny_run
    # Every scenario-sweep row measured its speed, under "timing" only.
    rows = doc["sim"]["rows"] + doc["violations"]
    assert all(r["timing"]["wall_s"] > 0 and "wall_s" not in r for r in rows)
    assert set(doc["sim"]["timing"]) == {"exponent", "exponent_top"}
    assert doc["campaign"] == {"executor": "local", "workers": 1, "address": None}
    # sweeps.json: the same rows in the same order, without any timing.
    results = orjson.loads((out / "sweeps.json").read_bytes())
    assert b"timing" not in (out / "sweeps.json").read_bytes()
    assert results["sim"] == [
        {k: v for k, v in r.items() if k != "timing"} for r in doc["sim"]["rows"]
    ]
    assert [(r["axis"], r["value"], r["preset"]) for r in results["violations"]] == [
        (r["axis"], r["value"], r["preset"]) for r in doc["violations"]
    ]


@pytest.mark.slow
def test_missing_peer_is_a_skipped_row_with_its_reason(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    out, doc = tiny_run
    skipped = [r for r in doc["peers"] if r["peer"] == "Redis"]
    assert skipped and all(r["status"] == "skipped" for r in skipped)
    assert all(MISSING_REDIS in r["reason"] for r in skipped)
    text = (out / "REPORT.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 300 | Redis |")]
    assert len(rows) == 1 and f"**skipped**: {MISSING_REDIS} not found" in rows[0]


@pytest.mark.slow
def test_every_target_has_a_verdict_and_tiny_sizes_pass_none_falsely(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = tiny_run
    text = (out / "REPORT.md").read_text()
    verdicts = [line for line in text.splitlines() if "| **" in line and "target" not in line]
    table = [line for line in verdicts if line.split("|")[2].strip().startswith("**")]
    assert len(table) == 9
    # Nothing ran at 500,000 or at 1M: those targets cannot pass.
    assert "at 500,000 >= 1000x Redis | **MISS**" in text
    assert "at 500,000 >= 1.5x the numpy peer | **MISS** | numpy not measured" in text
    assert "fits and runs | **MISS** | 2,000 endpoints" in text


def test_a_peer_that_fails_half_way_is_a_failed_row() -> None:
    row = peers.measure(peers.PeerTask("PyRecordStore", 0, 1, False, 10, 10))
    assert row["status"] == "failed" and row["reason"]


@pytest.mark.redis
@pytest.mark.skipif(
    redis_binary() is None and not os.environ.get("DNSRACE_REQUIRE_REDIS"),
    reason="redis-server is not installed (make test installs it)",
)
def test_redis_peer_measures_real_work() -> None:
    row = peers.measure(peers.PeerTask("Redis", 200, 1, True, 20, 50))
    assert row["status"] == "ok", row.get("reason")
    assert set(row["batch_over_lww"]) == {"lww", "if_newer", "exact", "fenced"}
    assert row["bytes_per_endpoint"] > 0
    assert all(v is not None and v > 0 for v in row["lease_batch_s"].values())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--axes", "pause,bogus"], "unknown 'bogus'"),
        (["--sizes", ""], "empty range"),
        (["--enactors", "8..2"], "empty range"),
        (["--sizes=-5"], "must be positive"),
        (["--sizes", "10,abc"], "not an integer"),
        (["--peers", "Cassandra"], "unknown 'Cassandra'"),
        (["--profile", "huge"], "invalid choice"),
        (["--executor", "cluster"], "invalid choice"),
        (["--address", "127.0.0.1:6379"], "--address: needs --executor ray"),
        (["--executor", "ray", "--address", "nowhere"], "expected HOST:PORT"),
        (["--executor", "ray", "--address", "127.0.0.1:1"], "cannot reach the Ray cluster"),
        (["--executor", "ray", "--sections", "fit"], "no scenario sweep"),
        (["--workers", "0"], "must be positive"),
        (["--workers", "1,2"], "one value"),
        (["--out", "/dev/zero"], "is not a directory"),
        (["--out", __file__ + "/results"], "is not a directory"),
    ],
)
def test_bad_sweep_arguments_exit_2_with_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        suite_main.main(args)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and needle in lines[0], captured.err


def test_bad_arguments_exit_2_from_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--sizes=-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr


def test_readme_gets_the_summary_between_markers(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text(f"# r\n{SUMMARY_BEGIN}\nnew figures\n{SUMMARY_END}\nrest\n")
    target = tmp_path / "README.md"
    target.write_text(f"intro\n{SUMMARY_BEGIN}\nold figures\n{SUMMARY_END}\noutro\n")
    assert readme.main([str(report), str(target)]) == 0
    assert target.read_text() == f"intro\n{SUMMARY_BEGIN}\nnew figures\n{SUMMARY_END}\noutro\n"
    target.write_text("no markers\n")
    assert readme.main([str(report), str(target)]) == 2
    assert target.read_text() == "no markers\n"


def test_the_summary_link_points_at_the_docs_page(tmp_path: Path) -> None:
    report = tmp_path / "REPORT.md"
    report.write_text(f"{SUMMARY_BEGIN}\nfull report: [r]({report.as_posix()})\n{SUMMARY_END}\n")
    page = tmp_path / "benchmarks.md"
    page.write_text(f"intro\n{SUMMARY_BEGIN}\nold\n{SUMMARY_END}\n")
    assert readme.main([str(report), str(page), "../reference/bench-report.md"]) == 0
    assert "[r](../reference/bench-report.md)" in page.read_text()
