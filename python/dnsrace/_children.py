"""Child processes the project starts (etcd members, a Redis server, a cluster run's roles)."""

from __future__ import annotations

import subprocess
from typing import Any

__all__ = ["reap"]


def reap(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for a child that was asked to stop, then kill it; either way
    it is waited for, so no zombie is left."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
