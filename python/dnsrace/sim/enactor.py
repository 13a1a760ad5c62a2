"""The DNS Enactor, step by step: every call of the public account is a store call of its own.

One enactor per availability zone, all running the same code independently. Between any two
store calls there is a scheduling point (:meth:`Enactor._step`): the other enactors, the
planner, the clients and the operator can run there, a pause that fell due strikes there, and
the call's round trip takes its (virtual) time there. For one plan:

1. pick-up: take the newest published plan; then the start check (``guard != none``): skip it
   unless it is newer than the plan applied before (the 2025 enactor checked only here);
2. walk the endpoints in batches, in the scenario's walk order; per batch:
   a. ``lock = lease``: lease every endpoint of the batch (one store call; each endpoint's
      acquire is its own atomic step). If another enactor holds any of them, release what was
      got, back off exponentially with jitter, retry;
   b. ``guard = under_lock | fence``: read the aliases under the lock, keep the older ones;
   c. flip the batch (the write takes ``pass_s / batches_per_pass``, times a slow-batch
      factor): ``lww`` or store-side ``if_newer``, with the lease tokens as fences for
      ``fence``. The store refuses a flip whose active tree is gone (``dangling``):
      ``on_dangling = stuck`` leaves it at that (2025), ``repair`` flips those endpoints again
      without recording a rollback;
   d. release the leases;
3. mark the plan applied, then clean up: list the stored generations, then delete the ones
   older than the plan minus ``trees_kept``, one store call each (``checked`` reads every
   alias and rollback first and spares what they use, in a separate step).

If a flip finds the plan's tree deleted (another enactor's clean-up), the enactor abandons
the plan. While the operator has the automation off, every step waits.
"""

from __future__ import annotations

import asyncio
import random
import types
from array import array
from collections.abc import Callable, Generator, Sequence

from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.faults import EnactorFaults
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.planner import PlanBoard
from dnsrace.sim.scenario import EnactorsConfig
from dnsrace.sim.schedule import Footprint
from dnsrace.sim.vectors import positions_below, zero_positions

# Footprint keys (see dnsrace.sim.schedule): the plan board (newest, applied), the stored
# trees, and per endpoint its alias with its rollback and its lease.
_BOARD = "board"
_TREES = "trees"

__all__ = ["Enactor", "PlanGone", "batches"]


class PlanGone(Exception):
    """The plan being applied was deleted by a clean-up: abandon it."""


def batches(walk: Sequence[int], batch_size: int) -> list[array[int]]:
    """The walk cut into batches of ``batch_size`` (ids ascending within a batch), as buffers
    the store reads without one Python object per endpoint."""
    return [array("I", sorted(walk[i : i + batch_size])) for i in range(0, len(walk), batch_size)]


class Enactor:
    """One enactor; :meth:`run` is one incarnation (a crash cancels it, a restart calls again)."""

    def __init__(
        self,
        name: str,
        discipline: Discipline,
        cfg: EnactorsConfig,
        store: ObservedStore,
        board: PlanBoard,
        metrics: Metrics,
        faults: EnactorFaults,
        rng: random.Random,
        walk: list[array[int]],
        endpoints: int,
        now: Callable[[], float],
    ) -> None:
        self.name = name
        self.discipline = discipline
        self.cfg = cfg
        self.walk = walk
        self.endpoints = endpoints
        # Scale-invariant write time: a full pass writes for pass_s seconds.
        self.write_s_per_endpoint = cfg.pass_s / endpoints if endpoints else 0.0
        self._all_ids: list[int] | None = None
        """Every endpoint the walk covers, ascending (made when a footprint needs it)."""
        # The discipline's derived knobs, read at every step (properties of a frozen class).
        self._mode = discipline.flip_mode
        self._safe = discipline.safe_cleanup
        self._fenced = discipline.guard == "fence"
        self._reads_under_lock = discipline.guard in ("under_lock", "fence")
        self._checks_start = discipline.guard != "none"
        self._leased = discipline.lock == "lease"
        self._repairs = discipline.on_dangling == "repair"
        self._jitter_s = cfg.pickup_jitter_s
        self.reset(store, board, metrics, faults, rng, now)

    def reset(
        self,
        store: ObservedStore,
        board: PlanBoard,
        metrics: Metrics,
        faults: EnactorFaults,
        rng: random.Random,
        now: Callable[[], float],
    ) -> None:
        """A new enactor's state (same name, discipline, settings and walk), for another run:
        an exploration's many short runs reuse one enactor per name."""
        self.store = store
        self.board = board
        self.metrics = metrics
        self.faults = faults
        self.rng = rng
        self.now = now
        self.idle = True
        """Waiting for a newer plan (the run may end when every enactor is idle)."""
        self._declare: Callable[[object, Footprint], None] | None = None
        self._task: object = None
        # Fixed for the run: whether pauses can strike, and the round trip when it does not
        # vary (None: drawn per call).
        self._pausing = bool(faults.pauses)
        self._latency = faults.fixed_latency
        self._slowness = faults.fixed_slowness

    # ------------------------------------------------------------------ footprints

    def _tell(self, reads: Sequence[object] = (), writes: Sequence[object] = ()) -> None:
        """Tell a schedule that uses footprints (POS) what the next step touches."""
        if self._declare is not None:
            self._declare(self._task, (frozenset(reads), frozenset(writes)))

    def _aliases(self, ids: Sequence[int]) -> list[object]:
        # Footprints are built only for a schedule that reads them (they cost one tuple per
        # endpoint).
        return [("alias", i) for i in ids] if self._declare is not None else []

    def _all_aliases(self) -> list[object]:
        """Every walked endpoint's alias, for a footprint (nothing without footprints)."""
        if self._declare is None:
            return []
        if self._all_ids is None:
            self._all_ids = sorted(i for batch in self.walk for i in batch)
        return self._aliases(self._all_ids)

    def _leases(self, ids: Sequence[int]) -> list[object]:
        return [("lease", i) for i in ids] if self._declare is not None else []

    def _write_footprint(self, targets: Sequence[int]) -> tuple[Sequence[object], ...]:
        """A write step's reads and writes (not kept in the writer's frame, which a bounded
        search fingerprints at every decision)."""
        if self._declare is None:
            return ()
        # The applied marker too: without a lock it is set in this same step.
        return (_TREES, *self._leases(targets)), (_BOARD, *self._aliases(targets))

    # ------------------------------------------------------------------ scheduling points

    @types.coroutine
    def _step(
        self,
        duration: float | None = None,
        reads: Sequence[object] = (),
        writes: Sequence[object] = (),
    ) -> Generator[object, None, None]:
        """A scheduling point before a store call: pause, round trip, automation switch.

        The call follows this step's return with no ``await`` in between, so an enactor
        never calls the store while the operator has the automation off. ``reads`` and
        ``writes`` are that call's footprint. A generator-based coroutine: a step with no
        wait is one bare yield (what ``asyncio.sleep(0)`` does) in this one frame.
        """
        if self._declare is not None:
            self._declare(self._task, (frozenset(reads), frozenset(writes)))
        # Told: the footprint is no part of the state a bounded search fingerprints while
        # this step waits (the caller's position and locals determine it).
        del reads, writes
        if self._pausing:
            pause = self.faults.pause_due(self.now())
            if pause > 0:
                self.metrics.on_pause(pause, now=self.now(), actor=self.name)
                yield from asyncio.sleep(pause)
        wait = duration if duration is not None else self._latency
        if wait is None:
            wait = self.faults.call_latency()
        # No wait still yields: every store call is preceded by a scheduling decision.
        if wait > 0:
            yield from asyncio.sleep(wait)
        else:
            yield None
        board = self.board
        if not board.automation_on:
            yield from board.wait_automation()

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        """Apply plans forever: a fresh incarnation remembers nothing but the board."""
        board = self.board
        schedule = getattr(asyncio.get_running_loop(), "schedule", None)
        if getattr(schedule, "uses_footprints", False):
            self._declare = schedule.declare  # type: ignore[union-attr]
            self._task = asyncio.current_task()
        # An enactor (re)starts from the applied generation, as a real one reads it at start:
        # starting from nothing would pick up and, without a start check, re-apply a plan
        # that is already live (a stale flip that only says how the run began).
        seen = board.applied
        while True:
            self.idle = True
            if self._declare is not None:
                self._tell((_BOARD,))
            if board.newest <= seen:  # (a plan published meanwhile needs no wait)
                await board.wait_newer(seen)
            self.idle = False
            if self._jitter_s > 0:
                await asyncio.sleep(self.rng.uniform(0.0, self._jitter_s))
            if self._pausing:
                self.faults.pause_due(self.now())  # pauses while idle did no harm: forget them
            await (self._step() if self._declare is None else self._step(reads=(_BOARD,)))
            gen = board.newest  # plan pick-up
            seen = gen
            metrics = self.metrics
            if metrics.keep_timeline:  # the passes are the timeline's alone
                metrics.on_pass_start(self.now(), self.name, gen)
            if self._checks_start:
                await (self._step() if self._declare is None else self._step(reads=(_BOARD,)))
                # The 2025 check: once, at plan start, newer than the plan applied before.
                if gen <= board.applied:
                    metrics.on_plan_skipped()
                    if metrics.keep_timeline:
                        metrics.on_pass_end(self.now(), self.name, "skipped")
                    continue
            try:
                for batch in self.walk:
                    await self._batch(batch, gen)
            except PlanGone:
                metrics.on_abandon()
                if metrics.keep_timeline:
                    metrics.on_pass_end(self.now(), self.name, "abandoned")
                continue
            board.mark_applied(gen)
            if metrics.keep_timeline:
                metrics.on_pass_end(self.now(), self.name, "applied")
            await self._cleanup(gen)

    # ------------------------------------------------------------------ one batch

    async def _lock(
        self, batch: Sequence[int]
    ) -> tuple[Sequence[int], Sequence[int], Sequence[int]]:
        """Lease ``batch`` (one store call); the endpoints got, their tokens, the refused.

        With footprints (exploration) a batch is all or nothing, as one step: what was got is
        given back and the whole batch retried. Otherwise only the refused endpoints wait."""
        store = self.store
        await (self._step() if self._declare is None else self._step(writes=self._leases(batch)))
        # An array of tokens (0: refused): no Python object per endpoint on the usual paths.
        tokens = store.acquire_leases(batch, self.name, self.cfg.lease_ttl_s, output="array")
        if all(tokens):  # every lease granted (0 or None: refused), the usual case
            return batch, tokens, []
        refused_at = zero_positions(tokens)
        if not refused_at:
            return batch, tokens, []
        if len(refused_at) == len(tokens):
            # The usual case: another enactor holds the whole batch.
            self.metrics.on_lock_abort(0)
            return [], [], batch
        refused_set = set(refused_at)
        got_at = [k for k in range(len(batch)) if k not in refused_set]
        got = [batch[k] for k in got_at]
        got_tokens = [tokens[k] for k in got_at]
        if self._declare is not None:
            self.metrics.on_lock_abort(len(got))
            await self._step(writes=self._leases(got))
            store.release_leases(got, self.name, got_tokens)
            return [], [], batch
        return got, got_tokens, [batch[k] for k in refused_at]

    async def _backoff(self, attempt: int) -> None:
        cfg = self.cfg
        ceiling = min(cfg.backoff_max_s, cfg.backoff_base_s * 2.0**attempt)
        # rng.uniform(0.0, ceiling / 2), spelled out as documented (a + (b-a) * random()).
        wait = ceiling / 2 + (0.0 + (ceiling / 2 - 0.0) * self.rng.random())
        self.metrics.on_lock_retry(wait, now=self.now(), actor=self.name)
        if self._declare is not None:
            self._tell()  # the backoff's wake-up touches nothing shared
        await asyncio.sleep(wait)

    async def _batch(self, batch: Sequence[int], gen: int) -> None:
        if not self._leased:
            await self._locked(batch, None, gen)
            return
        # Endpoints another enactor holds wait (exponential backoff with jitter) while the
        # others of the batch go ahead: a lock retry delays only the endpoints it concerns.
        pending: Sequence[int] = batch
        attempt = 0
        while pending:
            got, tokens, refused = await self._lock(pending)
            if got:
                await self._locked(got, tokens, gen)
            if refused:
                await self._backoff(attempt)
                attempt += 1
            pending = refused

    async def _locked(self, batch: Sequence[int], tokens: Sequence[int] | None, gen: int) -> None:
        """Read (under the lease), write and release the endpoints of ``batch``."""
        store = self.store
        try:
            targets: Sequence[int] = batch
            fences = tokens if self._fenced else None
            if self._reads_under_lock:
                await self._step(reads=self._aliases(batch))
                current = store.aliases(batch, output="array")
                keep = positions_below(current, gen)
                if keep is not None:
                    self.metrics.on_filtered(len(batch) - len(keep))
                    targets = [batch[k] for k in keep]
                    if fences is not None:
                        fences = [fences[k] for k in keep]
            if targets:
                await self._write(targets, gen, fences)
        except asyncio.CancelledError:
            raise  # a crash: the process is gone and its leases stay until they expire
        except BaseException:
            await self._release(batch, tokens)
            raise
        await self._release(batch, tokens)

    async def _write(self, targets: Sequence[int], gen: int, fences: Sequence[int] | None) -> None:
        """Write ``targets``: ``pass_s / batches_per_pass`` for a full batch, times a
        slow-batch factor. One endpoint, or a schedule that needs footprints (exploration),
        flips at the write's end in one step; otherwise each endpoint flips at its own
        instant of the write (:mod:`dnsrace.sim.inflight`)."""
        slowness = self._slowness
        if slowness is None:
            slowness = self.faults.slow_factor()
        write_s = len(targets) * self.write_s_per_endpoint * slowness
        if len(targets) == 1 or self._declare is not None or write_s <= 0:
            if self._declare is None:
                await self._step(write_s)
            else:
                await self._step(write_s, *self._write_footprint(targets))
            # One flip call for all targets (the store's dangling refusals counted).
            counts = self.store.flip_many(targets, gen, self._mode, actor=self.name, fence=fences)
            if counts.missing:
                raise PlanGone(gen)
            dangling = counts.dangling
            del counts  # not in the frame a bounded search fingerprints (as before, in a call)
        else:
            await self._step(0.0, *self._write_footprint(targets))
            dangling = await self._spread(targets, gen, fences, write_s)
        if dangling and self._repairs:
            await self._repair_dangling(targets, gen, fences)

    async def _spread(
        self, targets: Sequence[int], gen: int, fences: Sequence[int] | None, write_s: float
    ) -> int:
        """The write in flight from now for ``write_s``; the store's dangling refusals."""
        inflight, board = self.store.inflight, self.board
        task = asyncio.current_task()
        client = task.get_name() if task is not None else self.name
        w = inflight.start(
            self.name, client, targets, gen, self.discipline.flip_mode, write_s, fences
        )
        try:
            while not w.done:
                if w.suspended_at is not None:
                    await board.wait_automation()
                    continue
                wait = w.end - self.now()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    inflight.settle()
        finally:
            # Its end, or a crash: what fell due before now was written, the rest never is.
            inflight.finish(w)
        if w.gone:
            raise PlanGone(gen)
        return w.dangling

    async def _release(self, batch: Sequence[int], tokens: Sequence[int] | None) -> None:
        if tokens is not None:
            # The last batch's release and marking the plan applied are one step.
            if self._declare is None:
                await self._step()
            else:
                await self._step(writes=(_BOARD, *self._leases(batch)))
            self.store.release_leases(batch, self.name, tokens)

    async def _repair_dangling(
        self, targets: Sequence[int], gen: int, fences: Sequence[int] | None
    ) -> None:
        """``on_dangling = repair``: flip the refused endpoints again without a rollback."""
        store, d = self.store, self.discipline
        await self._step(reads=(_TREES, *self._aliases(targets)))
        stuck = store.dangling_aliases(targets)
        if stuck:
            await self._step(reads=(_TREES,), writes=self._aliases(stuck))
            gone = set(stuck)
            fenced = None
            if fences is not None:
                fenced = [f for e, f in zip(targets, fences, strict=True) if e in gone]
            store.flip_many(stuck, gen, d.flip_mode, actor=self.name, fence=fenced, rollback=False)

    # ------------------------------------------------------------------ clean-up

    async def _cleanup(self, gen: int) -> None:
        d, store = self.discipline, self.store
        await (self._step() if self._declare is None else self._step(reads=(_TREES,)))
        old = [g for g in store.plan_generations() if g < gen - d.trees_kept]
        if not old:
            return
        if d.cleanup == "checked":
            # Check, then act later: what no alias or rollback uses *now* is deleted.
            await self._step(reads=self._all_aliases())
            in_use = set(store.aliases(None)) | set(store.rollbacks(None))
            old = [g for g in old if g not in in_use]
        # A delete changes what every alias resolves to; a safe one also reads them all.
        delete_reads = self._all_aliases() if self._safe else ()
        for g in old:
            await self._step(reads=delete_reads, writes=(_TREES,))
            store.delete_plans([g], safe=self._safe, actor=self.name)
