"""Crash safety of every output: a writer process is killed with SIGKILL at random moments
(20 times, seeded) while it rewrites a JSON document, a picture and a snapshot; afterwards each
final name holds a whole, valid file (or none), never a torn one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from conftest import rust_impl

pytestmark = pytest.mark.processes

KILLS = 20


def check_whole(out: Path) -> None:
    import dnsrace

    doc = orjson.loads((out / "doc.json").read_bytes())
    assert doc["length"] == len(orjson.dumps(doc["body"]))
    picture = (out / "picture.png").read_bytes()
    assert len(picture) == 2_000_000 and picture == picture[:1] * len(picture)
    store = dnsrace.RecordStore.restore(out / "store.snap")
    assert len(store) == 50_000


def test_sigkill_at_random_moments_never_leaves_a_torn_file(tmp_path: Path) -> None:
    if rust_impl() is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    writer = Path(__file__).with_name("crash_writer.py")
    rng = random.Random(2025)
    mid_write = 0
    for kill in range(KILLS):
        out = tmp_path / f"run{kill}"
        out.mkdir()
        proc = subprocess.Popen(
            [sys.executable, str(writer), str(out)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        # A random moment within the next few write rounds (one round takes ~50-100 ms).
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        check_whole(out)
        # Only the three outputs and at most one interrupted temporary file per output.
        finals = {p.name for p in out.iterdir() if not p.name.startswith(".")}
        assert finals == {"doc.json", "picture.png", "store.snap"}
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
        assert len(leftovers) <= 1, leftovers
        mid_write += len(leftovers)
    # Shown with -s: how many kills struck in the middle of a write (a temporary file left).
    print(f"{mid_write} of {KILLS} kills struck during a write")
