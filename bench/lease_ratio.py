"""Batch leases against the batch flip over the same 200k ids (issue 18's targets:
``acquire_leases(..., output="numpy")`` and ``renew_leases`` within 1.5x of ``flip_many``).

Paired rounds: each round times the flip, the acquire and the renew back to back (best of
``--best`` calls each) and takes their ratios, so that a noisy neighbour slows a round's
three timings alike; the medians over ``--rounds`` rounds are reported. A quick check, not a
benchmark suite entry.

    .venv/bin/python bench/lease_ratio.py [--rounds 11] [--best 5] [--n 200000]
"""

import argparse
import gc
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import dnsrace


def best(f: Callable[[], object], k: int) -> float:
    # The fastest of k timed calls; the collector stays on, as in the calls measured.
    return min(timeit.repeat(f, setup=gc.enable, number=1, repeat=k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--best", type=int, default=5)
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    n = args.n
    s = dnsrace.RecordStore()
    ids = np.array(s.add_endpoints([f"e{i}.example" for i in range(n)]), dtype=np.uint32)
    s.put_plan(dnsrace.Plan.from_shared(1, [[("10.0.0.1", 1)]], ids, np.zeros(n, dtype=np.uint32)))
    now = 0.0

    def acquire() -> Any:
        # Each acquire comes after the last one's leases expired: every entry is granted.
        nonlocal now
        now += 100.0
        return s.acquire_leases(ids, "h", 10.0, now, output="numpy")

    def renew() -> object:
        # Renewed at the same instant: every lease is live, every entry renewed.
        return s.renew_leases(ids, "h", tokens, 10.0, now + 1.0, output="numpy")

    rows = []
    for _ in range(args.rounds):
        t_flip = best(lambda: s.flip_many(ids, 1, "lww"), args.best)
        t_acquire = best(acquire, args.best)
        tokens = acquire()
        t_renew = best(renew, args.best)
        rows.append((t_flip, t_acquire, t_renew))
    flip, acq, ren = (statistics.median(col) for col in zip(*rows, strict=True))
    acq_ratio = statistics.median(a / f for f, a, _ in rows)
    ren_ratio = statistics.median(r / f for f, _, r in rows)
    print(f"n={n}, {args.rounds} paired rounds (best of {args.best} each), medians:")
    print(f"flip_many(ids, 1, 'lww')        {flip * 1e3:.3f} ms")
    print(f"acquire_leases(output='numpy')  {acq * 1e3:.3f} ms  {acq_ratio:.2f}x flip_many")
    print(f"renew_leases(output='numpy')    {ren * 1e3:.3f} ms  {ren_ratio:.2f}x flip_many")
    print("per round (acquire, renew):", " ".join(f"{a / f:.2f},{r / f:.2f}" for f, a, r in rows))


if __name__ == "__main__":
    main()
