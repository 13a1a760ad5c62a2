"""The machine, date and commit a report was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from typing import Any


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        return 0.0


def describe() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
        "memory_gb": round(_memory_gb(), 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
