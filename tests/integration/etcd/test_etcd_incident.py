"""The incident replay on a real etcd member gives the embedded store's verdicts, run for run.

The virtual clock and the seeded schedule decide the interleaving; the store decides each
call's answer. So the same seed on ``--backend etcd://...`` and on the embedded store must give
the same results, metric for metric, and the verdicts of the issue follow on etcd.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from dnsrace.app.cli import main

# Small enough for a test on etcd (about 15 s a preset), large enough for the race: with this
# seed the regional endpoint empties and sticks under aws2025 within ten simulated minutes
# (seed 6, re-measured once enactors started from the applied plan: seed 2 no longer sticks).
ARGS = ["incident", "--endpoints", "29", "--duration", "600", "--seed", "6", "--quiet"]
# One test per preset, so that xdist can spread them: each preset's run depends on the seed and
# the preset alone (the same document whichever presets run beside it, and however many jobs).
PRESETS = ["aws2025", "lww", "cas", "fenced"]


def _run(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    assert main([*ARGS, *extra, "--json", str(out)]) == 0
    doc: dict[str, Any] = orjson.loads(out.read_bytes())
    return doc


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_incident_on_etcd_gives_the_embedded_verdicts(
    etcd1: Any, tmp_path: Path, preset: str
) -> None:
    only = ("--discipline", preset, "--jobs", "1")
    on_etcd = _run(tmp_path, "etcd", *only, "--backend", f"{etcd1.url}/incident-{preset}")
    embedded = _run(tmp_path, "embedded", *only)
    assert on_etcd["store"] != embedded["store"]
    assert on_etcd["results"] == embedded["results"]
    r = on_etcd["results"][preset]
    if preset == "aws2025":
        # The regional endpoint empties and sticks (the store's dangling answer).
        assert r["regional"]["stuck"] and r["regional"]["empty_answers"] > 0
        assert r["store"]["dangling_rejections"] > 0
    elif preset == "lww":
        assert r["stale_flips"] > 0
    else:
        # cas and fenced: none, and every endpoint ends on the newest plan.
        assert r["stale_flips"] == 0 and r["empty_answers"] == 0
        assert r["final_converged"]


def test_bad_backends_exit_2_with_one_line(capsys: Any) -> None:
    for bad, said in [
        ("etcd://nohost", "HOST:PORT"),
        ("etcd://127.0.0.1:1", "no etcd member answered"),
        ("mysql://x", "not embedded, reference or etcd://"),
    ]:
        assert main([*ARGS, "--backend", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err
