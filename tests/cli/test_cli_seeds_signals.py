"""A ``--seeds`` run's worker processes end with the command: SIGTERM or SIGINT to the parent
alone (exit 143 / 130, one line), or the parent killed outright (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# Long enough that the parent is still waiting for its workers when the signal comes.
_COMMAND = [
    sys.executable,
    "-m",
    "dnsrace",
    "incident",
    "--endpoints",
    "200",
    "--seeds",
    "1-500",
    "--jobs",
    "2",
    "--quiet",
]
# Liveness bounds (not speed thresholds): how long to wait for a state before failing.
_PATIENCE_S = 120.0


def _children(parent: int) -> list[int]:
    """Pool workers started by ``parent`` (spawned interpreters; not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), ""
        )
        if ppid == str(parent) and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its parent has not reaped it yet)


def _wait_for(what: str, check: object) -> None:
    deadline = time.monotonic() + _PATIENCE_S
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _start() -> tuple[subprocess.Popen[bytes], list[int]]:
    # Ctrl-C as at a terminal: a runner started in the background (CI, a job of a
    # non-interactive shell) passes SIGINT on ignored, and Python then keeps it ignored.
    proc = subprocess.Popen(
        _COMMAND,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: list[int] = []

    def started() -> bool:
        workers[:] = _children(proc.pid)
        return len(workers) == 2

    try:
        _wait_for("two workers", started)
        time.sleep(1.0)  # the workers are past their start-up, in their first jobs
    except BaseException:
        proc.kill()
        raise
    return proc, workers


def _kill_leftovers(workers: list[int]) -> None:
    for pid in workers:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("signum", "status", "line"),
    [(signal.SIGTERM, 143, b"dnsrace: error: terminated"), (signal.SIGINT, 130, b"interrupted")],
)
def test_a_signal_to_the_parent_ends_its_workers(signum: int, status: int, line: bytes) -> None:
    proc, workers = _start()
    try:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=_PATIENCE_S)
        assert proc.returncode == status
        assert line in err
        assert b"Traceback" not in err
        _wait_for("the workers to end", lambda: not any(_alive(p) for p in workers))
    finally:
        proc.kill()
        _kill_leftovers(workers)


def test_workers_die_with_a_parent_killed_outright() -> None:
    proc, workers = _start()
    try:
        proc.kill()
        proc.wait(timeout=_PATIENCE_S)
        _wait_for("the workers to end", lambda: not any(_alive(p) for p in workers))
    finally:
        _kill_leftovers(workers)
