"""The store as the simulator sees it: every call timed, every state change shown to the metrics.

:class:`ObservedStore` wraps a ``RecordStore`` or ``PyRecordStore``. Each call is timed with
``time.perf_counter`` into a per-category total (so a run can tell how much of its wall time
the store took versus the Python around it), and each call that changes what endpoints serve
is reported to the :class:`~dnsrace.sim.metrics.Metrics` with the aliases it replaced. The
observation reads happen in the same synchronous step as the write (no ``await`` in between),
so on one event loop they see exactly the state the write changed.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from dnsrace._types import DeleteResult, FlipCounts, Outcome, Output
from dnsrace.backends import Backend, Store
from dnsrace.sim.inflight import InFlight
from dnsrace.sim.metrics import Metrics

__all__ = ["ObservedStore", "StoreTimer"]

Mode = Literal["lww", "if_newer", "exact"]
T = TypeVar("T")


@dataclass
class StoreTimer:
    """Seconds spent inside store calls, and call counts, by category."""

    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def summary(self) -> dict[str, Any]:
        return {
            "store_s": self.total,
            "store_s_by_category": dict(sorted(self.seconds.items())),
            "store_calls": sum(self.calls.values()),
        }


class ObservedStore:
    """A store whose writes feed the metrics and whose calls are timed."""

    def __init__(
        self,
        backend: Backend,
        metrics: Metrics,
        now: Callable[[], float],
        timer: StoreTimer | None = None,
        history: int = 0,
        *,
        timed: bool = True,
    ) -> None:
        self.backend = backend
        # With a history, each call is recorded as the asyncio task making it (clients
        # numbered in order of first call) at the run's time in ns (docs/guide/checker.md).
        self.recording = history > 0
        self._clients: dict[str, int] = {}
        if self.recording:
            if backend.new_recording_store is None:
                raise ValueError(f"the {backend.name!r} store cannot record a history")
            self.raw: Store = backend.new_recording_store(history)
        else:
            self.raw = backend.new_store()
        self.metrics = metrics
        self.now = now
        self.timer = timer if timer is not None else StoreTimer()
        self.timed = timed
        if not timed:
            # Nobody reads the times (an exploration run): calls go untimed.
            self._call = self._call_untimed  # type: ignore[method-assign]
        self.stuck_listeners: list[Callable[[list[int]], None]] = []
        self.inflight = InFlight(self.flip_many, now)
        """Batch writes in flight, settled before every call (:mod:`dnsrace.sim.inflight`)."""
        self._direct = not timed and not self.recording
        """Untimed and unrecorded: while no write is in flight, the enactors' and the
        planner's calls go straight to the store (an exploration run's every step)."""

    def renew(self, metrics: Metrics, now: Callable[[], float], timer: StoreTimer) -> None:
        """A new store of the same backend behind this wrapper, for another run: nothing of
        the last run stays (no listener, no write in flight, no client numbers). Only an
        untimed, unrecorded wrapper (an exploration run's) is renewed."""
        if not self._direct:
            raise ValueError("only an untimed, unrecorded store is renewed")
        self.raw = self.backend.new_store()
        self.metrics = metrics
        self.now = now
        self.timer = timer
        self._clients.clear()
        self.stuck_listeners.clear()
        self.inflight.reset(now)

    def _tick(self, category: str, start: float) -> None:
        self.timer.seconds[category] += time.perf_counter() - start
        self.timer.calls[category] += 1

    def context(self, at: float | None = None, client: str | None = None) -> None:
        """Tell a recording store who calls next and when (nothing without a history):
        the current task now, unless a write in flight is settled for ``client`` at ``at``."""
        if not self.recording:
            return
        name = client
        if name is None:
            try:
                task = asyncio.current_task()
            except RuntimeError:
                task = None
            name = task.get_name() if task is not None else ""
        number = self._clients.setdefault(name, len(self._clients))
        t = self.now() if at is None else at
        self.raw.set_history_context(number, max(0, round(t * 1e9)))  # type: ignore[attr-defined]

    def _before_call(self, at: float | None = None, client: str | None = None) -> None:
        """What writes in flight did up to now happened before this call; a recording store
        is told who calls (see :meth:`context`)."""
        if self.inflight._writes:
            self.inflight.settle()
        if self.recording:
            self.context(at, client)

    def _call_untimed(self, category: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`_call` without the timer."""
        # _before_call, inline: an exploration run's every store call comes through here.
        if self.inflight._writes or self.recording:
            self._before_call()
        return fn(*args, **kwargs)

    def _call(self, category: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._before_call()
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            # _tick, inline: every store call of a run comes through here.
            timer = self.timer
            timer.seconds[category] += time.perf_counter() - start
            timer.calls[category] += 1

    # ------------------------------------------------------------------ setup and plans

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        return self._call("setup", self.raw.add_endpoints, names)

    def build_plan(
        self,
        generation: int,
        target_sets: Sequence[Sequence[tuple[str, int]]],
        endpoints: Sequence[int],
        set_index: Sequence[int],
    ) -> Any:
        plan_cls = self.backend.plan_cls
        if self._direct and not self.inflight._writes:
            return plan_cls.from_shared(generation, target_sets, endpoints, set_index)
        return self._call(
            "planner", plan_cls.from_shared, generation, target_sets, endpoints, set_index
        )

    def put_plan(self, plan: Any) -> None:
        if self._direct and not self.inflight._writes:
            self.raw.put_plan(plan)
        else:
            self._call("planner", self.raw.put_plan, plan)

    def plan_generations(self) -> list[int]:
        if self._direct and not self.inflight._writes:
            return self.raw.plan_generations()
        return self._call("cleanup", self.raw.plan_generations)

    def has_tree(self, endpoint: int, generation: int) -> bool:
        return self._call("operator", self.raw.has_tree, endpoint, generation)

    def stats(self) -> dict[str, int]:
        return self._call("metrics", self.raw.stats)

    # ------------------------------------------------------------------ enactor reads and locks

    @overload
    def aliases(self, ids: Sequence[int] | None) -> list[int | None]: ...
    @overload
    def aliases(self, ids: Sequence[int] | None, output: Literal["array"]) -> array[int]: ...
    def aliases(self, ids: Sequence[int] | None, output: Output = "list") -> Any:
        return self._call("enactor", self.raw.aliases, ids, output=output)

    def rollbacks(self, ids: Sequence[int] | None) -> list[int | None]:
        return self._call("enactor", self.raw.rollbacks, ids)

    def dangling_aliases(self, ids: Sequence[int] | None) -> list[int]:
        return self._call("enactor", self.raw.dangling_aliases, ids)

    @overload
    def acquire_leases(self, ids: Sequence[int], holder: str, ttl: float) -> list[int | None]: ...
    @overload
    def acquire_leases(
        self, ids: Sequence[int], holder: str, ttl: float, output: Literal["array"]
    ) -> array[int]: ...
    def acquire_leases(
        self, ids: Sequence[int], holder: str, ttl: float, output: Output = "list"
    ) -> Any:
        """Leases as ``acquire_leases`` gives them (``output="array"``: 0 is refused)."""
        if self._direct and not self.inflight._writes:
            return self.raw.acquire_leases(ids, holder, ttl, self.now(), output=output)
        return self._call(
            "enactor", self.raw.acquire_leases, ids, holder, ttl, self.now(), output=output
        )

    def release_leases(self, ids: Sequence[int], holder: str, tokens: Sequence[int]) -> int:
        if self._direct and not self.inflight._writes:
            return self.raw.release_leases(ids, holder, tokens)
        return self._call("enactor", self.raw.release_leases, ids, holder, tokens)

    # ------------------------------------------------------------------ observed writes

    def flip_many(
        self,
        ids: Sequence[int],
        generation: int,
        mode: Mode,
        *,
        actor: str,
        fence: Sequence[int] | None = None,
        enactor: bool = True,
        rollback: bool = True,
        at: float | None = None,
        client: str | None = None,
    ) -> FlipCounts:
        """Flip ``ids`` (ascending) and report the change to the metrics.

        The store reports each endpoint's outcome and the alias it had before (0: none), so
        the metrics see exactly what this flip changed without a read before or after it.
        ``at`` and ``client``: a part of a write in flight, settled at its own instant for
        its writer (:class:`~dnsrace.sim.inflight.InFlight`).
        """
        metrics = self.metrics
        if not self._direct or self.inflight._writes:
            self._before_call(at, client)
        if self.timed:
            category = "enactor" if enactor else "operator"
            start = time.perf_counter()
            try:
                result = self.raw.flip_many(
                    ids, generation, mode, fence=fence, rollback=rollback, outcomes=True
                )
            finally:
                # _tick, inline: every part of a write in flight comes through here.
                timer = self.timer
                timer.seconds[category] += time.perf_counter() - start
                timer.calls[category] += 1
        else:
            result = self.raw.flip_many(
                ids, generation, mode, fence=fence, rollback=rollback, outcomes=True
            )
        counts, outcomes, before = result
        touched: list[int] = []
        dangling = metrics.dangling
        if dangling and not dangling.isdisjoint(ids):
            touched = [i for i in ids if i in dangling]
        after = None
        healed: set[int] | None = None
        if touched or (
            counts.applied
            and (
                counts.missing
                or counts.fenced
                or counts.dangling
                or (mode == "lww" and counts.applied < len(ids))  # partially applied
            )
        ):
            applied = Outcome.APPLIED
            after = [
                generation if o == applied else b for o, b in zip(outcomes, before, strict=True)
            ]
        if touched:
            still = set(self._call("metrics", self.raw.dangling_aliases, touched))
            healed = {i for i in touched if i not in still}
        metrics.on_flip(
            self.now() if at is None else at,
            actor,
            generation,
            ids,
            before,
            counts,
            mode,
            after,
            healed,
            enactor=enactor,
        )
        return counts

    def delete_plans(self, generations: list[int], *, safe: bool, actor: str = "") -> DeleteResult:
        """Clean-up; endpoints it leaves dangling are reported to the metrics and listeners."""
        result: DeleteResult
        if self._direct and not self.inflight._writes:
            result = self.raw.delete_plans(generations, safe=safe)
        else:
            result = self._call("cleanup", self.raw.delete_plans, generations, safe=safe)
        metrics = self.metrics
        if metrics.keep_timeline:
            metrics.on_cleanup(
                result.deleted_trees,
                result.kept_trees,
                now=self.now(),
                actor=actor,
                generation=generations[0] if len(generations) == 1 else 0,
            )
        else:  # the counters alone (the rest is the timeline's): no time read, no keywords
            metrics.on_cleanup(result.deleted_trees, result.kept_trees)
        served = metrics.served
        if result.deleted_trees and (
            served.get(generations[0], 0)  # an enactor deletes one generation per call
            if len(generations) == 1
            else any(served.get(g, 0) for g in generations)
        ):
            # Measure, do not trust: even a safe clean-up is checked for dangling aliases,
            # whenever some endpoint was observed serving a generation it deleted (nothing
            # else can start dangling).
            dangling = self._call("metrics", self.raw.dangling_aliases, None)
            new = [i for i in dangling if i not in self.metrics.dangling]
            if new:
                aliases = self._call("metrics", self.raw.aliases, new)
                self.metrics.on_dangling(self.now(), new, aliases)
                for listener in self.stuck_listeners:
                    listener(new)
        return result

    def resolve_many(self, ids: list[int]) -> list[tuple[Any, ...]]:
        if self._direct and not self.inflight._writes:
            answers = self.raw.resolve_many(ids)
        else:
            answers = self._call("clients", self.raw.resolve_many, ids)
        metrics = self.metrics
        if metrics.keep_timeline:  # the report's counters (a verdict reads the store's)
            metrics.on_resolve(self.now(), ids, answers)
        return answers
