"""The human operator: repairs stuck endpoints some time after they get stuck.

In 2025 the regional endpoint stayed empty until engineers found it and repaired it by hand
(about 2.5 hours). Here the repair comes ``operator.repair_delay_s`` after an endpoint is left
dangling: put the newest plan back if its trees are gone, then point the stuck endpoints at it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dnsrace.checker import Checker
from dnsrace.sim.observed import ObservedStore
from dnsrace.sim.planner import Planner
from dnsrace.sim.scenario import OperatorConfig

__all__ = ["Operator"]


class Operator:
    def __init__(
        self,
        cfg: OperatorConfig,
        store: ObservedStore,
        planner: Planner,
        checker: Checker,
        now: Callable[[], float],
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.planner = planner
        self.checker = checker
        self.now = now
        self.pending = 0
        self.unrepairable: list[int] = []
        """Generations the operator could not put back (partly deleted); should stay empty."""

    def on_stuck(self, ids: list[int]) -> None:
        """Called when a clean-up leaves endpoints dangling: schedule their repair."""
        if not self.cfg.repair:
            return
        self.pending += 1
        asyncio.get_running_loop().call_later(self.cfg.repair_delay_s, self._repair, sorted(ids))

    def _repair(self, ids: list[int]) -> None:
        self.pending -= 1
        store = self.store
        stuck = store.dangling_aliases(ids)
        if not stuck:
            return
        gen = self.planner.generation
        if not store.has_tree(stuck[0], gen):
            if gen in store.plan_generations():
                # Some trees of gen survive (a safe clean-up kept them) and a stored plan is
                # immutable, so it cannot be put again whole. Never seen with an unsafe
                # clean-up, which deletes whole generations; recorded, not hidden.
                self.unrepairable.append(gen)
                return
            store.put_plan(self.planner.latest_plan)
        store.flip_many(stuck, gen, "lww", actor="operator", enactor=False, rollback=False)
        self.checker.on_repair(self.now(), stuck)
