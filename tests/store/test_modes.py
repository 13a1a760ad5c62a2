"""The flip-mode comparison (`dnsrace modes`): each mode's verdict on the same stale write."""

from __future__ import annotations

from typing import Any

import pytest

from dnsrace.app import cli
from dnsrace.app.modes import MODES, stale_write_race
from dnsrace.sim.workload import build_store


@pytest.mark.parametrize("mode", MODES)
def test_stale_write_race(any_store: Any, mode: str) -> None:
    store, ids = build_store(any_store.Store, any_store.Plan, 300, 3, groups=7)
    row = stale_write_race(store, ids, mode)
    assert row["current_applied"] == 300
    if mode == "lww":
        # Last write wins: the delayed writer's older plan replaces the newer one everywhere.
        assert row["delayed_applied"] == row["stale_flips"] == 300
        assert row["serving_newest"] == 0
    else:
        assert row["delayed_applied"] == row["stale_flips"] == 0
        assert row["serving_newest"] == 300
        refused = (
            row["delayed_rejected_fenced"] if mode == "fenced" else row["delayed_rejected_outdated"]
        )
        assert refused == 300


def test_modes_command_writes_json(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "modes.json"
    assert cli.main(["modes", "--endpoints", "50", "--json", str(out)]) == 0
    import orjson

    rows = orjson.loads(out.read_bytes())
    assert {(r["store"], r["mode"]) for r in rows} == {
        (s, m) for s in ("rust", "reference") for m in MODES
    }
    assert "Stale write race" in capsys.readouterr().out


def test_modes_command_rejects_bad_size() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["modes", "--endpoints", "0"])
    assert exc.value.code == 2
