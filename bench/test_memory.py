"""Bytes per endpoint and per record, measured as the growth of the process's resident set.

Each implementation is measured in a fresh subprocess: RSS after importing dnsrace, then after
registering the endpoints and storing one plan. Name bytes are subtracted ("beyond its name"),
and shared target sets are stored once by construction.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.conftest import ENDPOINTS

PROBE = r"""
import ctypes, gc, json, sys
from dnsrace.sim.workload import endpoint_name, shared_plan

def rss():
    # Live bytes only: hand memory the allocators keep cached back to the OS first.
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

impl, n = sys.argv[1], int(sys.argv[2])
if impl == "rust":
    from dnsrace import Plan, RecordStore as Store
else:
    from dnsrace.reference import Plan, PyRecordStore as Store
chunk, name_bytes = 10_000, 0
before = rss()
store = Store()
# Register in chunks so that no large Python temporary outlives its chunk.
for start in range(0, n, chunk):
    names = [endpoint_name(i) for i in range(start, min(n, start + chunk))]
    name_bytes += sum(len(x) for x in names)
    store.add_endpoints(names)
del names
plan = shared_plan(Plan, 1, range(n))
store.put_plan(plan)
del plan
after = rss()
print(json.dumps({"impl": impl, "endpoints": n, "records": n * 4, "rss_bytes": after - before,
                  "name_bytes": name_bytes, "estimate": store.memory()}))
"""


def measure(impl: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, impl, str(ENDPOINTS)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout
    result: dict[str, object] = json.loads(out)
    rss = int(result["rss_bytes"])  # type: ignore[arg-type]
    names = int(result["name_bytes"])  # type: ignore[arg-type]
    result["bytes_per_endpoint_beyond_name"] = (rss - names) / ENDPOINTS
    result["bytes_per_record"] = rss / (ENDPOINTS * 4)
    return result


@pytest.mark.parametrize("impl", ["rust", "py"])
def test_memory(impl: str) -> None:
    result = measure(impl)
    path = Path("results") / f"memory-{impl}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    per_endpoint = result["bytes_per_endpoint_beyond_name"]
    print(f"\n{impl}: {per_endpoint:.1f} bytes/endpoint beyond its name (RSS)")
    if impl == "rust":
        assert per_endpoint <= 100, f"{per_endpoint:.1f} bytes per endpoint beyond its name"
