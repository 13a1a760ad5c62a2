"""The API fuzzer (tests/store/api_fuzz.py) in a child process, so that an abort of the native
module (a huge allocation, a panic that escapes) fails this test instead of killing pytest.
Seeded (derandomized) and bounded: DNSRACE_API_FUZZ_EXAMPLES calls (default 2000 under the ci
hypothesis profile, scaled with the loaded profile: 400 under dev, make check's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import examples

FUZZER = Path(__file__).with_name("api_fuzz.py")


def test_api_fuzzer_finds_no_abort_untyped_error_or_change() -> None:
    calls = os.environ.get("DNSRACE_API_FUZZ_EXAMPLES", str(examples(2000)))
    run = subprocess.run(
        [sys.executable, str(FUZZER), "--examples", calls],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if run.returncode < 0:
        name = signal.Signals(-run.returncode).name
        raise AssertionError(f"the fuzzer's process died of {name}:\n{run.stderr[-4000:]}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "ok" in run.stdout
