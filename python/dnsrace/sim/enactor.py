"""The DNS Enactor: picks up the newest plan and walks the endpoints in batches.

One enactor per availability zone, all running the same code independently. For a plan it
walks the regional endpoint first (alone, so that what happens to it is exactly what happened
to it), then the other endpoints in id order in batches of ``batch_size``. Per batch,
following its discipline (see :mod:`dnsrace.sim.disciplines`):

1. ``lock = lease``: lease every endpoint of the batch (one lease round trip); if any is held
   by another enactor (or injected contention strikes) release what it got, back off
   exponentially with jitter and retry the batch.
2. ``guard = under_lock | fence``: read the aliases and keep only endpoints older than the plan.
3. Write the batch (takes ``flip_latency_s`` per endpoint, times a slow-batch factor); a GC
   pause that fell due strikes here, between the check and the write.
4. Endpoints whose alias points at a deleted tree are *stuck*: the flip writes the rollback
   record from the active tree, which is gone, so the 2025 code could not update them. They are
   left alone until the operator repairs them.
5. Flip (``lww`` or store-side ``if_newer``; with ``fence``, the lease tokens go along) and
   release the leases.

If the plan's trees were deleted under it (another enactor's clean-up), the enactor abandons
the plan. After finishing a plan it marks it applied and runs clean-up: delete every
generation older than the plan minus ``trees_kept``, unsafely or safely.

Every store call is synchronous and nothing awaits between a check and the write it guards
except where the model says time passes (the write itself, a pause), which is the point.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from dnsrace.checker import Checker
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.observed import ObservedStore
from dnsrace.sim.planner import PlanBoard
from dnsrace.sim.scenario import EnactorsConfig

__all__ = ["Enactor", "PlanGone", "batch_bounds"]


class PlanGone(Exception):
    """The plan being applied was deleted by a clean-up: abandon it."""


def batch_bounds(endpoints: int, batch_size: int) -> list[tuple[int, int]]:
    """The walk: the regional endpoint (id 0) alone, then id ranges of ``batch_size``."""
    bounds = [(0, 1)] if endpoints else []
    lo = 1
    while lo < endpoints:
        hi = min(endpoints, lo + batch_size)
        bounds.append((lo, hi))
        lo = hi
    return bounds


class Enactor:
    """One enactor; :meth:`run` is one incarnation (a crash cancels it, a restart calls again)."""

    def __init__(
        self,
        name: str,
        discipline: Discipline,
        cfg: EnactorsConfig,
        store: ObservedStore,
        board: PlanBoard,
        checker: Checker,
        faults: EnactorFaults,
        rng: random.Random,
        ids: list[int],
        now: Callable[[], float],
    ) -> None:
        self.name = name
        self.discipline = discipline
        self.cfg = cfg
        self.store = store
        self.board = board
        self.checker = checker
        self.faults = faults
        self.rng = rng
        self.ids = ids
        self.now = now
        self.bounds = batch_bounds(len(ids), cfg.batch_size)
        self.idle = True
        """Waiting for a newer plan (the run may end when every enactor is idle)."""

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        """Apply plans forever: a fresh incarnation remembers nothing but the board."""
        seen = 0
        while True:
            self.idle = True
            await self.board.wait_newer(seen)
            self.idle = False
            if self.cfg.pickup_jitter_s > 0:
                await asyncio.sleep(self.rng.uniform(0.0, self.cfg.pickup_jitter_s))
            self.faults.pause_due(self.now())  # pauses while idle did no harm: forget them
            gen = self.board.newest
            seen = gen
            # The 2025 check: once, at plan start, newer than the plan applied before.
            if self.discipline.guard != "none" and gen <= self.board.applied:
                continue
            try:
                await self._apply(gen)
            except PlanGone:
                self.checker.on_abandon()
                continue
            self.board.mark_applied(gen)
            self._cleanup(gen)

    async def _apply(self, gen: int) -> None:
        ids = self.ids
        for lo, hi in self.bounds:
            await self._batch(ids[lo:hi], gen, regional=lo == 0)

    # ------------------------------------------------------------------ one batch

    async def _pause_point(self) -> None:
        length = self.faults.pause_due(self.now())
        if length > 0:
            self.checker.on_pause(length)
            await asyncio.sleep(length)

    async def _lock(self, batch: list[int], regional: bool) -> list[int]:
        """Lease the whole batch, retrying with exponential backoff and jitter; the tokens."""
        cfg, store = self.cfg, self.store
        attempt = 0
        while True:
            await self._pause_point()
            if cfg.lock_latency_s > 0:
                await asyncio.sleep(cfg.lock_latency_s)
            if not self.faults.lock_fails(self.now(), regional):
                tokens = store.acquire_leases(batch, self.name, cfg.lease_ttl_s)
                if None not in tokens:
                    return tokens  # type: ignore[return-value]
                got = [(e, t) for e, t in zip(batch, tokens, strict=True) if t is not None]
                if got:
                    store.release_leases([e for e, _ in got], self.name, [t for _, t in got])
            ceiling = min(cfg.backoff_max_s, cfg.backoff_base_s * 2.0**attempt)
            wait = ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
            attempt += 1
            self.checker.on_lock_retry(wait)
            await asyncio.sleep(wait)

    async def _batch(self, batch: list[int], gen: int, *, regional: bool) -> None:
        d, cfg, store = self.discipline, self.cfg, self.store
        leased = d.lock == "lease"
        tokens: list[int] | None = None
        if leased:
            tokens = await self._lock(batch, regional)
        else:
            await self._pause_point()
        targets = batch
        fences = tokens if d.guard == "fence" else None
        if d.guard in ("under_lock", "fence"):
            # Read-then-write under the lease: skip endpoints already at gen or newer.
            current = store.aliases(batch)
            if None in current or max(current) >= gen:  # type: ignore[type-var]
                keep = [k for k, a in enumerate(current) if a is None or a < gen]
                targets = [batch[k] for k in keep]
                if fences is not None:
                    fences = [fences[k] for k in keep]
        try:
            if targets:
                write_s = len(targets) * cfg.flip_latency_s * self.faults.slow_factor()
                # Always yield here, even with no simulated latency: the other enactors (and
                # on the real clock, everything else on the loop) run between check and write.
                await asyncio.sleep(write_s)
                await self._pause_point()
                self._flip(targets, gen, fences)
        except asyncio.CancelledError:
            raise  # a crash: the process is gone and its leases stay until they expire
        except BaseException:
            self._release(batch, tokens)
            raise
        self._release(batch, tokens)

    def _release(self, batch: list[int], tokens: list[int] | None) -> None:
        if tokens is not None:
            self.store.release_leases(batch, self.name, tokens)

    def _flip(self, targets: list[int], gen: int, fences: list[int] | None) -> None:
        store = self.store
        stuck = store.dangling_aliases(targets)
        if stuck:
            # The flip would have to write the rollback from a deleted tree: the 2025 enactor
            # could not, so these endpoints take no plan until the operator repairs them.
            self.checker.on_stuck_skip(self.now(), self.name, gen, stuck)
            gone = set(stuck)
            keep = [k for k, e in enumerate(targets) if e not in gone]
            targets = [targets[k] for k in keep]
            if fences is not None:
                fences = [fences[k] for k in keep]
            if not targets:
                return
        counts = store.flip_many(
            targets, gen, self.discipline.flip_mode, actor=self.name, fence=fences
        )
        if counts.missing:
            raise PlanGone(gen)

    # ------------------------------------------------------------------ clean-up

    def _cleanup(self, gen: int) -> None:
        d = self.discipline
        old = [g for g in self.store.plan_generations() if g < gen - d.trees_kept]
        if old:
            self.store.delete_plans(old, safe=d.safe_cleanup)
