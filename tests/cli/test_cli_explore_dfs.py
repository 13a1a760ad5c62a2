"""``dnsrace explore --schedule dfs``: the bounded search on the command line, its JSON, its
replay line, and the exit status (1 when a violation is found, as for every sampler)."""

from __future__ import annotations

import shlex
from pathlib import Path

import orjson
import pytest

from dnsrace.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPIN = str(ROOT / "scenarios" / "spin.toml")
DFS = ["explore", SPIN, "--schedule", "dfs", "--quiet"]


def _search(tmp_path: Path, name: str, *argv: str) -> tuple[int, bytes]:
    out = tmp_path / name
    code = main([*DFS, "--json", str(out), *argv])
    return code, out.read_bytes()


@pytest.mark.slow
def test_dfs_finds_aws2025s_stale_flip_exits_1_and_its_replay_line_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _search(tmp_path, "a.json", "--discipline", "aws2025", "--preemptions", "2")
    assert code == 1
    doc = orjson.loads(data)
    assert doc.keys() == {
        "scenario",
        "schedule",
        "seed",
        "preemptions",
        "max_schedules",
        "kind",
        "results",
    }
    r = doc["results"]["aws2025"]
    assert not r["exhaustive"] and r["bound"] == 2
    assert [b["preemptions"] for b in r["per_bound"]] == [0, 1, 2]
    v = r["violation"]
    assert "stale_flip" in v["kinds"] and v["shrunk_decisions"] <= v["decisions"]
    # The same search, the same bytes.
    assert _search(tmp_path, "b.json", "--discipline", "aws2025", "--preemptions", "2") == (
        1,
        data,
    )
    argv = shlex.split(v["command"])
    assert argv[:2] == ["dnsrace", "explore"] and "--replay" in argv
    capsys.readouterr()
    assert main([*argv[1:], "--json", str(tmp_path / "r.json"), "--quiet"]) == 1
    replayed = orjson.loads((tmp_path / "r.json").read_bytes())
    assert "stale_flip" in replayed["results"]["aws2025"]["kinds"]


def test_dfs_proves_cas_clean_within_one_preemption_and_exits_0(tmp_path: Path) -> None:
    code, data = _search(tmp_path, "c.json", "--discipline", "cas", "--preemptions", "1")
    assert code == 0
    r = orjson.loads(data)["results"]["cas"]
    assert r["exhaustive"] and r["violation"] is None and r["bound"] == 1
    assert r["schedules"] > 0 and r["states"] > r["schedules"]
    assert sum(r["by_kind"].values()) == 0


def test_dfs_stopped_by_max_schedules_is_not_exhaustive(tmp_path: Path) -> None:
    code, data = _search(
        tmp_path, "m.json", "--discipline", "cas", "--preemptions", "2", "--max-schedules", "50"
    )
    r = orjson.loads(data)["results"]["cas"]
    assert code == 0 and not r["exhaustive"]
    assert r["schedules"] + r["redundant"] + r["pruned"] == 50


def test_sampling_explore_exits_1_on_a_violation_and_0_when_clean(tmp_path: Path) -> None:
    # The bug of the last session: explore exited 0 whatever it found.
    base = ["explore", SPIN, "--runs", "300", "--quiet", "--jobs", "1", "--seed", "1"]
    bad = main([*base, "--discipline", "aws2025", "--json", str(tmp_path / "bad.json")])
    found = orjson.loads((tmp_path / "bad.json").read_bytes())["results"]["aws2025"]
    assert found["violating_runs"] > 0 and bad == 1
    assert main([*base, "--discipline", "cas"]) == 0


def test_replay_and_kind_need_dfs(capsys: pytest.CaptureFixture[str]) -> None:
    for flag, value in (("--replay", "main"), ("--kind", "stuck")):
        assert main(["explore", SPIN, "--runs", "1", flag, value]) == 2
        assert "needs --schedule dfs" in capsys.readouterr().err
