"""Batch leases against the batch flip over the same 200k ids (issue 18's targets:
``acquire_leases(..., output="numpy")`` and ``renew_leases`` within 1.5x of ``flip_many``).
Best of 7 runs each; a quick check, not a benchmark suite entry.

    .venv/bin/python bench/lease_ratio.py
"""

import gc
import timeit

import numpy as np

import dnsrace

n = 200_000
s = dnsrace.RecordStore()
ids = np.array(s.add_endpoints([f"e{i}.example" for i in range(n)]), dtype=np.uint32)
s.put_plan(dnsrace.Plan.from_shared(1, [[("10.0.0.1", 1)]], ids, np.zeros(n, dtype=np.uint32)))


def best(f, k=7):
    # The fastest of k timed calls; the collector stays on, as in the calls measured.
    return min(timeit.repeat(f, setup=gc.enable, number=1, repeat=k))


t_flip = best(lambda: s.flip_many(ids, 1, "lww"))
now = [0.0]


def acq():
    now[0] += 100.0
    return s.acquire_leases(ids, "h", 10.0, now[0], output="numpy")


t_acq = best(acq)
tok = acq()
t_ren = best(lambda: s.renew_leases(ids, "h", tok, 10.0, now[0] + 1, output="numpy"))
t_acq_list = best(
    lambda: (now.__setitem__(0, now[0] + 100), s.acquire_leases(ids, "h", 10.0, now[0]))
)
print(f"n={n} flip_many {t_flip * 1e3:.2f} ms")
print(f"acquire_leases numpy {t_acq * 1e3:.2f} ms ({t_acq / t_flip:.2f}x flip_many)")
print(f"renew_leases numpy {t_ren * 1e3:.2f} ms ({t_ren / t_flip:.2f}x flip_many)")
print(f"acquire_leases list {t_acq_list * 1e3:.2f} ms")
