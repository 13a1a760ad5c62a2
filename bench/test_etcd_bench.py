"""EtcdStore against one loopback etcd member, with its yardsticks measured in the same run.

- ``flip_many(None, g, "if_newer")`` on EtcdStore, applying everywhere each round;
- the same batch by a plain client script: pre-encoded flat Txns of 100 compares and 100
  puts, 64 in flight (what the issue calls the plain client: no reads, no decisions);
- the same batch on the embedded store (``dnsrace.RecordStore``);
- bytes per endpoint in etcd's database after ``DNSRACE_BENCH_ETCD_SIZE`` endpoints (default
  500,000) and 3 live plans, compacted and defragmented.

Size of the flip benchmarks: ``DNSRACE_BENCH_ETCD_ENDPOINTS`` (default 100,000). The figures go
to stdout at the end and into ``results/etcd.json``.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import dnsrace
from dnsrace.backends.etcd import EtcdStore, wire
from dnsrace.backends.etcd.client import EtcdClient
from dnsrace.backends.etcd.local import LocalCluster, etcd_binary
from dnsrace.reference import Plan

N = int(os.environ.get("DNSRACE_BENCH_ETCD_ENDPOINTS", "100000"))
SIZE = int(os.environ.get("DNSRACE_BENCH_ETCD_SIZE", "500000"))
ROUNDS = 4
TARGET = 50_000
FIGURES: dict[str, Any] = {}

SETS = [[(f"10.{k}.0.{j}", 1) for j in range(1, 5)] for k in range(16)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    if etcd_binary() is None:
        pytest.skip("etcd is not installed (make bench installs etcd-server)")
    with LocalCluster(1) as c:
        yield c


def _names(n: int) -> list[str]:
    return [f"e{i}.bench.example" for i in range(n)]


def _plans(store: Any, plan_cls: Any, ids: list[int], gens: range) -> None:
    for g in gens:
        store.put_plan(plan_cls.from_shared(g, SETS, ids, [i % 16 for i in ids]))


def _rate(benchmark: Any, run: Any, key: str) -> None:
    gens = iter(range(2, 2 + ROUNDS + 1))
    benchmark.pedantic(lambda: run(next(gens)), rounds=ROUNDS, iterations=1)
    FIGURES[key] = N / benchmark.stats.stats.median
    benchmark.extra_info["endpoints_per_s"] = FIGURES[key]


def test_etcd_flip_many_if_newer(benchmark: Any, cluster: LocalCluster) -> None:
    benchmark.group = f"etcd flip_many[if_newer] x{N}"
    store = EtcdStore(f"{cluster.url}/flip", reset=True)
    ids = store.add_endpoints(_names(N))
    _plans(store, Plan, ids, range(1, ROUNDS + 3))
    store.flip_many(None, 1)

    def run(g: int) -> None:
        assert store.flip_many(None, g).applied == N

    _rate(benchmark, run, "etcd_store")


def test_etcd_plain_client(benchmark: Any, cluster: LocalCluster) -> None:
    benchmark.group = f"etcd flip_many[if_newer] x{N}"
    client = EtcdClient([m.client_url for m in cluster.members], inflight=64)
    keys = [b"/plain/a/" + struct.pack(">I", i) for i in range(N)]
    client.txn_many_raw(
        [
            wire.txn(*(wire.op_put(k, struct.pack(">QQ", 1, 0)) for k in keys[lo : lo + 100]))
            for lo in range(0, N, 100)
        ]
    )

    def run(g: int) -> None:
        value, bound = struct.pack(">QQ", g, 0), struct.pack(">Q", g)
        requests = [
            wire.txn(
                b"".join(wire.compare_value(k, bound, wire.LESS) for k in keys[lo : lo + 100]),
                b"".join(wire.op_put(k, value) for k in keys[lo : lo + 100]),
            )
            for lo in range(0, N, 100)
        ]
        assert all(r.succeeded for r in client.txn_many_raw(requests))

    _rate(benchmark, run, "plain_client")


def test_embedded_flip_many_if_newer(benchmark: Any) -> None:
    benchmark.group = f"etcd flip_many[if_newer] x{N}"
    store = dnsrace.RecordStore()
    ids = store.add_endpoints(_names(N))
    _plans(store, dnsrace.Plan, ids, range(1, ROUNDS + 3))
    store.flip_many(None, 1)

    def run(g: int) -> None:
        assert store.flip_many(None, g).applied == N

    _rate(benchmark, run, "embedded")


def test_etcd_bytes_per_endpoint(cluster: LocalCluster) -> None:
    store = EtcdStore(f"{cluster.url}/size", reset=True)
    client = store.client
    client.compact_and_defragment()
    empty = int(client.status().dbSize)
    start = time.perf_counter()
    ids = store.add_endpoints(_names(SIZE))
    _plans(store, Plan, ids, range(1, 4))
    store.flip_many(None, 3)
    setup_s = time.perf_counter() - start
    client.compact_and_defragment()
    size = int(client.status().dbSize)
    FIGURES["bytes_per_endpoint"] = (size - empty) / SIZE
    FIGURES["size_setup_s"] = setup_s


def test_report(capsys: pytest.CaptureFixture[str]) -> None:
    """The figures, their ratios, and the target (printed; also results/etcd.json)."""
    f = FIGURES
    lines = [f"EtcdStore on one loopback member, {N:,} endpoints (median of {ROUNDS} rounds):"]
    if "etcd_store" in f:
        lines.append(f"  EtcdStore flip_many if_newer  {f['etcd_store']:>12,.0f} endpoints/s")
    if "plain_client" in f:
        lines.append(f"  plain client script           {f['plain_client']:>12,.0f} endpoints/s")
    if "embedded" in f:
        lines.append(f"  embedded RecordStore          {f['embedded']:>12,.0f} endpoints/s")
    if {"etcd_store", "plain_client"} <= f.keys():
        f["etcd_over_plain"] = f["etcd_store"] / f["plain_client"]
        lines.append(f"  EtcdStore / plain client      {f['etcd_over_plain']:>12.2f}x")
    if {"etcd_store", "embedded"} <= f.keys():
        f["embedded_over_etcd"] = f["embedded"] / f["etcd_store"]
        lines.append(f"  embedded / EtcdStore          {f['embedded_over_etcd']:>12,.0f}x")
    if "etcd_store" in f:
        met = "met" if f["etcd_store"] >= TARGET else "NOT met"
        lines.append(f"  target {TARGET:,} endpoints/s: {met}")
    if "bytes_per_endpoint" in f:
        lines.append(
            f"  etcd database: {f['bytes_per_endpoint']:,.0f} bytes per endpoint "
            f"({SIZE:,} endpoints, 3 live plans, compacted and defragmented)"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    out = Path("results")
    if out.is_dir():
        (out / "etcd.json").write_bytes(orjson.dumps(f, option=orjson.OPT_INDENT_2))
