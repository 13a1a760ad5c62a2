"""What every peer of the comparison offers, and the fleet every peer loads.

A peer holds ``n`` endpoints with plans 1..``PLANS`` stored (4 targets per endpoint, 64 shared
load-balancer groups, as ``dnsrace.sim.workload`` builds them). Every timed call does real
work on every endpoint it names, and says how many flips it applied, so that a sweep can check
the work was done (a batch that applies nowhere is not a measurement).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

from dnsrace.sim.workload import target_groups

Mode = Literal["lww", "if_newer", "exact", "fenced"]
LeaseOp = Literal["acquire", "renew", "release"]

MODES: tuple[Mode, ...] = ("lww", "if_newer", "exact", "fenced")
LEASE_OPS: tuple[LeaseOp, ...] = ("acquire", "renew", "release")
PLANS = 3
"""Live plans per peer (the issue's fit target: 1M endpoints x 4 targets with 3 live plans)."""
GROUPS = 64
TARGETS = 4
HOLDER = "bench"
TTL_S = 30.0


_fences = iter(range(1 << 40, 1 << 62, 1 << 20))


def fleet_plans() -> Iterator[tuple[int, list[list[tuple[str, int]]]]]:
    """Plans 1..PLANS, each as its generation and its GROUPS target sets of TARGETS targets
    (endpoint ``i`` is on set ``group_of(i)``): the fleet every peer loads, defined here once."""
    for generation in range(1, PLANS + 1):
        yield generation, target_groups(generation, GROUPS, TARGETS)


def group_of(endpoint: int) -> int:
    """The target set of endpoint ``endpoint`` in every plan of ``fleet_plans``."""
    return endpoint % GROUPS


class LeaseClock:
    """The virtual time of the lease benchmarks: each acquire round starts 10 TTLs after the
    previous one (so no lease of that round is still live) and renews come 1 s into it."""

    def __init__(self) -> None:
        self.now = 0.0

    def acquire_round(self) -> float:
        self.now += 10 * TTL_S
        return self.now

    def renew_time(self) -> float:
        return self.now + 1.0


def next_fence() -> int:
    """A fencing token above every lease token the benchmark can have issued: fenced flips
    must apply (a refused flip is not the cost being measured)."""
    return next(_fences)


class PeerUnavailable(Exception):
    """The peer cannot start here; the report shows it as skipped with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Peer(Protocol):
    """A store under measurement. ``ids=None`` means every endpoint."""

    name: str

    def load(self, n: int) -> None:
        """Register ``n`` endpoints, store plans 1..PLANS and point every alias at plan 1."""

    def prepare(self, ids: Sequence[int] | None, mode: Mode) -> None:
        """Untimed: read what ``mode`` needs before its timed call (``exact``: the versions)."""

    def flip_batch(self, ids: Sequence[int] | None, mode: Mode, generation: int) -> int:
        """One batch call (or pipeline) flipping ``ids``; returns the flips applied."""

    def flip_single(self, ids: Sequence[int], mode: Mode, generation: int) -> int:
        """One call per endpoint; returns the flips applied."""

    def lease_batch(self, ids: Sequence[int], op: LeaseOp) -> int | None:
        """One batch call of ``op`` over ``ids`` (None: the store has no such batch call);
        returns how many succeeded. Called in the order acquire, renew, release."""

    def lease_single(self, ids: Sequence[int], op: LeaseOp) -> int:
        """One call of ``op`` per endpoint; returns how many succeeded."""

    def read_batch(self, ids: Sequence[int] | None) -> int | None:
        """One batch read of the aliases of ``ids`` (as an array where the store offers one);
        returns how many were read (None: not measured for this store)."""

    def used_bytes(self) -> int:
        """What the loaded fleet costs: RSS growth, Redis ``used_memory``, etcd's database."""

    def close(self) -> None: ...
