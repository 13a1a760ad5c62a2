"""K lease managers (EC2's DropletWorkflow Manager, DWFM) keeping a lease on every droplet.

Each droplet's lease lives in the :class:`~dnsrace.RecordStore` (one endpoint per droplet,
held by the manager that owns the droplet). Every ``check_period_s`` at its own phase a droplet
asks its manager to check its lease: a work item joins that manager's queue. A manager serves
its queue with a fixed capacity per second; an item costs one unit (a renewal of a live lease)
or ``establish_cost`` units (the lease had expired), times ``1 + load_cost * queued/droplets``:
a deep queue makes every item slower. Serving an item needs the dependency (the regional
DynamoDB endpoint): while it is out, the item fails fast. An item finished later than
``deadline_s`` after it was queued is discarded (``expired_work``). Failed and late items are
retried as the recovery discipline says. A finished item in time renews the lease in the store
(``acquire_leases`` by the manager, ttl ``lease_ttl_s``); the leased fraction is read back from
the store (``live_leases``).

Nothing here aims at a collapse. After a long enough outage most droplets are waiting with
expired leases when the dependency returns; their re-establishments cost more and deepen the
queues, the deeper queues make every item slower, waits pass the deadline, the late work is
thrown away and queued again, and the queues stay deep: the retries sustain the overload.

The model is time-stepped (``step_s``) over arrays: the store's batch calls and numpy do the
per-droplet work, Python only loops over steps and managers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dnsrace import RecordStore
from dnsrace.collapse.config import CollapseConfig, Recovery
from dnsrace.collapse.workqueue import Array, Items, WorkQueue
from dnsrace.seeds import substream

__all__ = ["CollapseRun", "holder_name", "simulate"]

Progress = Callable[[float], None]


def holder_name(manager: int) -> str:
    """The lease holder the store records for a manager's droplets."""
    return f"dwfm-{manager}"


@dataclass
class CollapseRun:
    """What one run under one recovery discipline produced (metrics are derived from it in
    :mod:`dnsrace.collapse.metrics`)."""

    config: CollapseConfig
    recovery: Recovery
    times: Array
    """Sample times (every ``sample_s`` and the horizon)."""
    leased: Array
    """Share of droplets holding a live lease in the store, per sample."""
    queued: Array
    """Work items in all managers' queues, per sample."""
    goodput: Array
    """Checks completed in time per second over the interval ending at each sample."""
    successes: int = 0
    retries: int = 0
    expired_work: int = 0
    rejected: int = 0
    failures: int = 0
    restarts: list[float] = field(default_factory=list)
    queue_max: int = 0
    wall_s: float = 0.0
    store_stats: dict[str, int] = field(default_factory=dict)
    """The store's counters at the end (every lease granted went through it)."""


class _Fleet:
    def __init__(self, config: CollapseConfig, recovery: Recovery) -> None:
        self.c = config
        self.r = recovery
        n, k = config.droplets, config.managers
        self.n = n
        self.k = k
        rng = substream(config.seed, "collapse", "phases")
        self.np_rng = np.random.default_rng(rng.getrandbits(64))
        self.backoff_rng = np.random.default_rng(
            substream(config.seed, "collapse", "backoff").getrandbits(64)
        )
        self.store = RecordStore()
        self.store.add_endpoints(f"d{i}.dwfm.example" for i in range(n))
        # Per-manager scalars as Python floats: numpy scalars are slow in the per-step loop.
        self.per_manager = [float(x) for x in np.bincount(np.arange(n) % k, minlength=k)]
        # Capacity in renewal units per second: the steady renewals take `utilisation` of it.
        self.capacity = [x / (config.check_period_s * config.utilisation) for x in self.per_manager]
        phases = self.np_rng.uniform(0.0, config.check_period_s, n)
        self.by_phase = np.argsort(phases, kind="stable").astype(np.int64)
        self.phase_sorted = phases[self.by_phase]
        self.pending = np.zeros(n, bool)
        self.mark = np.zeros(n, bool)
        self.queues: list[list[WorkQueue]] = [
            [WorkQueue() for _ in range(2 if recovery.renewals_first else 1)] for _ in range(k)
        ]
        self.carry = [0.0] * k
        self.retry_next: list[Items] = []
        self.parked: dict[int, list[Items]] = {}
        self.run = CollapseRun(config, recovery, np.empty(0), np.empty(0), np.empty(0), np.empty(0))
        self.step_successes = 0
        # Every droplet starts with a live lease from its manager.
        for m in range(k):
            self.store.acquire_leases(
                np.arange(m, n, k, dtype=np.int64), holder_name(m), config.lease_ttl_s, 0.0
            )

    # ------------------------------------------------------------------ helpers

    def up(self, t: float) -> bool:
        return not any(start <= t < end for start, end in self.c.windows)

    def arrivals(self, t0: float, t1: float) -> Array:
        """Droplets whose periodic check falls in ``[t0, t1)``."""
        period = self.c.check_period_s
        a = math.fmod(t0, period)
        b = a + (t1 - t0)
        ps = self.phase_sorted
        if b <= period:
            i, j = np.searchsorted(ps, (a, b))
            return self.by_phase[i:j]
        i = int(np.searchsorted(ps, a))
        j = int(np.searchsorted(ps, b - period))
        return np.concatenate([self.by_phase[i:], self.by_phase[:j]])

    def retry(self, items: Items, at: float) -> None:
        if not len(items):
            return
        policy = self.r.retry
        if policy == "off":
            self.pending[items.ids] = False
            return
        self.run.retries += len(items)
        items = Items(items.ids, items.queued_at, items.establish, items.attempts + 1)
        if policy == "immediate":
            self.retry_next.append(items)
            return
        # Full jitter: uniform up to the capped exponential delay of this attempt.
        caps = np.minimum(
            self.r.backoff_cap_s,
            self.r.backoff_base_s * np.exp2(np.minimum(items.attempts, 30).astype(np.float64)),
        )
        ready = at + self.backoff_rng.uniform(0.0, 1.0, len(items)) * caps
        steps = np.ceil(ready / self.c.step_s).astype(np.int64)
        order = np.argsort(steps, kind="stable")
        steps = steps[order]
        items = items.take(order)
        cuts = np.flatnonzero(np.diff(steps)) + 1
        for lo, hi in zip(
            np.concatenate([[0], cuts]), np.concatenate([cuts, [len(steps)]]), strict=True
        ):
            self.parked.setdefault(int(steps[lo]), []).append(items.take(slice(lo, hi)))

    def restart(self, t: float) -> None:
        """The operator restarts every manager: queues and pending retries are forgotten; the
        droplets ask again at their next periodic check."""
        dropped = [q.clear() for qs in self.queues for q in qs]
        dropped += self.retry_next
        for parts in self.parked.values():
            dropped += parts
        self.retry_next = []
        self.parked = {}
        for items in dropped:
            self.pending[items.ids] = False
        self.carry = [0.0] * self.k
        self.run.restarts.append(t)

    # ------------------------------------------------------------------ one step

    def incoming(self, step: int, t0: float, t1: float) -> Items:
        fresh = self.arrivals(t0, t1)
        fresh = fresh[~self.pending[fresh]]
        parts = [
            Items(
                fresh,
                np.full(len(fresh), t0),
                np.zeros(len(fresh), bool),
                np.zeros(len(fresh), np.int32),
            ),
            *self.retry_next,
            *self.parked.pop(step, []),
        ]
        self.retry_next = []
        batch = Items.concat(parts)
        if not len(batch):
            return batch
        batch.queued_at = np.full(len(batch), t0)
        self.pending[batch.ids] = True
        # Renewal or re-establishment: the store says whose lease is still live.
        live = self.store.live_leases(t0, batch.ids, output="numpy")
        self.mark[live] = True
        batch.establish = ~self.mark[batch.ids]
        self.mark[live] = False
        return batch

    def serve(self, m: int, work: Items, t0: float, t1: float, up: bool) -> int:
        c, r = self.c, self.r
        queues = self.queues[m]
        held = sum(len(q) for q in queues)
        if not held and not len(work):
            self.carry[m] = 0.0
            return 0
        if r.admission_limit is not None:
            room = max(0, int(r.admission_limit * self.per_manager[m]) - held)
            if len(work) > room:
                turned_away = work.take(slice(room, None))
                self.pending[turned_away.ids] = False
                self.run.rejected += len(turned_away)
                work = work.take(slice(0, room))
        if r.renewals_first:
            queues[0].push(work.take(~work.establish))
            queues[1].push(work.take(work.establish))
        else:
            queues[0].push(work)
        if r.drop_expired and c.deadline_s is not None:
            for q in queues:
                stale = q.remove_where(t0 - c.deadline_s)
                self.run.expired_work += len(stale)
                self.retry(stale, t0)
        queued = sum(len(q) for q in queues)
        multiplier = 1.0 + c.load_cost * queued / self.per_manager[m]
        capacity = self.capacity[m]
        carry = self.carry[m]
        budget = carry + capacity * c.step_s
        spent = 0.0  # units of this step's budget already used (the carry counts as spent)
        lifo = r.order == "lifo"
        cheapest = (c.failure_cost if not up else 1.0) * multiplier
        for q in queues:
            while len(q) and budget - spent >= cheapest:
                n = min(len(q), int((budget - spent) / cheapest) + 1)
                items = q.peek(n, lifo)
                if up:
                    cost = np.where(items.establish, c.establish_cost, 1.0) * multiplier
                else:
                    cost = np.full(n, c.failure_cost * multiplier)
                done_at = spent + np.cumsum(cost)
                k = int(np.searchsorted(done_at, budget, side="right"))
                if k == 0:
                    break
                q.pop(k, lifo)
                done = items.take(slice(0, k))
                finish = t0 + np.maximum(done_at[:k] - carry, 0.0) / capacity
                spent = float(done_at[k - 1])
                self.finish(m, done, finish, t1, up)
            if len(q):
                break
        left = sum(len(q) for q in queues)
        # Progress on the item in service carries over; an idle host banks nothing.
        self.carry[m] = budget - spent if left else 0.0
        return queued

    def finish(self, m: int, done: Items, finish: Array, t1: float, up: bool) -> None:
        if not up:
            self.run.failures += len(done)
            self.retry(done, t1)
            return
        deadline = self.c.deadline_s
        if deadline is not None:
            late = finish > done.queued_at + deadline
            if np.count_nonzero(late):
                self.run.expired_work += int(late.sum())
                self.retry(done.take(late), t1)
                done = done.take(~late)
        if len(done):
            self.store.acquire_leases(done.ids, holder_name(m), self.c.lease_ttl_s, t1)
            self.pending[done.ids] = False
            self.step_successes += len(done)


def simulate(
    config: CollapseConfig, recovery: Recovery, progress: Progress | None = None
) -> CollapseRun:
    """Run the fleet for ``horizon_s`` under one recovery discipline."""
    started = time.perf_counter()
    fleet = _Fleet(config, recovery)
    run = fleet.run
    c, r = config, recovery
    dt = c.step_s
    steps = math.ceil(c.horizon_s / dt)
    every = max(1, round(c.sample_s / dt))
    times: list[float] = []
    leased: list[float] = []
    queued: list[float] = []
    goodput: list[float] = []
    last_sample = 0.0
    since_sample = 0
    below_since: float | None = None
    back = c.dependency_back_s
    restart_at = [end + r.restart_after_s for _, end in c.windows]
    k = c.managers

    def sample(t: float) -> float:
        nonlocal last_sample, since_sample
        live = len(fleet.store.live_leases(t, output="numpy")) / c.droplets
        times.append(t)
        leased.append(live)
        queued.append(float(sum(len(q) for qs in fleet.queues for q in qs)))
        goodput.append(since_sample / (t - last_sample) if t > last_sample else 0.0)
        last_sample, since_sample = t, 0
        return live

    for step in range(steps):
        t0 = step * dt
        t1 = min(t0 + dt, c.horizon_s)
        up = fleet.up(t0)
        if step % every == 0:
            live = sample(t0)
            if progress is not None:
                progress(t0)
            if r.restart == "alarm":
                if up and t0 >= back and live < r.alarm_fraction:
                    below_since = t0 if below_since is None else below_since
                    if t0 - below_since >= r.alarm_for_s:
                        fleet.restart(t0)
                        below_since = None
                else:
                    below_since = None
        if r.restart == "scheduled" and restart_at and t0 >= restart_at[0]:
            restart_at.pop(0)
            fleet.restart(t0)
        batch = fleet.incoming(step, t0, t1)
        if len(batch):
            owner = batch.ids % k
            order = np.argsort(owner, kind="stable")
            batch = batch.take(order)
            bounds = np.searchsorted(owner[order], np.arange(k + 1))
        else:
            bounds = np.zeros(k + 1, np.int64)
        total = 0
        for m in range(k):
            lo, hi = int(bounds[m]), int(bounds[m + 1])
            total += fleet.serve(m, batch.take(slice(lo, hi)), t0, t1, up)
        run.queue_max = max(run.queue_max, total)
        run.successes += fleet.step_successes
        since_sample += fleet.step_successes
        fleet.step_successes = 0
    sample(c.horizon_s)
    run.times = np.asarray(times)
    run.leased = np.asarray(leased)
    run.queued = np.asarray(queued)
    run.goodput = np.asarray(goodput)
    run.store_stats = fleet.store.stats()
    run.wall_s = time.perf_counter() - started
    return run
