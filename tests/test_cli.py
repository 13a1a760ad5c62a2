"""The command line: incident and run, outputs, and one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from dnsrace.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--endpoints", "60", "--duration", "90"]

REQUIRED = {
    "stale_flips",
    "empty_answers",
    "empty_endpoint_seconds",
    "stuck_endpoints",
    "stuck_endpoint_seconds",
    "converged",
    "convergence_s",
    "goodput_flips_per_s",
    "wasted_writes",
    "lock_retries",
    "correct_time_fraction",
    "regional",
}


def test_incident_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "r.json", tmp_path / "t.png"
    assert main(["incident", *SMALL, "--seed", "3", "--json", str(out), "--plot", str(png)]) == 0
    doc = orjson.loads(out.read_bytes())
    assert {"scenario", "seed", "clock", "endpoints", "enactors", "results"} <= doc.keys()
    assert (doc["scenario"], doc["seed"], doc["clock"]) == ("incident", 3, "virtual")
    assert (doc["endpoints"], doc["enactors"]) == (61, 3)
    assert list(doc["results"]) == sorted(doc["results"])  # sorted keys
    assert set(doc["results"]) == {
        "lww",
        "aws2025",
        "lease",
        "fenced",
        "cas",
        "aws2025+safe_cleanup",
        "aws2025+safe_cleanup+store_cas",
    }
    for metrics in doc["results"].values():
        assert metrics.keys() >= REQUIRED
        assert {"p50", "p99", "max"} == metrics["convergence_s"].keys()
        assert {"empty_seconds", "stuck", "final_generation"} <= metrics["regional"].keys()
    assert "perf" not in doc
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    assert "stale flips" in captured.out and "aws2025" in captured.out
    assert "wall" in captured.err  # perf lines go to stderr


def test_single_discipline_and_perf(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(["incident", *SMALL, "--discipline", "cas", "--perf", "--quiet", "--json", str(out)])
        == 0
    )
    doc = orjson.loads(out.read_bytes())
    assert list(doc["results"]) == ["cas"]
    assert {"wall_s", "store_s", "store_share", "cpu_s"} <= doc["perf"]["cas"].keys()


def test_run_scenario_file_with_overrides(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "incident.toml"),
            "--discipline",
            "fenced,cas",
            "--seed",
            "2",
            "--duration",
            "60",
            "--json",
            "-",
            "--quiet",
        ]
    )
    assert code == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    assert list(doc["results"]) == ["cas", "fenced"] and doc["seed"] == 2
    assert doc["duration_s"] == 60.0


def test_run_real_clock(tmp_path: Path) -> None:
    path = tmp_path / "real.toml"
    path.write_text(
        'clock = "real"\nduration_s = 0.6\ndrain_s = 2.0\n'
        "[endpoints]\ncount = 30\n[planner]\ninterval_s = 0.2\n"
        "[enactors]\nflip_latency_s = 0.0\nlock_latency_s = 0.0\npickup_jitter_s = 0.01\n"
        '[disciplines]\npresets = ["cas"]\n'
    )
    out = tmp_path / "real.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    doc = orjson.loads(out.read_bytes())
    assert doc["clock"] == "real" and "perf" in doc  # wall-clock figures: real runs only
    assert doc["results"]["cas"]["converged"]


BAD_ARGS = [
    (["incident", "--endpoints", "-5"], "--endpoints"),
    (["incident", "--enactors", "0"], "--enactors"),
    (["incident", "--seed", "x"], "--seed"),
    (["incident", "--discipline", "yolo"], "yolo"),
    (["incident", "--clock", "sundial"], "--clock"),
    (["incident", "--duration", "0"], "--duration"),
    (["incident", "--store", "redis"], "--store"),
    (["incident", "--json", "/nonexistent/dir/r.json"], "--json"),
    (["bogus"], "bogus"),
]


@pytest.mark.parametrize(("argv", "needle"), BAD_ARGS)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dnsrace: error:") and needle in err


BAD_FILES = [
    ("[endpoints\ncount = 1", "malformed TOML"),
    ("[endpoints]\ncount = -1", "endpoints.count"),
    ("[enactors]\nlease_ttl_s = 0", "enactors.lease_ttl_s"),
    ("[disciplines]\npresets = ['nope']", "disciplines.presets"),
    ("[planner]\nspeed = 3", "planner.speed"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_FILES)
def test_bad_scenario_files_exit_2_and_write_nothing(
    tmp_path: Path, text: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out, png = tmp_path / "r.json", tmp_path / "p.png"
    assert main(["run", str(path), "--json", str(out), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_python_dash_m(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dnsrace",
            "incident",
            *SMALL,
            "--discipline",
            "cas",
            "--quiet",
            "--json",
            "-",
        ],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["results"]["cas"]["stale_flips"] == 0
    bad = subprocess.run(
        [sys.executable, "-m", "dnsrace", "incident", "--enactors", "-1"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1
