"""The load-balancer fleet the planner watches: health and capacity changing over time.

Endpoints are served by *groups* of load balancers. Each group ranks the whole fleet by a
rendezvous hash (highest random weight) and takes its ``targets`` best healthy members, so a
failed LB is replaced by the next one in that group's order and a newly added LB takes over
the groups where it ranks high, with no global reshuffle. A record's weight is the LB's
capacity (1..255). All events come from the planner's random stream.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
from dataclasses import dataclass

from dnsrace.sim.lastone import LastOne
from dnsrace.sim.scenario import FleetConfig

__all__ = ["Fleet", "LoadBalancer"]

TargetSet = list[tuple[str, int]]


@dataclass
class LoadBalancer:
    address: str
    capacity: int
    healthy: bool = True


@functools.lru_cache(maxsize=1 << 16)
def _score(group: int, address: str) -> int:
    """The rendezvous score of ``address`` in ``group``: a pure function of the two, and the
    same few pairs in every run of a scenario, so computed once per process."""
    digest = hashlib.blake2b(f"{group}/{address}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)`` drawn as it draws (``n``'s bit length of random bits, drawn again
    while out of range: ``randint(a, b)`` is ``a + randrange(b - a + 1)``), the same numbers
    without its three Python frames."""
    k = n.bit_length()
    r = rng.getrandbits(k)
    while r >= n:
        r = rng.getrandbits(k)
    return r


@functools.lru_cache(maxsize=1 << 16)
def _address(index: int, ipv6: bool) -> str:
    """The address of load balancer ``index`` in its family (the same in every run)."""
    if ipv6:
        return f"fd00:ddb:{index >> 16:x}::{index & 0xFFFF:x}"
    return f"10.{(index >> 16) & 0xFF}.{(index >> 8) & 0xFF}.{index & 0xFF}"


_Orders = tuple[list[list[int]], list[list[tuple[int, int]]]]
_starts: LastOne[_Orders] = LastOne()
"""Each group's rendezvous order of the last starting fleet, by group count and addresses in
index order: a pure function of the two, and one fleet starts every run of an exploration.
The lists are shared by the fleets that start so: a fleet copies them before it adds."""


def _insert(orders: _Orders, index: int, address: str) -> None:
    """Put load balancer ``index`` into each group's order, kept sorted by descending score
    (ties: lower index first)."""
    ranks, keys = orders
    for g in range(len(ranks)):
        key = (-_score(g, address), index)
        pos = bisect.bisect(keys[g], key)
        keys[g].insert(pos, key)
        ranks[g].insert(pos, index)


_SMALL_FLEET = 8
"""Up to this many load balancers a starting fleet's orders are small, and its seeds start
it in a few ways only (each load balancer's family is drawn): every way is kept."""
_SMALL_STARTS_MOST = 256
_small_starts: dict[tuple[int, tuple[str, ...]], _Orders] = {}
"""The orders of the small starting fleets seen, by group count and addresses (an entry is
made whole before it is added, and never changed: a thread reads one whole or none)."""


def _start_orders(groups: int, addresses: tuple[str, ...]) -> _Orders:
    """The orders of a starting fleet, found or made once."""
    global _small_starts

    def make() -> _Orders:
        made: _Orders = ([[] for _ in range(groups)], [[] for _ in range(groups)])
        for index, address in enumerate(addresses):
            _insert(made, index, address)
        return made

    if len(addresses) > _SMALL_FLEET:
        return _starts.get((groups, addresses), make)
    # A small fleet's seeds start it in up to 2**n ways (2 load balancers: 4), one after
    # another: the last one alone would be made again at most runs.
    key = (groups, addresses)
    small = _small_starts
    found = small.get(key)
    if found is None:
        if len(small) >= _SMALL_STARTS_MOST:
            small = _small_starts = {}
        found = small[key] = make()
    return found


def _sample(rng: random.Random, population: list[LoadBalancer], k: int) -> list[LoadBalancer]:
    """``rng.sample(population, k)``, the same draws and picks: for a population of at most
    21 (``sample`` then swaps the picked item with the last unpicked one of a copy, drawing
    each index below the unpicked count from as many random bits as that count has, again
    while out of range) without its type check and its frame per draw. A larger population
    goes to ``sample`` itself."""
    n = len(population)
    if n > 21 or k > 5:
        return rng.sample(population, k)
    pool = list(population)
    picked = []
    for left in range(n, n - k, -1):
        bits = left.bit_length()
        j = rng.getrandbits(bits)
        while j >= left:
            j = rng.getrandbits(bits)
        picked.append(pool[j])
        pool[j] = pool[left - 1]
    return picked


class Fleet:
    """A seeded fleet of IPv4 and IPv6 load balancers and the groups that share them."""

    def __init__(self, cfg: FleetConfig, *, groups: int, targets: int, rng: random.Random):
        self._cfg = cfg
        self._rng = rng
        self._groups = groups
        self._targets = targets
        self.lbs: list[LoadBalancer] = []
        self._down = 0
        """Load balancers not healthy (only :meth:`step` changes their health)."""
        self._sets: list[TargetSet] | None = None
        """The target sets until :meth:`step` changes the fleet (one in three plans does
        not)."""
        share, lbs = cfg.ipv6_share, self.lbs
        for index in range(cfg.load_balancers):
            # _new_lb, inline: every run of an exploration starts a fleet.
            address = _address(index, rng.random() < share)
            lbs.append(LoadBalancer(address, 40 + _below(rng, 161)))
        # Per group: LB indexes in rendezvous order, and their sort keys (shared with the
        # other fleets that start alike until this one adds a load balancer).
        self._orders = _start_orders(groups, tuple(lb.address for lb in self.lbs))
        self._shared = True

    def _new_lb(self) -> LoadBalancer:
        index = len(self.lbs)
        address = _address(index, self._rng.random() < self._cfg.ipv6_share)
        lb = LoadBalancer(address, 40 + _below(self._rng, 161))  # randint(40, 200)
        self.lbs.append(lb)
        return lb

    def _add(self) -> LoadBalancer:
        lb = self._new_lb()
        if self._shared:
            ranks, keys = self._orders
            self._orders = ([list(r) for r in ranks], [list(k) for k in keys])
            self._shared = False
        _insert(self._orders, len(self.lbs) - 1, lb.address)
        return lb

    def step(self) -> list[str]:
        """Apply this plan interval's random health and capacity events; describe them."""
        cfg, rng, events, lbs = self._cfg, self._rng, [], self.lbs
        down = self._down
        # Never fail the LB that would leave fewer healthy LBs than one endpoint needs. The
        # healthy and the failed ones are listed only to pick one (the count says the rest).
        if rng.random() < cfg.failure_probability and len(lbs) - down > self._targets:
            lb = rng.choice([lb for lb in lbs if lb.healthy])
            lb.healthy = False
            down += 1
            events.append(f"fail {lb.address}")
        if down and rng.random() < cfg.recovery_probability:
            lb = rng.choice([lb for lb in lbs if not lb.healthy])
            lb.healthy = True
            down -= 1
            events.append(f"recover {lb.address}")
        self._down = down
        if rng.random() < cfg.capacity_add_probability:
            lb = self._add()
            events.append(f"add {lb.address}")
        if rng.random() < cfg.traffic_shift_probability:
            for lb in _sample(rng, self.lbs, min(3, len(self.lbs))):
                # rng.uniform(0.6, 1.5), spelled out as documented (a + (b-a) * random()).
                factor = 0.6 + (1.5 - 0.6) * rng.random()
                weight = round(lb.capacity * factor)  # kept within 1..255
                lb.capacity = 1 if weight < 1 else 255 if weight > 255 else weight
            events.append("shift")
        if events:
            self._sets = None
        return events

    def group_sets(self) -> list[TargetSet]:
        """Each group's current target set: its best ``targets`` healthy LBs, weighted (the
        same list while the fleet does not change: read it, do not modify it)."""
        if self._sets is not None:
            return self._sets
        lbs, targets = self.lbs, self._targets
        out: list[TargetSet] = []
        for order in self._orders[0]:
            chosen: TargetSet = []
            for index in order:
                lb = lbs[index]
                if lb.healthy:
                    chosen.append((lb.address, lb.capacity))
                    if len(chosen) == targets:
                        break
            out.append(chosen)
        self._sets = out
        return out
