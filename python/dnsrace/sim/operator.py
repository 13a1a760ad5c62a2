"""The operators, as in the public account: an alarm, automation off, a repair, automation on.

The alarm watches what the clients see (:mod:`dnsrace.sim.clients`): once some probed endpoint
has answered empty for a time drawn from ``operator.detect_s``, it fires (``operator.alarm =
"regional"``: only the regional endpoint counts, as in the public account). The operator
turns the automation off (every enactor stops at its next step, and writes in flight stop
between two endpoints), works for a time drawn from ``operator.repair_s`` (about 2.5 hours in
2025), then puts the newest plan back if its trees are gone, points every stuck endpoint at it
(a flip without rollback, since the active tree is gone) and turns the automation on again.
How long endpoints stay empty, and how often it happens, are measurements of the run, not
inputs.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Hashable

from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.planner import PlanBoard, Planner
from dnsrace.sim.scenario import OperatorConfig

__all__ = ["Operator"]


def _no_probes() -> None:
    """The probes' state before any client is set up: nothing."""


class Operator:
    def __init__(
        self,
        cfg: OperatorConfig,
        store: ObservedStore,
        planner: Planner,
        board: PlanBoard,
        metrics: Metrics,
        rng: random.Random,
        regional: int,
        now: Callable[[], float],
    ) -> None:
        self.cfg = cfg
        self.regional = regional
        self.unrepairable: list[int] = []
        """Generations the operator could not put back (partly deleted); should stay empty."""
        self.alarm_log: list[tuple[float, int, bool]] = []
        """Per alarm: when, how many probed endpoints had answered empty for the detection
        time, and whether the regional endpoint was one of them."""
        self._stuck_since: dict[int, float] = {}
        self.reset(store, planner, board, metrics, rng, now)

    def reset(
        self,
        store: ObservedStore,
        planner: Planner,
        board: PlanBoard,
        metrics: Metrics,
        rng: random.Random,
        now: Callable[[], float],
    ) -> None:
        """A new operator's state (same settings), for another run: an exploration's many
        short runs reuse one operator."""
        self.store = store
        self.planner = planner
        self.board = board
        self.metrics = metrics
        self.rng = rng
        self.now = now
        self.pending = 0
        """Repairs under way (the run does not end before they are done)."""
        self.unrepairable.clear()
        self._empty_since: dict[int, float] = {}
        """Probed endpoints answering empty, since when (continuously)."""
        self._detect_after = 0.0
        self.alarm_log.clear()
        self._stuck_since.clear()
        store.stuck_listeners.append(self._on_stuck)
        self.probes_state: Callable[[], Hashable] = _no_probes
        """The state of the clients whose rounds feed the alarm (set by them)."""

    def observe(self, empty: list[int]) -> None:
        """One round of the clients' probes: the endpoints that answered empty (the alarm's
        input; with ``alarm = "regional"`` only the regional endpoint counts)."""
        if not self.cfg.repair or self.pending:
            return  # nobody acts on it (what follows changes nothing then)
        if self.cfg.alarm == "regional":
            empty = [self.regional] if self.regional in empty else []
        if not empty:
            self._empty_since.clear()
            return
        now = self.now()
        if not self._empty_since:
            # A new episode of empty answers: how long until somebody acts on it.
            self._detect_after = self.rng.uniform(*self.cfg.detect_s)
        since = {e: self._empty_since.get(e, now) for e in empty}
        self._empty_since = since
        seen = [e for e, t in since.items() if now - t >= self._detect_after]
        if seen:
            self.alarm_log.append((now, len(seen), self.regional in seen))
            self._alarm(now)

    def _on_stuck(self, ids: list[int]) -> None:
        now = self.now()
        for e in ids:
            self._stuck_since.setdefault(e, now)

    def unseen(self, stuck: set[int]) -> int:
        """Endpoints of ``stuck`` (those stuck at the run's end) that got stuck after the last
        alarm: no alarm saw them (the repair after an alarm mends every stuck endpoint)."""
        last = self.alarm_log[-1][0] if self.alarm_log else -math.inf
        return sum(1 for e in stuck if self._stuck_since.get(e, math.inf) > last)

    def _alarm(self, now: float) -> None:
        self.metrics.on_alarm(now)
        self.board.pause_automation()
        self.store.inflight.suspend()  # writes in flight stop between two endpoints
        self.pending += 1
        asyncio.get_running_loop().call_later(self.rng.uniform(*self.cfg.repair_s), self._repair)

    def _repair(self) -> None:
        store = self.store
        try:
            stuck = store.dangling_aliases(None)
            if stuck:
                gen = self.planner.generation
                if not store.has_tree(stuck[0], gen):
                    if gen in store.plan_generations():
                        # Some trees of gen survive (a safe clean-up kept them) and a stored
                        # plan is immutable; never seen with an unsafe clean-up, which deletes
                        # whole generations. Recorded, not hidden.
                        self.unrepairable.append(gen)
                        return
                    store.put_plan(self.planner.latest_plan)
                store.flip_many(stuck, gen, "lww", actor="operator", enactor=False, rollback=False)
                self.metrics.on_repair(self.now(), stuck)
                for e in stuck:
                    self._stuck_since.pop(e, None)
        finally:
            self.pending -= 1
            self._empty_since = {}
            self.store.inflight.resume()
            self.board.resume_automation()
            self.metrics.on_resume(self.now())
