"""The clients: who resolves the endpoints, and so what the operator's alarm can see.

Every ``clients.probe_interval_s`` the clients resolve the regional endpoint, a fixed seeded
sample of the others, and the next slice of a sweep through the rest of the fleet (all of it
every ``clients.sweep_s``). An endpoint the sweep finds empty is resolved every round from
then on, until it answers again, as clients retry a failing name. Each round's empty answers
go to the operator's alarm.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

from dnsrace._types import Answer
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.operator import Operator
from dnsrace.sim.scenario import Scenario

__all__ = ["Clients"]


class Clients:
    def __init__(
        self,
        scenario: Scenario,
        store: ObservedStore,
        operator: Operator,
        ids: Sequence[int],
        sample: list[int],
    ) -> None:
        self.sample = sample
        """Resolved every round: the regional endpoint first, then the fixed sample."""
        self._ids = list(ids)
        chosen = set(sample)
        self._rest = [i for i in ids if i not in chosen]
        cfg = self._cfg = scenario.clients
        rounds = cfg.sweep_s / cfg.probe_interval_s
        self._per_round = (
            math.ceil(len(self._rest) / max(1.0, rounds)) if cfg.sweep_s > 0 and self._rest else 0
        )
        self.watched: set[int] = set()
        """Endpoints of the sweep found empty: resolved every round until they answer (at
        most as many as the sample: one is enough for the alarm, and a sweep revisits the
        others)."""
        self._watch_most = max(1, len(sample))
        self.reset(store, operator)

    def matches(self, scenario: Scenario, ids: Sequence[int], sample: list[int]) -> bool:
        """Whether :meth:`reset` makes these clients the ones these arguments would make."""
        return self._cfg is scenario.clients and self.sample == sample and self._ids == ids

    def reset(self, store: ObservedStore, operator: Operator) -> None:
        """New clients' state (same settings, endpoints and sample), for another run: an
        exploration's many short runs reuse one set of clients."""
        self.store = store
        self.operator = operator
        self._cursor = 0
        self.watched.clear()
        operator.probes_state = self.state  # the bounded search's fingerprint reads it

    def state(self) -> tuple[int, tuple[int, ...]]:
        """What decides the next rounds: where the sweep is, which names are retried."""
        return self._cursor, tuple(sorted(self.watched))

    @property
    def reads_everything(self) -> bool:
        """Whether the rounds may resolve any endpoint (the sweep is on), not just the sample."""
        return self._per_round > 0

    def _round_ids(self) -> list[int]:
        rest, per = self._rest, self._per_round
        if not per:
            return self.sample
        start = self._cursor
        window = rest[start : start + per]
        if len(window) < per:
            window += rest[: per - len(window)]
        self._cursor = (start + per) % len(rest)
        extra = sorted(self.watched.union(window))
        return [*self.sample, *extra]

    def probe(self) -> None:
        """One round: resolve, remember the sweep's empty endpoints, tell the alarm."""
        ids = self._round_ids() if self._per_round else self.sample
        answers = self.store.resolve_many(ids)
        # (Most rounds answer everywhere: one scan in C settles that.)
        empty_at = _empty_positions(answers) if () in answers else []
        empty = [ids[k] for k in empty_at]
        if self._per_round:
            fixed = len(self.sample)
            watched = self.watched
            # In id order over the sweep's part, an empty answer is retried from now on (while
            # there is room) and an answer ends a retry. Only the positions answered empty and
            # those of retried names (all in the round, ascending after the sample) can change
            # anything, so only those are visited, in the same order.
            sweep = ids[fixed:]
            relevant = {k for k in empty_at if k >= fixed}
            relevant.update(fixed + bisect_left(sweep, i) for i in watched)
            for k in sorted(relevant):
                i = ids[k]
                if answers[k]:
                    watched.discard(i)
                elif len(watched) < self._watch_most:
                    watched.add(i)
        self.operator.observe(empty)


def _empty_positions(answers: list[Answer]) -> list[int]:
    """Positions of the empty answers (``()``), found by the list's own search."""
    found: list[int] = []
    k = -1
    for _ in range(answers.count(())):
        k = answers.index((), k + 1)
        found.append(k)
    return found
