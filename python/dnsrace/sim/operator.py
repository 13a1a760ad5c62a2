"""The operators, as in the public account: an alarm, automation off, a repair, automation on.

The alarm watches the regional endpoint through the clients' probes: once it has answered
empty for a time drawn from ``operator.detect_s``, it fires. The operator turns the automation
off (every enactor stops at its next step), works for a time drawn from
``operator.repair_s`` (about 2.5 hours in 2025), then puts the newest plan back if its trees
are gone, points every stuck endpoint at it (a flip without rollback, since the active tree is
gone) and turns the automation on again. How long the regional endpoint stays empty, and how
often it happens, are measurements of the run, not inputs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.planner import PlanBoard, Planner
from dnsrace.sim.scenario import OperatorConfig

__all__ = ["Operator"]


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
        self.store = store
        self.planner = planner
        self.board = board
        self.metrics = metrics
        self.rng = rng
        self.regional = regional
        self.now = now
        self.pending = 0
        """Repairs under way (the run does not end before they are done)."""
        self.unrepairable: list[int] = []
        """Generations the operator could not put back (partly deleted); should stay empty."""
        self._empty_since: float | None = None
        self._detect_after = 0.0

    def observe(self, regional_empty: bool) -> None:
        """One probe of the regional endpoint by the clients: the alarm's input."""
        if not self.cfg.repair or self.pending:
            return
        if not regional_empty:
            self._empty_since = None
            return
        now = self.now()
        if self._empty_since is None:
            self._empty_since = now
            self._detect_after = self.rng.uniform(*self.cfg.detect_s)
        if now - self._empty_since >= self._detect_after:
            self._alarm(now)

    def _alarm(self, now: float) -> None:
        self.metrics.on_alarm(now)
        self.board.pause_automation()
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
        finally:
            self.pending -= 1
            self._empty_since = None
            self.board.resume_automation()
            self.metrics.on_resume(self.now())
