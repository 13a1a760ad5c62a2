"""Batch writes that span their duration: every endpoint of a batch flips at its own instant.

An enactor writes a batch of ``n`` endpoints in ``write_s`` seconds; endpoint ``k`` of the
batch (in write order) flips at ``start + (k + 1) * write_s / n``. The store is still called
in batches, for speed: a write in flight is *settled* lazily, right before any other store
call (of any actor) and at its own end, by flipping, in one call, every endpoint whose instant
has come. Nobody can observe the store between two calls, so this is exactly the store an
endpoint-by-endpoint writer leaves: a clean-up, a newer flip or a client probe that falls
between two endpoints of a batch sees the first flipped and the second not, and the damage is
counted per endpoint, not per batch.

Several writes in flight at once (enactors without a lock, or a lease that expired under a
paused holder) are settled in the order of their instants wherever they touch the same
endpoint; flips of different endpoints commute, so elsewhere each write's due endpoints go in
one call. While the operator has the automation off, writes in flight stand still (their
remaining instants move by the time it stayed off), as every enactor does at its next step.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dnsrace._types import FlipCounts

__all__ = ["InFlight", "SpreadWrite"]


@dataclass(eq=False)
class SpreadWrite:
    """One batch write in flight: ``ids`` ascending, flipped one by one over its duration."""

    actor: str
    client: str
    """The writer's task name (a recorded history attributes every part to it)."""
    ids: array[int]
    fences: array[int] | None
    generation: int
    mode: Literal["lww", "if_newer"]
    start: float
    step: float
    """Seconds per endpoint: endpoint k flips at start + shift + (k + 1) * step."""
    order: int
    """Registration order: breaks ties between two writes' equal instants."""
    shift: float = 0.0
    pos: int = 0
    """Endpoints flipped so far."""
    gone: bool = False
    """A flip found the plan's tree deleted: the rest of the write is dropped."""
    dangling: int = 0
    """Flips the store refused as dangling (the endpoint's active tree is gone)."""
    suspended_at: float | None = None

    @property
    def done(self) -> bool:
        return self.gone or self.pos >= len(self.ids)

    @property
    def end(self) -> float:
        """When the last endpoint flips (if the automation stays on)."""
        return self.instant(len(self.ids) - 1)

    def instant(self, k: int) -> float:
        return self.start + self.shift + (k + 1) * self.step

    def due(self, now: float) -> int:
        """Index one past the last endpoint whose instant is <= ``now``."""
        pos = self.pos
        n = len(self.ids)
        if self.gone or pos >= n or self.suspended_at is not None:
            return pos
        base = self.start + self.shift
        step = self.step
        # base + (k + 1) * step is instant(k), spelled out: the same float formula.
        if base + n * step <= now:
            return n
        # The first k whose instant is > now: a guess by division, then corrected with the
        # same float formula that decides the end, so that the two never disagree.
        k = int((now - base) / step) - 1
        k = min(max(k, pos), n - 1)
        while k > pos and base + k * step > now:
            k -= 1
        while k < n - 1 and base + (k + 1) * step <= now:
            k += 1
        return k


class InFlight:
    """The writes in flight on one store, settled before every other call."""

    def __init__(self, flip_many: Callable[..., FlipCounts], now: Callable[[], float]) -> None:
        # The observed store's flip_many, which records and reports each part (handed in, so
        # that this module needs nothing of the store that owns it).
        self._flip_many = flip_many
        self._now = now
        self._writes: list[SpreadWrite] = []
        self._registered = 0
        self._settling = False

    def reset(self, now: Callable[[], float]) -> None:
        """Nothing in flight, on another run's clock (the owner's store is reused)."""
        self._now = now
        self._writes.clear()
        self._registered = 0
        self._settling = False

    def __bool__(self) -> bool:
        return bool(self._writes)

    def start(
        self,
        actor: str,
        client: str,
        ids: Sequence[int],
        generation: int,
        mode: Literal["lww", "if_newer"],
        write_s: float,
        fences: Sequence[int] | None,
    ) -> SpreadWrite:
        """A write of ``ids`` (ascending) starting now and lasting ``write_s``."""
        self.settle()
        self._registered += 1
        # The walk's batches and the lease tokens come as typed arrays already: no copy
        # (nobody changes them), no Python object per endpoint.
        w = SpreadWrite(
            actor,
            client,
            ids if isinstance(ids, array) and ids.typecode == "I" else array("I", ids),
            fences if fences is None or isinstance(fences, array) else array("Q", fences),
            generation,
            mode,
            self._now(),
            write_s / len(ids),
            self._registered,
        )
        self._writes.append(w)
        return w

    def finish(self, w: SpreadWrite) -> None:
        """Settle up to now and forget ``w`` (its end, or its writer's crash)."""
        self.settle()
        if w in self._writes:
            self._writes.remove(w)

    def suspend(self) -> None:
        """The automation is off from now: what is due is flipped, the rest stands still."""
        self.settle()
        now = self._now()
        for w in self._writes:
            if w.suspended_at is None:
                w.suspended_at = now

    def resume(self) -> None:
        now = self._now()
        for w in self._writes:
            if w.suspended_at is not None:
                w.shift += now - w.suspended_at
                w.suspended_at = None

    def settle(self) -> None:
        """Flip every endpoint whose instant has come, in instant order per endpoint."""
        if self._settling or not self._writes:
            return
        self._settling = True
        try:
            now = self._now()
            writes = self._writes
            if len(writes) == 1:
                # The usual case (one writer at a time): its due part in one call.
                w = writes[0]
                limit = w.due(now)
                if limit > w.pos:
                    self._flip(w, limit)
                return
            # A write's due index depends only on now and on itself (flipping one write
            # leaves the others as they were), so it is computed once per settle.
            limits = [(w, w.due(now)) for w in writes]
            while True:
                ready = [(w, lim) for w, lim in limits if lim > w.pos and not w.gone]
                if not ready:
                    return
                if len(ready) == 1:
                    w, limit = ready[0]
                    self._flip(w, limit)
                    continue
                # The write whose next endpoint comes first goes first, up to the first of
                # its endpoints that another write must flip before it.
                first, stop = min(ready, key=lambda r: (r[0].instant(r[0].pos), r[0].order))
                for other, other_limit in ready:
                    if other is not first:
                        stop = min(stop, _first_blocked(first, stop, other, other_limit))
                self._flip(first, stop)
        finally:
            self._settling = False

    def _flip(self, w: SpreadWrite, stop: int) -> None:
        lo = w.pos
        ids = w.ids[lo:stop]
        fences = None if w.fences is None else w.fences[lo:stop]
        counts = self._flip_many(
            ids,
            w.generation,
            w.mode,
            actor=w.actor,
            fence=fences,
            at=w.instant(stop - 1),
            client=w.client,
        )
        w.pos = stop
        w.dangling += counts.dangling
        if counts.missing:
            w.gone = True


def _first_blocked(a: SpreadWrite, a_stop: int, b: SpreadWrite, b_stop: int) -> int:
    """The first index in ``a``'s due part ``[a.pos, a_stop)`` whose endpoint ``b`` must flip
    first (``b`` has it due at an earlier instant, or the same one and registered earlier);
    ``a_stop`` if none."""
    a_ids, b_ids = a.ids, b.ids
    if b.pos >= b_stop or a.pos >= a_stop:
        return a_stop
    lo = max(a_ids[a.pos], b_ids[b.pos])
    hi = min(a_ids[a_stop - 1], b_ids[b_stop - 1])
    if lo > hi:
        return a_stop  # disjoint id ranges: the flips commute
    k = bisect_left(a_ids, lo, a.pos, a_stop)
    end = bisect_right(a_ids, hi, a.pos, a_stop)
    while k < end:
        e = a_ids[k]
        j = bisect_left(b_ids, e, b.pos, b_stop)
        if j < b_stop and b_ids[j] == e and (b.instant(j), b.order) < (a.instant(k), a.order):
            return k
        k += 1
    return a_stop
