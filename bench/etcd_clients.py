"""Which Python client for EtcdStore: the same batch of flat Txns through each candidate.

Each candidate sends N endpoints as Txns of 100 compares (``value < generation``) and 100
puts, 64 in flight, to one loopback member started here, three rounds, best kept:

- ``aetcd``: its asyncio client (``Client.transaction`` with its compare/put objects);
- ``grpc + messages``: gRPC's synchronous futures with the v3 protobuf messages that aetcd
  ships (``aetcd.rpc``), built per request;
- ``grpc + bytes``: the same futures with the requests hand-encoded
  (``dnsrace.backends.etcd.wire``),
  what EtcdStore uses.

``etcd-client-py`` (over the Rust ``etcd-client`` crate) is not timed: its Txn answer exposes
only ``succeeded()``, not the responses of the failure branch or of nested Txns, which the
store needs to tell each endpoint's outcome. Run: ``python -m bench.etcd_clients [N]``.
"""

from __future__ import annotations

import asyncio
import struct
import sys
import time
from collections.abc import Callable

from dnsrace.backends.etcd import wire
from dnsrace.backends.etcd.client import EtcdClient, rpc
from dnsrace.backends.etcd.local import LocalCluster

PER, INFLIGHT = 100, 64


def _keys(n: int, tag: bytes) -> list[bytes]:
    return [b"/clients/" + tag + struct.pack(">I", i) for i in range(n)]


def via_bytes(client: EtcdClient, keys: list[bytes], g: int) -> None:
    value, bound = struct.pack(">QQ", g, 0), struct.pack(">Q", g)
    reqs = (
        wire.txn(
            b"".join(wire.compare_value(k, bound, wire.LESS) for k in keys[lo : lo + PER]),
            b"".join(wire.op_put(k, value) for k in keys[lo : lo + PER]),
        )
        for lo in range(0, len(keys), PER)
    )
    assert all(r.succeeded for r in client.txn_many_raw(reqs))


def via_messages(client: EtcdClient, keys: list[bytes], g: int) -> None:
    value, bound = struct.pack(">QQ", g, 0), struct.pack(">Q", g)
    reqs = (
        rpc.TxnRequest(
            compare=[
                rpc.Compare(result=rpc.Compare.LESS, target=rpc.Compare.VALUE, key=k, value=bound)
                for k in keys[lo : lo + PER]
            ],
            success=[
                rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))
                for k in keys[lo : lo + PER]
            ],
        )
        for lo in range(0, len(keys), PER)
    )
    assert all(r.succeeded for r in client.txn_many(reqs))


def via_aetcd(url: str, keys: list[bytes], g: int) -> None:
    import aetcd

    host, port = url.split(":")
    value, bound = struct.pack(">QQ", g, 0), struct.pack(">Q", g)

    async def main() -> None:
        async with aetcd.Client(host=host, port=int(port)) as c:
            sem = asyncio.Semaphore(INFLIGHT)

            async def one(lo: int) -> bool:
                async with sem:
                    chunk = keys[lo : lo + PER]
                    ok, _ = await c.transaction(
                        compare=[c.transactions.value(k) < bound for k in chunk],
                        success=[c.transactions.put(k, value) for k in chunk],
                        failure=[],
                    )
                    return bool(ok)

            done = await asyncio.gather(*(one(lo) for lo in range(0, len(keys), PER)))
            assert all(done)

    asyncio.run(main())


def _best(run: Callable[[int], None], n: int) -> float:
    times = []
    for g in (2, 3, 4):
        t = time.perf_counter()
        run(g)
        times.append(time.perf_counter() - t)
    return n / min(times)


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 50_000
    with LocalCluster(1) as cluster:
        url = cluster.members[0].client_url
        client = EtcdClient([url], inflight=INFLIGHT)
        rows = []
        for name, tag in (("grpc + bytes", b"b/"), ("grpc + messages", b"m/"), ("aetcd", b"a/")):
            keys = _keys(n, tag)
            client.txn_many_raw(  # create the keys
                wire.txn(*(wire.op_put(k, b"\0" * 16) for k in keys[lo : lo + PER]))
                for lo in range(0, n, PER)
            )
            if name == "aetcd":
                rate = _best(lambda g, keys=keys: via_aetcd(url, keys, g), n)
            elif name == "grpc + messages":
                rate = _best(lambda g, keys=keys: via_messages(client, keys, g), n)
            else:
                rate = _best(lambda g, keys=keys: via_bytes(client, keys, g), n)
            rows.append((name, rate))
    print(f"{n:,} endpoints, Txns of {PER} compares + {PER} puts, {INFLIGHT} in flight (best of 3)")
    for name, rate in rows:
        print(f"  {name:18s} {rate:>10,.0f} endpoints/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
