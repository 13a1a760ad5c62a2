"""The incident replay on a real etcd member gives the embedded store's verdicts, run for run.

The virtual clock and the seeded schedule decide the interleaving; the store decides each
call's answer. So the same seed on ``--backend etcd://...`` and on the embedded store must give
the same results, metric for metric, and the verdicts of the issue follow on etcd.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from dnsrace.app.cli import main

# Small enough for a test on etcd (about 15 s a preset), large enough for the race: with this
# seed the regional endpoint empties and sticks under aws2025 within ten simulated minutes
# (seed 6, re-measured once enactors started from the applied plan: seed 2 no longer sticks).
ARGS = [
    "incident",
    "--endpoints",
    "29",
    "--duration",
    "600",
    "--seed",
    "6",
    "--quiet",
    "--discipline",
    "aws2025,lww,cas,fenced",
]


def _run(tmp_path: Path, name: str, *extra: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    assert main([*ARGS, *extra, "--json", str(out)]) == 0
    doc: dict[str, Any] = orjson.loads(out.read_bytes())
    return doc


def test_incident_on_etcd_gives_the_embedded_verdicts(etcd1: Any, tmp_path: Path) -> None:
    on_etcd = _run(tmp_path, "etcd", "--backend", f"{etcd1.url}/incident")
    embedded = _run(tmp_path, "embedded")
    assert on_etcd["store"] != embedded["store"]
    assert on_etcd["results"] == embedded["results"]
    r = on_etcd["results"]
    # aws2025: the regional endpoint empties and sticks (the store's dangling answer).
    assert r["aws2025"]["regional"]["stuck"] and r["aws2025"]["regional"]["empty_answers"] > 0
    assert r["aws2025"]["store"]["dangling_rejections"] > 0
    # lww: stale flips.
    assert r["lww"]["stale_flips"] > 0
    # cas and fenced: none, and every endpoint ends on the newest plan.
    for safe in ("cas", "fenced"):
        assert r[safe]["stale_flips"] == 0 and r[safe]["empty_answers"] == 0
        assert r[safe]["final_converged"]


def test_bad_backends_exit_2_with_one_line(capsys: Any) -> None:
    for bad, said in [
        ("etcd://nohost", "HOST:PORT"),
        ("etcd://127.0.0.1:1", "no etcd member answered"),
        ("mysql://x", "not embedded, reference or etcd://"),
    ]:
        assert main([*ARGS, "--backend", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err
