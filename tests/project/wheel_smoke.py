"""Smoke run of an installed dnsrace (tests/project/test_wheel.py runs it in fresh venvs).

Uses the store through every kind of argument and result the binding converts (single calls,
integer buffers in, typed arrays out, errors) and a seeded virtual-clock run, then prints one
JSON document. The test compares it with the same script run on the development build, and
checks that nothing optional was imported.
"""

from __future__ import annotations

import array
import asyncio
import json
import sys

import dnsrace
from dnsrace import Plan, RecordStore, clock
from dnsrace.errors import InvalidGeneration, UnknownPlan

OPTIONAL = ("orjson", "uvloop", "rich", "pydantic", "numpy", "matplotlib", "aetcd")


async def _writers(store: RecordStore, ids: list[int]) -> list[list[object]]:
    loop = asyncio.get_running_loop()
    log: list[list[object]] = []

    async def writer(name: str, generations: list[int]) -> None:
        for generation in generations:
            await asyncio.sleep(0.25)
            applied = await asyncio.to_thread(store.flip, ids[1], generation, "lww")
            log.append([loop.time(), name, generation, applied])

    await asyncio.gather(writer("a", [1, 2]), writer("b", [2, 1]))
    return log


def main() -> None:
    store = RecordStore()
    ids = store.add_endpoints([f"e{i}.example.com" for i in range(64)])
    for generation in (1, 2, 3):
        store.put_plan(Plan(generation, {i: [(f"10.0.{generation}.{i % 250}", 1)] for i in ids}))
    result: dict[str, object] = {
        "cas_newer": store.flip(ids[0], 3),
        "cas_older": store.flip(ids[0], 2),
        "resolve": store.resolve(ids[0]),
        "batch": list(store.flip_many(array.array("I", ids[2:]), 2)),
        "batch_range": list(store.flip_many(range(2, 64, 3), 3)),
        "aliases": list(store.aliases(output="array")),
        "versions": list(store.versions(array.array("q", ids[:8]), output="array")),
        "clock": clock.run(_writers(store, ids), seed=5),
        "deleted": list(store.delete_plans([1], safe=True)),
    }
    try:
        store.flip(ids[0], 9)
    except UnknownPlan as error:
        result["unknown_plan"] = type(error).__name__
    try:
        Plan(0, {})
    except InvalidGeneration as error:
        result["bad_generation"] = type(error).__name__
    result["optional_imported"] = sorted(m for m in sys.modules if m.split(".")[0] in OPTIONAL)
    result["testing_module"] = "dnsrace._core._testing" in sys.modules
    result["installed_at"] = dnsrace.__file__
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
