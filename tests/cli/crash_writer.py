"""A writer for the crash-safety test: writes every kind of CLI output (a JSON document, a
PNG-sized picture through ``atomic_output``, a Rust-store snapshot) to its final name over and
over, each time with new content, until it is killed. Every version is self-checking: the JSON
names its own length, the picture repeats one byte, and the snapshot restores only if whole.

Usage: ``python crash_writer.py DIRECTORY``; prints ``ready`` once the first round is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

import dnsrace
from dnsrace.atomicfile import atomic_output, write_atomic


def main() -> None:
    out = Path(sys.argv[1])
    store = dnsrace.RecordStore()
    ids = store.add_endpoints(f"e{i}.crash.example" for i in range(50_000))
    store.put_plan(dnsrace.Plan.from_shared(1, [[("10.0.0.1", 1)]], ids, [0] * len(ids)))
    rows = list(range(200_000))
    round_no = 0
    while True:
        round_no += 1
        body = {"round": round_no, "rows": rows}
        payload = orjson.dumps(body)
        write_atomic(out / "doc.json", orjson.dumps({"length": len(payload), "body": body}))
        with atomic_output(out / "picture.png") as tmp:
            tmp.write_bytes(bytes([round_no % 251]) * 2_000_000)
        store.flip_many(None, 1, "lww")
        store.snapshot(out / "store.snap")
        if round_no == 1:
            print("ready", flush=True)


if __name__ == "__main__":
    main()
