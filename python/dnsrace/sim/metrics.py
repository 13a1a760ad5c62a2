"""Metrics: the one definition of every metric (defined in docs/guide/incident.md).

The simulator reports each state change of the store to a :class:`Metrics` as it happens
(flips with the aliases they replaced, endpoints left dangling by a clean-up, repairs, client
resolves, lock retries). The collector keeps the distribution of *served generations* over all
endpoints (a ``Counter``: generation -> endpoints serving it, 0 meaning an empty answer) and
integrates it over time between events, so every time-based metric is exact, on the virtual
clock as on the real one, without scanning the fleet. Tests, reports and benchmarks read the
numbers from :meth:`Metrics.result` and nowhere else.

Definitions
-----------
stale flip
    An applied flip to a generation lower than the endpoint's alias. Counted by the store
    (``stats()["stale_flips"]``); the collector counts them too (``stale_flips_observed``) as a
    cross-check.
empty answer
    A resolve that returns no record. The simulated clients resolve the regional endpoint and a
    seeded sample of others every ``clients.probe_interval_s``; they are the only resolvers, so
    the store's ``empty_answers`` counter is exactly their count.
empty / stuck endpoint
    An endpoint is *empty* while it serves no record; it is *stuck* while its alias points at a
    deleted tree (a dangling alias): the enactors cannot write the rollback record from a tree
    that is gone, so no later plan applies to it until an operator repairs it. The planner
    never publishes an empty target set, so here the two coincide; they are kept apart because
    they need not. ``*_endpoint_seconds`` are their time integrals (endpoints x seconds).
convergence
    For each published plan, the time from its publication until every endpoint serves a
    generation >= it (a plan superseded before it converged converges with its successor).
    ``converged`` is true when every published plan did so before the run ended.
goodput
    Useful enactor flips (an endpoint moved to a newer generation) per second of run time.
    The operator's repairs are reported apart (``repairs``, ``repaired_endpoints``) and are
    not goodput.
wasted writes
    Endpoint updates an enactor started that served nothing, whatever the discipline: flips
    refused by the generation check, the fence or the store's dangling answer (a stuck
    endpoint), flips to a deleted tree, flips that rewrote the same or an older generation,
    endpoints locked and read under the lease only to be skipped (``lease``/``fenced``), and
    leases taken in a batch lock attempt that then aborted.
lock retries / lease waits
    Batch lock attempts that failed because another enactor held a lease of the batch, and
    the seconds spent in backoff after them.
correct-time fraction
    The share of endpoint-time that is non-empty and serves a *current* plan: one not older than
    the newest plan published at least ``current_window_s`` earlier. By default that window is
    what an enactor needs to finish a plan published now: up to one pass to pick it up, one
    pass to apply it (2 x the uncontended pass time, plus the pick-up jitter). It does not
    depend on the fleet's size.
fleet / regional
    The damage is split: ``regional`` is the regional endpoint alone, ``fleet`` every other
    endpoint.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import Any

from dnsrace._types import FlipCounts
from dnsrace.sim.timeline import Pass, RegionalFlip, RegionalTimeline, Window
from dnsrace.sim.vectors import histogram

__all__ = ["Metrics", "convergence_summary", "percentile"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def convergence_summary(times: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of convergence times (seconds)."""
    return {
        "p50": percentile(times, 50),
        "p99": percentile(times, 99),
        "max": max(times) if times else None,
    }


def _served_counter(values: Sequence[int | None]) -> Counter[int]:
    """Counter of alias values, with an unset alias (None) counted as 0 (empty)."""
    counts: Counter[int] = Counter(values)  # type: ignore[arg-type]
    unset = counts.pop(None, 0)  # type: ignore[call-overload]
    if unset:
        counts[0] += unset
    return counts


class Metrics:
    """Event-driven metrics collector for one run (one store, one discipline)."""

    def __init__(
        self,
        endpoints: int,
        *,
        regional_name: str,
        current_window_s: float,
        regional: int = 0,
    ) -> None:
        self.endpoints = endpoints
        self.regional = regional
        self.current_window_s = current_window_s
        self.regional_name = regional_name
        self.served: Counter[int] = Counter()
        """Served generation -> number of endpoints (0: empty answer)."""
        self.dangling: set[int] = set()
        """Endpoints whose alias points at a deleted tree (stuck)."""
        self.ever_stuck: set[int] = set()
        self.published: dict[int, float] = {}
        self.converged_after: dict[int, float] = {}
        self._pending: deque[int] = deque()
        # "current" threshold: newest generation published >= window ago, and its schedule.
        self._threshold_steps: deque[tuple[float, int]] = deque()
        self._open_passes: dict[str, Pass] = {}
        self.reset()

    def matches(self, endpoints: int, regional_name: str, current_window_s: float) -> bool:
        """Whether :meth:`reset` makes this collector the one these arguments would make."""
        return (
            self.endpoints == endpoints
            and self.regional_name == regional_name
            and self.current_window_s == current_window_s
        )

    def reset(self) -> None:
        """Back to a new collector's state (same fleet), for another run: an exploration's
        many short runs reuse one collector, its containers emptied, not made anew."""
        self.served.clear()
        self.dangling.clear()
        self.ever_stuck.clear()
        self.published.clear()
        self.converged_after.clear()
        self._pending.clear()
        self._threshold_steps.clear()
        self._open_passes.clear()
        self._initial = 0
        self._now = 0.0
        self._threshold = 0
        # Time integrals (endpoint-seconds) and regional durations.
        self.empty_endpoint_s = 0.0
        self.stuck_endpoint_s = 0.0
        self.correct_endpoint_s = 0.0
        self.regional_empty_s = 0.0
        self.regional_stuck_s = 0.0
        # Counters.
        self.flip_attempts = 0
        self.useful_flips = 0
        self.stale_flips_observed = 0
        self.lock_retries = 0
        self.lease_wait_s = 0.0
        self.wasted_writes = 0
        self.flips_while_paused = 0
        self.plans_skipped = 0
        self.alarms = 0
        self.resolves = 0
        self.empty_answers = 0
        self.regional_resolves = 0
        self.regional_empty_answers = 0
        self.regional_stale_flips = 0
        self.repairs = 0
        self.repaired_endpoints = 0
        self.plans_abandoned = 0
        self.crashes = 0
        self.pauses = 0
        self.pause_s = 0.0
        self.cleanups = 0
        self.deleted_trees = 0
        self.kept_trees = 0
        # A new one each run: a run's result hands its timeline out.
        self.timeline = RegionalTimeline(self.regional_name)
        self.keep_timeline = True
        """Record the timeline's passes, regional flips, fleet points and clean-ups, and
        integrate the report's time-based metrics and count its flips and resolves (a run
        that only needs its verdict, an exploration's, does neither: :meth:`verdict` reads
        none of them)."""
        self._regional_alias: int | None = None
        self._fleet_last: tuple[int, int] = (-1, -1)

    # ------------------------------------------------------------------ time integration

    def _correct_count(self) -> int:
        threshold = max(self._threshold, 1)
        # A loop, not a generator: called at every event of a run.
        total = 0
        for g, c in self.served.items():
            if g >= threshold:
                total += c
        return total

    def _integrate_to(self, t: float) -> None:
        dt = t - self._now
        if dt <= 0:
            return
        if not self.keep_timeline:  # only result() reads the integrals
            self._now = t
            return
        self.empty_endpoint_s += self.served[0] * dt
        self.stuck_endpoint_s += len(self.dangling) * dt
        self.correct_endpoint_s += self._correct_count() * dt
        if self.regional in self.dangling:
            self.regional_stuck_s += dt
        if self._regional_alias is None or self.regional in self.dangling:
            self.regional_empty_s += dt
        self._now = t

    def advance(self, now: float) -> None:
        """Integrate every time-based metric up to ``now`` (state unchanged since last event)."""
        steps = self._threshold_steps
        while steps and steps[0][0] <= now:
            t, gen = steps.popleft()
            if t > self._now:  # _integrate_to's own test, without the call
                self._integrate_to(t)
            if gen > self._threshold:
                self._threshold = gen
        if now > self._now:  # _integrate_to's own test, without the call at every event
            self._integrate_to(now)

    def _check_convergence(self) -> None:
        if not self._pending:
            return
        served = self.served
        # The smallest key is the answer when it has endpoints (the usual case: _prune drops
        # empty keys), without a generator over the counter.
        lowest = min(served, default=0)
        if lowest in served and served[lowest] <= 0:
            lowest = min((g for g, c in served.items() if c > 0), default=0)
        while self._pending and lowest >= self._pending[0]:
            gen = self._pending.popleft()
            self.converged_after[gen] = self._now - self.published[gen]

    def _prune(self) -> None:
        if 0 in self.served.values():
            for g in [g for g, c in self.served.items() if c == 0]:
                del self.served[g]

    # ------------------------------------------------------------------ events

    def start(self, now: float, generation: int) -> None:
        """Every endpoint serves ``generation`` (the initial plan) from ``now`` on."""
        self._now = now
        self._initial = generation
        served = self.served  # empty: Counter({generation: n}) without its type checks
        served.clear()
        served[generation] = self.endpoints
        self.published[generation] = now
        self.converged_after[generation] = 0.0
        self._threshold = generation
        self._regional_alias = generation
        self.timeline.publications[generation] = now
        self._fleet_point()

    def _fleet_point(self) -> None:
        """Append to the fleet series if the count of empty or stuck endpoints changed."""
        if not self.keep_timeline:
            return
        point = (self.served.get(0, 0), len(self.dangling))
        if point != self._fleet_last:
            self._fleet_last = point
            self.timeline.fleet.append((self._now, *point))

    def on_publish(self, now: float, generation: int) -> None:
        if self._threshold_steps or now > self._now:  # advance's own tests, without its call
            self.advance(now)
        self.published[generation] = now
        self._pending.append(generation)
        self._threshold_steps.append((now + self.current_window_s, generation))
        if self.keep_timeline:
            self.timeline.publications[generation] = now

    def on_flip(
        self,
        now: float,
        actor: str,
        generation: int,
        ids: Sequence[int],
        before: Sequence[int | None],
        counts: FlipCounts,
        mode: str,
        after: Sequence[int | None] | None = None,
        healed: set[int] | None = None,
        *,
        enactor: bool = True,
    ) -> None:
        """A batch flip happened: ``before`` are the aliases just before it.

        ``after`` (the aliases just after) is needed only when the outcome cannot be deduced
        from ``counts`` and ``mode``; ``healed`` are the formerly dangling ids of ``ids`` that
        no longer dangle. ``ids`` must be ascending (the regional endpoint, id 0, comes first).
        """
        if self._threshold_steps or now > self._now:  # advance's own tests, without its call
            self.advance(now)
        n = len(ids)
        gen = generation
        served = self.served
        dangling = self.dangling
        touches_dangling = bool(dangling) and not dangling.isdisjoint(ids)
        regional_after: int | None
        useful = 0
        applied = counts.applied
        if applied == 0:
            regional_after = before[0] if n else None
        elif (
            not touches_dangling
            and counts.missing == 0
            and counts.fenced == 0
            and counts.dangling == 0
            and (mode == "if_newer" or applied == n)
        ):
            # Fast path, no per-endpoint Python: lww with everything applied moves every
            # endpoint to gen; if_newer moves exactly those below gen.
            # One loop over the histogram: the useful (to a newer generation) and lowered
            # counts, and the served counts (Counter.subtract, spelled out: it checks its
            # argument's type each time).
            lowered = 0
            if n == 1:
                # One endpoint (the model-sized scenarios' every flip): the same moves, its
                # count by hand, and _prune's work for the one count that can reach 0.
                first = before[0]
                b = 0 if first is None else first
                if b < gen or (b > gen and mode == "lww"):
                    left = served[b] - 1
                    if left:
                        served[b] = left
                    else:
                        served.pop(b)
                    served[gen] = served.get(gen, 0) + 1
                    if b < gen:
                        useful = 1
                    else:
                        lowered = 1
                regional_after = gen if b < gen or mode == "lww" else first
            elif mode == "if_newer":
                hb = histogram(before)
                for g, c in hb.items():
                    if g < gen:
                        served[g] -= c
                        useful += c
                served[gen] += useful
                first = before[0] if n else None
                regional_after = gen if first is None or first < gen else first
            else:
                hb = histogram(before)
                for g, c in hb.items():
                    served[g] -= c
                    if g < gen:
                        useful += c
                    elif g > gen:
                        lowered += c
                served[gen] += n
                regional_after = gen
            self.stale_flips_observed += lowered
        else:
            if after is None:
                raise ValueError("on_flip needs the aliases after a partially applied flip")
            regional_after, useful = self._flip_slow_path(now, ids, before, after, healed or set())
        if enactor and self.keep_timeline:  # the report's counters (no verdict reads them)
            off = self.timeline.automation_off
            if off and off[-1].end is None:
                self.flips_while_paused += n
            self.flip_attempts += n
            self.useful_flips += useful
            self.wasted_writes += n - useful
        if 0 in served.values():  # _prune's own test, without the call at every flip
            self._prune()
        if n and ids[0] == self.regional:
            if self.keep_timeline:
                self._regional_flip(now, actor, gen, before[0], regional_after, counts, n)
            else:  # the counter and the alias of _regional_flip, without its call
                first = before[0]
                if regional_after is not None and first is not None and regional_after < first:
                    self.regional_stale_flips += 1
                self._regional_alias = regional_after
        if self._pending:
            self._check_convergence()
        if self.keep_timeline:
            self._fleet_point()

    def _flip_slow_path(
        self,
        now: float,
        ids: Sequence[int],
        before: Sequence[int | None],
        after: Sequence[int | None],
        healed: set[int],
    ) -> tuple[int | None, int]:
        """Per-endpoint accounting; returns the regional alias after and the useful flips."""
        served, dangling = self.served, self.dangling
        useful = 0
        for i, b, a in zip(ids, before, after, strict=True):
            was_dangling = i in dangling
            if was_dangling and i in healed:
                dangling.discard(i)
                if i == self.regional:
                    self._end_windows(now)
            now_dangling = i in dangling
            served[0 if (b is None or was_dangling) else b] -= 1
            served[0 if (a is None or now_dangling) else a] += 1
            if a is not None and (b is None or a > b):
                useful += 1
            elif a is not None and b is not None and a < b:
                self.stale_flips_observed += 1
        return (after[0] if after else None), useful

    def _regional_flip(
        self,
        now: float,
        actor: str,
        gen: int,
        before: int | None,
        after: int | None,
        counts: FlipCounts,
        n: int,
    ) -> None:
        if after != before and after is not None:
            if before is not None and after < before:
                outcome = "stale"
                self.regional_stale_flips += 1
            else:
                outcome = "advanced"
        elif self.regional in self.dangling:
            outcome = "stuck"
        elif counts.applied == n:
            outcome = "same"
        elif n == 1 and counts.missing:
            outcome = "missing"
        elif n == 1 and counts.fenced:
            outcome = "fenced"
        elif n == 1 and counts.outdated:
            outcome = "refused"
        else:
            outcome = "same"
        if actor == "operator":
            outcome = "repair"
        self._regional_alias = after
        self.timeline.flips.append(
            RegionalFlip(now, actor, gen, self.published.get(gen, now), before, after, outcome)
        )

    def on_dangling(self, now: float, ids: Sequence[int], aliases: Sequence[int | None]) -> None:
        """These endpoints (not dangling before) now point at a deleted tree."""
        if not ids:
            return
        self.advance(now)
        counts = _served_counter(aliases)
        self.served.subtract(counts)
        self.served[0] += len(ids)
        self.dangling.update(ids)
        self.ever_stuck.update(ids)
        self._prune()
        if self.regional in ids:
            self.timeline.empty.append(Window(now))
            self.timeline.stuck.append(Window(now))
        self._fleet_point()

    def _end_windows(self, now: float) -> None:
        for windows in (self.timeline.empty, self.timeline.stuck):
            if windows and windows[-1].end is None:
                windows[-1].end = now

    def on_repair(self, now: float, ids: Sequence[int]) -> None:
        self.repairs += 1
        self.repaired_endpoints += len(ids)
        self.timeline.repairs.append((now, len(ids)))

    def on_cleanup(
        self,
        deleted_trees: int,
        kept_trees: int,
        *,
        now: float | None = None,
        actor: str = "",
        generation: int = 0,
    ) -> None:
        """One clean-up delete call (``now``/``actor``/``generation``: for the timeline)."""
        self.cleanups += 1
        self.deleted_trees += deleted_trees
        self.kept_trees += kept_trees
        if now is not None and self.keep_timeline:
            self.timeline.cleanups.append((now, actor, generation, deleted_trees, kept_trees))

    # The timeline's enactor events: each takes the time and the enactor's name. The
    # counters above them stay where they were; these only record when and who.

    def on_pass_start(self, now: float, actor: str, generation: int) -> None:
        """An enactor picked up ``generation`` (a pass begins; the start check may skip it)."""
        if not self.keep_timeline:
            return
        self._end_pass(now, actor, "open")
        p = Pass(actor, generation, now)
        self._open_passes[actor] = p
        self.timeline.passes.append(p)

    def on_pass_end(self, now: float, actor: str, result: str) -> None:
        """The enactor's current pass ended: ``applied``, ``skipped`` or ``abandoned``."""
        self._end_pass(now, actor, result)

    def _end_pass(self, now: float, actor: str, result: str) -> None:
        p = self._open_passes.pop(actor, None)
        if p is not None:
            p.end = now
            p.result = result

    def on_resolve(
        self, now: float, ids: Sequence[int], answers: Sequence[tuple[Any, ...]]
    ) -> None:
        self.resolves += len(answers)
        self.empty_answers += answers.count(())
        if ids and ids[0] == self.regional:
            self.regional_resolves += 1
            if not answers[0]:
                self.regional_empty_answers += 1

    def on_plan_skipped(self) -> None:
        """An enactor's start check found its plan not newer than the one applied before."""
        self.plans_skipped += 1

    def on_filtered(self, endpoints: int) -> None:
        """Endpoints locked and read under the lease, then skipped as already newer."""
        self.wasted_writes += endpoints

    def on_lock_abort(self, acquired: int) -> None:
        """A batch lock attempt aborted; the leases it did get are given back unused."""
        self.wasted_writes += acquired

    def on_alarm(self, now: float) -> None:
        self.advance(now)
        self.alarms += 1
        self.timeline.automation_off.append(Window(now))

    def on_resume(self, now: float) -> None:
        """The operator turned the automation on again."""
        if self.timeline.automation_off and self.timeline.automation_off[-1].end is None:
            self.timeline.automation_off[-1].end = now

    def on_lock_retry(self, wait_s: float, *, now: float | None = None, actor: str = "") -> None:
        self.lock_retries += 1
        self.lease_wait_s += wait_s
        if now is not None and self.keep_timeline:
            self.timeline.lock_waits.append((now, actor, wait_s))

    def on_abandon(self) -> None:
        self.plans_abandoned += 1

    def on_crash(self, *, now: float | None = None, actor: str = "") -> None:
        self.crashes += 1
        if now is not None:
            self._end_pass(now, actor, "crashed")
            self.timeline.crashes.append((now, actor))

    def on_pause(self, length_s: float, *, now: float | None = None, actor: str = "") -> None:
        self.pauses += 1
        self.pause_s += length_s
        if now is not None:
            self.timeline.pauses.append((now, actor, length_s))

    # ------------------------------------------------------------------ results

    def _serves_newest(self) -> bool:
        """Every endpoint serves the newest published plan (none is stale, empty or stuck)."""
        newest = max(self.published, default=0)
        return not self.dangling and self.served.get(newest, 0) == self.endpoints

    def _plans_and_convergence(self) -> tuple[list[int], list[float]]:
        """The plans published during the run, and the convergence time of those that did."""
        plans = [g for g in self.published if g != self._initial]
        return plans, [self.converged_after[g] for g in plans if g in self.converged_after]

    def verdict(self, store_stats: Mapping[str, int]) -> dict[str, Any]:
        """The part of :meth:`result` a run's verdict reads (exploration's runs), the same
        values from the same definitions, without the rest of the report."""
        plans, times = self._plans_and_convergence()
        return {
            "stale_flips": store_stats["stale_flips"],
            "empty_answers": store_stats["empty_answers"],
            "converged": len(times) == len(plans),
            "final_converged": self._serves_newest(),
            "empty_endpoints": len(self.ever_stuck),
            "store": {k: store_stats[k] for k in ("dangling_rejections",) if k in store_stats},
        }

    def result(self, now: float, store_stats: Mapping[str, int]) -> dict[str, Any]:
        """Every metric of the run, ended at ``now``, as a JSON-ready dict."""
        self.advance(now)
        self.timeline.end = now
        duration = now
        plans, times = self._plans_and_convergence()
        fleet_time = self.endpoints * duration
        regional_final = None if self.regional in self.dangling else self._regional_alias
        return {
            "elapsed_s": duration,
            "stale_flips": store_stats["stale_flips"],
            "stale_flips_observed": self.stale_flips_observed,
            "empty_answers": store_stats["empty_answers"],
            "resolves": self.resolves,
            "empty_endpoint_seconds": self.empty_endpoint_s,
            "stuck_endpoints": len(self.ever_stuck),
            "stuck_at_end": len(self.dangling),
            "stuck_endpoint_seconds": self.stuck_endpoint_s,
            "plans_published": len(plans),
            "plans_converged": len(times),
            "converged": len(times) == len(plans),
            "final_converged": self._serves_newest(),
            "convergence_s": convergence_summary(times),
            "useful_flips": self.useful_flips,
            "goodput_flips_per_s": self.useful_flips / duration if duration > 0 else 0.0,
            "flip_attempts": self.flip_attempts,
            "wasted_writes": self.wasted_writes,
            "plans_skipped": self.plans_skipped,
            "lock_retries": self.lock_retries,
            "lease_wait_s": self.lease_wait_s,
            "lease_conflicts": store_stats["lease_conflicts"],
            "correct_time_fraction": (
                self.correct_endpoint_s / fleet_time if fleet_time > 0 else 1.0
            ),
            "plans_abandoned": self.plans_abandoned,
            "cleanups": self.cleanups,
            "deleted_trees": self.deleted_trees,
            "kept_trees": self.kept_trees,
            "repairs": self.repairs,
            "repaired_endpoints": self.repaired_endpoints,
            "alarms": self.alarms,
            "flips_while_paused": self.flips_while_paused,
            "empty_endpoints": len(self.ever_stuck),
            "fleet": {
                "stale_flips": store_stats["stale_flips"] - self.regional_stale_flips,
                "empty_endpoint_seconds": self.empty_endpoint_s - self.regional_empty_s,
                "stuck_endpoints": len(self.ever_stuck - {self.regional}),
                "stuck_at_end": len(self.dangling - {self.regional}),
                "stuck_endpoint_seconds": self.stuck_endpoint_s - self.regional_stuck_s,
            },
            "faults": {"crashes": self.crashes, "pauses": self.pauses, "pause_s": self.pause_s},
            "regional": {
                "empty_seconds": self.regional_empty_s,
                "stuck": bool(self.timeline.stuck),
                "stuck_seconds": self.regional_stuck_s,
                "stuck_windows": len(self.timeline.stuck),
                "incidents": len(self.timeline.empty),
                "final_generation": regional_final,
                "stale_flips": self.regional_stale_flips,
                "empty_answers": self.regional_empty_answers,
                "resolves": self.regional_resolves,
            },
            "store": {
                key: store_stats[key]
                for key in (
                    "flips_applied",
                    "outdated_rejections",
                    "fenced_rejections",
                    "missing_rejections",
                    "dangling_rejections",
                    "leases_granted",
                    "dangling_aliases",
                    "dangling_rollbacks",
                    "plans",
                    "records_live",
                )
                if key in store_stats
            },
        }
