"""The command line: incident, run and explore, outputs, and one-line errors for bad input."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from dnsrace.app.cli import main
from dnsrace.sim.explore import violations

ROOT = Path(__file__).resolve().parents[2]
SPIN = str(ROOT / "scenarios" / "spin.toml")
SMALL = ["--endpoints", "200", "--duration", "90"]
SPIN_PRESETS = {"aws2025", "aws2025+safe_cleanup", "aws2025+checked_cleanup", "cas", "fenced"}

REQUIRED = {
    "stale_flips",
    "empty_answers",
    "empty_endpoint_seconds",
    "empty_endpoints",
    "stuck_endpoints",
    "stuck_at_end",
    "stuck_endpoint_seconds",
    "converged",
    "final_converged",
    "convergence_s",
    "goodput_flips_per_s",
    "useful_flips",
    "wasted_writes",
    "plans_skipped",
    "alarms",
    "repairs",
    "lock_retries",
    "correct_time_fraction",
    "fleet",
    "regional",
}
FLEET = {
    "stale_flips",
    "empty_endpoint_seconds",
    "stuck_endpoints",
    "stuck_at_end",
    "stuck_endpoint_seconds",
}
EXPLORE_KEYS = {"scenario", "schedule", "depth", "seed", "runs", "results"}
PRESET_KEYS = {"runs", "violating_runs", "by_kind", "first_violation_seed", "runs_per_s"}
KIND_KEYS = {"stale_flip", "empty_answer", "stuck", "not_converged"}


# ------------------------------------------------------------------------------ incident, run


@pytest.mark.slow
def test_incident_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "r.json", tmp_path / "t.png"
    assert main(["incident", *SMALL, "--seed", "3", "--json", str(out), "--plot", str(png)]) == 0
    doc = orjson.loads(out.read_bytes())
    assert {"scenario", "seed", "clock", "endpoints", "enactors", "results"} <= doc.keys()
    assert (doc["scenario"], doc["seed"], doc["clock"]) == ("incident", 3, "virtual")
    assert (doc["endpoints"], doc["enactors"]) == (201, 3)
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
        assert metrics["fleet"].keys() == FLEET
        assert {"empty_seconds", "stuck", "final_generation", "incidents"} <= metrics[
            "regional"
        ].keys()
    for safe in ("cas", "fenced"):
        m = doc["results"][safe]
        assert m["stale_flips"] == 0 and m["stuck_endpoints"] == 0 and m["empty_answers"] == 0
    assert "perf" not in doc
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    assert "stale flips" in captured.out and "aws2025" in captured.out
    assert "wall" in captured.err  # perf lines go to stderr


def test_incident_defaults_to_100k_endpoints() -> None:
    from dnsrace.app.cli import build_parser

    args = build_parser().parse_args(["incident"])
    assert args.endpoints == 100_000


def test_single_discipline_and_perf(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(["incident", *SMALL, "--discipline", "cas", "--perf", "--quiet", "--json", str(out)])
        == 0
    )
    doc = orjson.loads(out.read_bytes())
    assert list(doc["results"]) == ["cas"]
    assert {"wall_s", "store_s", "store_share", "cpu_s"} <= doc["perf"]["cas"].keys()


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["random", "pct"])
def test_incident_with_a_schedule_is_reproducible(tmp_path: Path, schedule: str) -> None:
    argv = ["incident", *SMALL, "--discipline", "aws2025,cas", "--schedule", schedule, "--quiet"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main([*argv, "--seed", "4", "--json", str(a)]) == 0
    assert main([*argv, "--seed", "4", "--json", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    doc = orjson.loads(a.read_bytes())
    assert doc["seed"] == 4 and set(doc["results"]) == {"aws2025", "cas"}


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
            "--set",
            "endpoints.count=150",
            "--set",
            "operator.detect_s=[5.0, 10.0]",
            "--json",
            "-",
            "--quiet",
        ]
    )
    assert code == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    assert list(doc["results"]) == ["cas", "fenced"] and doc["seed"] == 2
    assert doc["duration_s"] == 60.0 and doc["endpoints"] == 151


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--schedule", "random"], id="random"),
        pytest.param(["--schedule", "pct"], id="pct", marks=pytest.mark.slow),
        pytest.param(
            ["--schedule", "pct", "--depth", "2"], id="pct-depth-2", marks=pytest.mark.slow
        ),
    ],
)
def test_run_spin_with_a_schedule_is_byte_identical(tmp_path: Path, argv: list[str]) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"{k}.json"
        assert main(["run", SPIN, *argv, "--seed", "3", "--quiet", "--json", str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    doc = orjson.loads(outs[0])
    assert set(doc["results"]) == SPIN_PRESETS
    assert doc["endpoints"] == 1 and doc["enactors"] == 2


def test_run_real_clock(tmp_path: Path) -> None:
    path = tmp_path / "real.toml"
    path.write_text(
        'clock = "real"\nduration_s = 0.6\ndrain_s = 2.0\n'
        "[endpoints]\ncount = 30\n[planner]\ninterval_s = 0.2\n"
        "[enactors]\npass_s = 0.02\ncall_latency_s = 0.0\npickup_jitter_s = 0.01\n"
        '[disciplines]\npresets = ["cas"]\n'
    )
    out = tmp_path / "real.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    doc = orjson.loads(out.read_bytes())
    assert doc["clock"] == "real" and "perf" in doc  # wall-clock figures: real runs only
    assert doc["results"]["cas"]["converged"]


# ------------------------------------------------------------------------------ explore


def _explore(tmp_path: Path, name: str, *argv: str) -> bytes:
    out = tmp_path / name
    code = main(["explore", SPIN, "--runs", "200", "--quiet", "--json", str(out), *argv])
    doc = orjson.loads(out.read_bytes())
    # Exit status 1 exactly when some discipline had a violating run.
    assert code == int(any(r["violating_runs"] for r in doc["results"].values()))
    return out.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["random", "pct"])
def test_explore_writes_the_documented_json(tmp_path: Path, schedule: str) -> None:
    data = _explore(tmp_path, "e.json", "--schedule", schedule, "--seed", "7")
    doc = orjson.loads(data)
    assert doc.keys() == EXPLORE_KEYS
    assert doc["scenario"] == "spin" and doc["schedule"] == schedule
    assert doc["seed"] == 7 and doc["runs"] == 200
    assert doc["depth"] == (3 if schedule == "pct" else None)
    assert set(doc["results"]) == SPIN_PRESETS
    for name, r in doc["results"].items():
        assert r.keys() == PRESET_KEYS, name
        assert r["by_kind"].keys() == KIND_KEYS, name
        assert r["runs"] == 200 and r["runs_per_s"] is None
        assert 0 <= r["violating_runs"] <= r["runs"]
        assert all(0 <= v <= r["violating_runs"] for v in r["by_kind"].values())
        assert (r["violating_runs"] > 0) == (r["first_violation_seed"] is not None)
        if r["first_violation_seed"] is not None:
            assert 7 <= r["first_violation_seed"] < 7 + 200
    for safe in ("cas", "fenced"):
        assert doc["results"][safe]["violating_runs"] == 0
    assert doc["results"]["aws2025"]["by_kind"]["stale_flip"] > 0
    # The same seed gives the same bytes; another seed another document.
    assert _explore(tmp_path, "again.json", "--schedule", schedule, "--seed", "7") == data
    other = orjson.loads(
        _explore(
            tmp_path, "o.json", "--schedule", schedule, "--seed", "1000", "--discipline", "aws2025"
        )
    )
    assert other["seed"] == 1000
    assert other["results"]["aws2025"] != doc["results"]["aws2025"]


def test_explore_defaults_to_random_and_perf_adds_speed(tmp_path: Path) -> None:
    doc = orjson.loads(_explore(tmp_path, "p.json", "--discipline", "cas", "--perf"))
    assert doc["schedule"] == "random" and doc["seed"] == 1
    assert list(doc["results"]) == ["cas"]
    speed = doc["results"]["cas"]["runs_per_s"]
    assert isinstance(speed, float) and speed > 0


def test_explore_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", SPIN, "--runs", "20", "--discipline", "aws2025,cas"]) in (0, 1)
    out = capsys.readouterr().out
    assert "aws2025" in out and "cas" in out and "stale flip" in out


@pytest.mark.parametrize("schedule", ["random", "pct"])
def test_explore_shrink_prints_a_replay_line_that_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schedule: str
) -> None:
    out = tmp_path / "s.json"
    argv = ["explore", SPIN, "--runs", "200", "--schedule", schedule, "--json", str(out)]
    assert main([*argv, "--discipline", "aws2025,cas", "--stop-at-first", "--shrink"]) == 1
    printed = capsys.readouterr().out
    doc = orjson.loads(out.read_bytes())
    assert doc.keys() == {*EXPLORE_KEYS, "shrunk"}
    assert set(doc["shrunk"]) == {"aws2025"}  # cas has nothing to shrink
    assert doc["results"]["cas"]["runs"] == 200
    first = doc["results"]["aws2025"]
    assert first["violating_runs"] == 1 and first["runs"] == first["first_violation_seed"]
    shrunk = doc["shrunk"]["aws2025"]
    assert shrunk.keys() == {"seed", "kinds", "overrides", "depth", "tries", "command"}
    assert shrunk["seed"] == first["first_violation_seed"]
    assert set(shrunk["kinds"]) <= KIND_KEYS and shrunk["kinds"]
    lines = [
        line.strip() for line in printed.splitlines() if line.strip().startswith("dnsrace run")
    ]
    assert lines == [shrunk["command"]]
    words = shlex.split(lines[0])
    assert words[:3] == ["dnsrace", "run", SPIN]
    assert words[words.index("--schedule") + 1] == schedule
    # Replaying the printed line shows what the shrunk run showed.
    replay = tmp_path / "replay.json"
    assert main([*words[1:], "--quiet", "--json", str(replay)]) == 0
    replayed = orjson.loads(replay.read_bytes())
    assert list(replayed["results"]) == ["aws2025"]
    assert violations(replayed["results"]["aws2025"]) == shrunk["kinds"]
    again = tmp_path / "again.json"
    assert main([*words[1:], "--quiet", "--json", str(again)]) == 0
    assert again.read_bytes() == replay.read_bytes()


# ------------------------------------------------------------------------------ bad input


BAD_ARGS = [
    (["incident", "--endpoints", "-5"], "--endpoints"),
    (["incident", "--enactors", "0"], "--enactors"),
    (["incident", "--seed", "x"], "--seed"),
    (["incident", "--discipline", "yolo"], "yolo"),
    (["incident", "--clock", "sundial"], "--clock"),
    (["incident", "--duration", "0"], "--duration"),
    (["incident", "--store", "redis"], "--store"),
    (["incident", "--schedule", "random", "--clock", "real"], "--schedule"),
    (["incident", "--schedule", "sometimes"], "--schedule"),
    (["incident", "--depth", "0"], "--depth"),
    (["run", "{spin}", "--schedule", "pct", "--clock", "real"], "--schedule"),
    (["run", "{spin}", "--schedule", "fifo"], "--schedule"),
    (["run", "{spin}", "--depth", "0"], "--depth"),
    (["run", "{spin}", "--set", "endpoints.count"], "--set"),
    (["run", "{spin}", "--set", "=3"], "--set"),
    (["run", "{spin}", "--set", "endpoints.count=abc"], "endpoints.count"),
    (["run", "{spin}", "--set", "nonsense=1"], "nonsense"),
    (["run", "{spin}", "--set", "enactors.count=0"], "enactors.count"),
    (["run", "{spin}", "--plot", "{dir}"], "--plot"),
    (["run", "{spin}", "--plot", "{missing}/p.png"], "--plot"),
    (["run", "{spin}", "--json", "{dir}"], "--json"),
    (["run", "{spin}", "--json", "{missing}/r.json"], "--json"),
    (["explore", "{spin}", "--runs", "0"], "--runs"),
    (["explore", "{spin}", "--runs", "-3"], "--runs"),
    (["explore", "{spin}", "--depth", "0"], "--depth"),
    (["explore", "{spin}", "--schedule", "pct", "--depth", "-1"], "--depth"),
    (["explore", "{spin}", "--schedule", "nope"], "--schedule"),
    (["explore", "{spin}", "--schedule", "clock"], "--schedule"),
    (["explore", "{spin}", "--shrink"], "--shrink"),
    (["explore", "{spin}", "--set", "planner.plans"], "--set"),
    (["explore", "{spin}", "--set", "planner.plans=[1,"], "planner.plans"),
    (["explore", "{spin}", "--discipline", "yolo"], "yolo"),
    (["explore", "{spin}", "--json", "{dir}"], "--json"),
    (["explore", "{spin}", "--json", "{missing}/r.json"], "--json"),
    (["explore", "{missing}/spin.toml"], "cannot read"),
    (["explore", "{real}"], "clock"),
    (["bogus"], "bogus"),
]


@pytest.mark.parametrize(
    ("argv", "needle"), [pytest.param(a, n, id=" ".join(a)) for a, n in BAD_ARGS]
)
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = tmp_path / "real.toml"
    real.write_text('clock = "real"\nduration_s = 0.5\n[endpoints]\ncount = 3\n')
    places = {"spin": SPIN, "dir": str(out_dir), "missing": str(tmp_path / "nope"), "real": real}
    argv = [a.format(**places) for a in argv]
    if "--json" not in argv:
        argv += ["--json", str(out_dir / "r.json")]
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dnsrace: error:"), err
    assert needle in err
    assert list(out_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real.toml"]


BAD_FILES = [
    ("[endpoints\ncount = 1", "malformed TOML"),
    ("[endpoints]\ncount = -1", "endpoints.count"),
    ("[enactors]\nlease_ttl_s = 0", "enactors.lease_ttl_s"),
    ("[enactors]\nbatch_size = 10", "enactors.batch_size"),
    ("[faults.contention]\nfail_probability = 0.9", "faults.contention"),
    ("[planner]\ninterval_s = 0", "planner.interval_s"),
    ("[disciplines]\npresets = ['nope']", "disciplines.presets"),
    ("[planner]\nspeed = 3", "planner.speed"),
]


@pytest.mark.parametrize("command", ["run", "explore"])
@pytest.mark.parametrize(("text", "needle"), BAD_FILES)
def test_bad_scenario_files_exit_2_and_write_nothing(
    tmp_path: Path, text: str, needle: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out, png = tmp_path / "r.json", tmp_path / "p.png"
    argv = [command, str(path), "--json", str(out)]
    if command == "run":
        argv += ["--plot", str(png)]
    assert main(argv) == 2
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
        [sys.executable, "-m", "dnsrace", "explore", SPIN, "--runs", "0"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1
    assert bad.stderr.startswith(b"dnsrace: error:") and b"--runs" in bad.stderr
