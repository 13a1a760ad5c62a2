"""Schedule exploration: many seeded runs per discipline, counting the ones that break.

Run ``i`` of an exploration with root seed ``S`` is the scenario run with seed ``S + i`` under
the chosen schedule (``random``, ``pct`` or ``pos``, itself seeded by ``S + i``), so any run
replays on its own: ``dnsrace run SCENARIO --seed S+i --schedule ... --discipline ...``. A run
*violates* when its metrics show any of:

* ``stale_flip``: an applied flip lowered an endpoint's generation;
* ``empty_answer``: some endpoint answered no record at some moment (its alias pointed at a
  deleted tree);
* ``stuck``: the store refused a flip as ``dangling`` (the endpoint's active tree was gone,
  so the rollback could not be recorded): DESIGN.md's stuck endpoint, defined by that refusal.
  A clean-up that leaves an alias dangling is an ``empty_answer``; it is ``stuck`` only once
  some enactor then tries to flip the endpoint and the store says no (on ``spin.toml`` the
  plans end first, so its empty answers are not stuck; a later plan makes them so);
* ``not_converged``: some published plan never reached every endpoint, or the run ended with
  an endpoint not serving the newest plan.

:func:`shrink` makes a failing run smaller (fewer endpoints, enactors, plans, faults, a lower
PCT depth) while it still shows one of its violations, and returns the overrides that replay
the smaller run.

:func:`explore_dfs` searches instead of sampling: every schedule of one seed within a
preemption bound, depth first, with sleep sets (see ``docs/guide/exploration.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Final

from dnsrace.sim.clock import VirtualEventLoop
from dnsrace.sim.disciplines import Discipline
from dnsrace.sim.runner import RunResult, pct_horizon, run_with_schedule
from dnsrace.sim.scenario import Scenario, apply_overrides, parse_scenario, scenario_to_dict
from dnsrace.sim.schedule import (
    DfsNode,
    DfsSchedule,
    Nondeterminism,
    ScheduleCut,
    Visited,
    make_schedule,
    replay_schedule,
)

__all__ = [
    "KINDS",
    "DfsExploration",
    "PresetExploration",
    "ShrinkResult",
    "explore_dfs",
    "explore_preset",
    "replay_dfs",
    "run_cut",
    "shrink",
    "shrink_decisions",
    "violating_runs",
    "violations",
]

KINDS: Final[tuple[str, ...]] = ("stale_flip", "empty_answer", "stuck", "not_converged")

Progress = Callable[[int], None]


def violations(metrics: Mapping[str, Any]) -> list[str]:
    """The violation kinds a run's metrics show (empty when the run is correct)."""
    kinds = []
    if metrics["stale_flips"] > 0:
        kinds.append("stale_flip")
    if metrics["empty_endpoints"] > 0 or metrics["empty_answers"] > 0:
        kinds.append("empty_answer")
    # The store's own count of refused flips, not the metrics' dangling aliases: an alias
    # left dangling is an empty answer; the refusal is what keeps later plans out.
    if metrics["store"].get("dangling_rejections", 0) > 0:
        kinds.append("stuck")
    if not (metrics["converged"] and metrics["final_converged"]):
        kinds.append("not_converged")
    return kinds


@dataclass
class PresetExploration:
    """What exploring one discipline found."""

    discipline: str
    runs: int = 0
    violating_runs: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first_violation_seed: int | None = None
    first_violation_kinds: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.wall_s if self.wall_s > 0 else 0.0

    def as_json(self, *, perf: bool) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "violating_runs": self.violating_runs,
            "by_kind": dict(self.by_kind),
            "first_violation_seed": self.first_violation_seed,
            "runs_per_s": self.runs_per_s if perf else None,
        }


@dataclass
class _Runner:
    """Runs one discipline under one schedule kind, reusing an event loop between runs."""

    scenario: Scenario
    discipline: Discipline
    schedule: str
    depth: int
    store: str
    loop: VirtualEventLoop = field(init=False, default_factory=VirtualEventLoop)
    horizon: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.schedule == "pct":
            self.horizon = pct_horizon(self.scenario, self.discipline, store=self.store)

    def run(self, seed: int) -> RunResult:
        chosen = make_schedule(self.schedule, seed, depth=self.depth, horizon=self.horizon)
        return run_with_schedule(
            self.scenario.with_seed(seed),
            self.discipline,
            chosen,
            store=self.store,
            loop=self.loop,
            verdict_only=True,
        )

    def close(self) -> None:
        self.loop.close()


_BLOCK = 256
"""Runs one worker process explores at a time when an exploration is spread over processes."""


def violating_runs(
    scenario: Scenario,
    discipline: Discipline,
    schedule: str,
    depth: int,
    store: str,
    first: int,
    count: int,
) -> list[tuple[int, list[str]]]:
    """The runs ``first .. first + count - 1`` that violate, with their kinds (a worker's job)."""
    runner = _Runner(scenario, discipline, schedule, depth, store)
    try:
        out = []
        for run_seed in range(first, first + count):
            kinds = violations(runner.run(run_seed).metrics)
            if kinds:
                out.append((run_seed, kinds))
        return out
    finally:
        runner.close()


def _record(found: PresetExploration, run_seed: int, kinds: list[str]) -> None:
    found.violating_runs += 1
    for kind in kinds:
        found.by_kind[kind] += 1
    if found.first_violation_seed is None:
        found.first_violation_seed = run_seed
        found.first_violation_kinds = kinds


def explore_preset(
    scenario: Scenario,
    discipline: Discipline,
    *,
    runs: int,
    schedule: str,
    depth: int,
    seed: int,
    store: str = "rust",
    stop_at_first: bool = False,
    progress: Progress | None = None,
    pool: Executor | None = None,
    workers: int = 1,
) -> PresetExploration:
    """Run ``runs`` seeded schedules of ``scenario`` under ``discipline``.

    With a ``pool`` of ``workers`` (local processes or a Ray cluster's tasks: a
    :class:`dnsrace.campaign.Campaign`'s pool) the seeds are explored in blocks side by side
    and merged in seed order, so the result is the same as in one process (with
    ``stop_at_first``, the runs after the first violation are not counted).
    """
    if scenario.clock != "virtual":
        raise ValueError("exploration needs the virtual clock")
    found = PresetExploration(discipline.name)
    start = time.perf_counter()
    if pool is None:
        runner = _Runner(scenario, discipline, schedule, depth, store)
        try:
            for i in range(runs):
                run_seed = seed + i
                kinds = violations(runner.run(run_seed).metrics)
                found.runs += 1
                if kinds:
                    _record(found, run_seed, kinds)
                if progress is not None and (i % 64 == 63 or i == runs - 1):
                    progress(i + 1)
                if stop_at_first and kinds:
                    break
        finally:
            runner.close()
    else:
        end = seed + runs
        next_seed = seed
        while next_seed < end:
            blocks: list[tuple[int, int]] = []
            while len(blocks) < workers and next_seed < end:
                count = min(_BLOCK, end - next_seed)
                blocks.append((next_seed, count))
                next_seed += count
            futures = [
                pool.submit(
                    violating_runs, scenario, discipline, schedule, depth, store, first, count
                )
                for first, count in blocks
            ]
            bad = sorted(v for f in futures for v in f.result())
            if stop_at_first and bad:
                first_seed, kinds = bad[0]
                _record(found, first_seed, kinds)
                found.runs = first_seed - seed + 1
                break
            for run_seed, kinds in bad:
                _record(found, run_seed, kinds)
            found.runs = next_seed - seed
            if progress is not None:
                progress(found.runs)
    found.wall_s = time.perf_counter() - start
    return found


@dataclass
class ShrinkResult:
    """A smaller run that still fails: the scenario overrides and what it shows."""

    overrides: dict[str, Any]
    kinds: list[str]
    depth: int
    tries: int


def _candidates(data: Mapping[str, Any], depth: int, schedule: str) -> list[tuple[str, Any]]:
    """Smaller settings to try, most shrinking first (key, value); ``depth`` is the PCT depth."""
    out: list[tuple[str, Any]] = []
    count = data["endpoints"]["count"]
    for smaller in (0, count // 4, count // 2):
        if smaller < count:
            out.append(("endpoints.count", smaller))
    enactors = data["enactors"]["count"]
    for smaller in range(1, enactors):
        out.append(("enactors.count", smaller))
    plans = data["planner"]["plans"]
    if plans > 2:
        out.extend(("planner.plans", p) for p in range(2, plans))
    faults = data["faults"]
    if faults["pauses"]["rate_per_min"] > 0:
        out.append(("faults.pauses.rate_per_min", 0.0))
    if faults["crashes"]["rate_per_min"] > 0:
        out.append(("faults.crashes.rate_per_min", 0.0))
    if faults["crashes"]["at_s"]:
        out.append(("faults.crashes.at_s", []))
    if faults["slow_batches"]["probability"] > 0:
        out.append(("faults.slow_batches.probability", 0.0))
    if faults["slow_enactors"]["sigma"] > 0:
        out.append(("faults.slow_enactors.sigma", 0.0))
    if data["duration_s"] > 1.0:
        out.append(("duration_s", max(1.0, data["duration_s"] / 2)))
    if schedule == "pct":
        out.extend(("depth", d) for d in range(1, depth))
    return out


def shrink(
    scenario: Scenario,
    discipline: Discipline,
    *,
    seed: int,
    schedule: str,
    depth: int,
    store: str = "rust",
    max_tries: int = 200,
) -> ShrinkResult:
    """Greedily shrink the run ``seed`` while it still shows one of its violation kinds."""
    base = scenario_to_dict(scenario)
    overrides: dict[str, Any] = {}

    def fails(sets: Mapping[str, Any], d: int) -> list[str]:
        smaller = parse_scenario(apply_overrides(base, sets)).with_seed(seed)
        runner = _Runner(smaller, discipline, schedule, d, store)
        try:
            return violations(runner.run(seed).metrics)
        finally:
            runner.close()

    kinds = fails(overrides, depth)
    if not kinds:
        raise ValueError(f"run {seed} shows no violation: nothing to shrink")
    wanted = set(kinds)
    tries = 1
    progress = True
    while progress and tries < max_tries:
        progress = False
        current = parse_scenario(apply_overrides(base, overrides))
        for key, value in _candidates(scenario_to_dict(current), depth, schedule):
            if tries >= max_tries:
                break
            trial = dict(overrides)
            trial_depth = depth
            if key == "depth":
                trial_depth = int(value)
            else:
                trial[key] = value
            try:
                shown = fails(trial, trial_depth)
            except ValueError:
                shown = []  # the smaller scenario is not valid (a bound of another field)
            tries += 1
            if wanted.intersection(shown):
                overrides, depth, kinds = trial, trial_depth, shown
                progress = True
                break
    return ShrinkResult(overrides, kinds, depth, tries)


@dataclass
class DfsExploration:
    """What a bounded depth-first search of one discipline found."""

    discipline: str
    preemptions: int
    """The bound asked for (iterative context bounding ran K = 0, 1, ... up to it)."""
    sleep_sets: bool
    fingerprints: bool = True
    bound: int = 0
    """The last bound searched: ``preemptions``, or the one where the search stopped."""
    schedules: int = 0
    """Runs that ended a distinct path (every bound searched; runs cut short not counted)."""
    redundant: int = 0
    """Runs cut where their next decision only repeated an explored order (sleep sets)."""
    pruned: int = 0
    """Runs cut at a state an earlier run had reached with as much left to explore."""
    states: int = 0
    """Distinct states (fingerprints) seen at decisions, summed over the bounds searched."""
    exhaustive: bool = False
    """Every schedule within the preemption bound was covered (no violation found)."""
    first_violation: list[str] = field(default_factory=list)
    first_violation_kinds: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    max_depth: int = 0
    per_bound: list[dict[str, int]] = field(default_factory=list)
    """Schedules, redundant and pruned runs and states of each bound K searched."""
    wall_s: float = 0.0

    @property
    def runs(self) -> int:
        """Every run started, whole or cut short."""
        return self.schedules + self.redundant + self.pruned

    def as_json(self) -> dict[str, Any]:
        return {
            "preemptions": self.preemptions,
            "bound": self.bound,
            "sleep_sets": self.sleep_sets,
            "fingerprints": self.fingerprints,
            "exhaustive": self.exhaustive,
            "schedules": self.schedules,
            "redundant": self.redundant,
            "pruned": self.pruned,
            "states": self.states,
            "max_depth": self.max_depth,
            "per_bound": [dict(b) for b in self.per_bound],
            "by_kind": dict(self.by_kind),
            "first_violation": list(self.first_violation),
            "first_violation_kinds": list(self.first_violation_kinds),
        }


def _discard_run(loop: VirtualEventLoop) -> None:
    """Drop a run cut short: close its suspended tasks (their clean-up code needs a running
    loop and is not needed: the store and the checker are thrown away with them)."""
    for task in asyncio.all_tasks(loop):
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        with contextlib.suppress(BaseException):
            task.get_coro().close()
        # Out of asyncio's registry of live tasks: the next run (and its fingerprints)
        # must not see this one's leftovers.
        asyncio.tasks._unregister_task(task)


def _forget_finished_tasks(loop: VirtualEventLoop) -> None:
    """Take the finished tasks of ``loop`` out of asyncio's registry of tasks. They are left
    there until the garbage collector frees them (a cancelled task and its frames form a
    cycle), and every fingerprint of the next runs would walk past them in ``all_tasks``,
    which leaves out finished tasks anyway."""
    registry = getattr(asyncio.tasks, "_all_tasks", None)
    if registry is None:  # pragma: no cover - another Python's asyncio: nothing to forget
        return
    for task in [t for t in registry if t.done() and t.get_loop() is loop]:
        asyncio.tasks._unregister_task(task)


def run_cut(
    scenario: Scenario,
    discipline: Discipline,
    schedule: DfsSchedule,
    *,
    store: str,
    loop: VirtualEventLoop,
) -> RunResult | None:
    """One run under a DFS schedule; ``None`` when the schedule cut it short."""
    try:
        return run_with_schedule(
            scenario, discipline, schedule, store=store, loop=loop, verdict_only=True
        )
    except ScheduleCut:
        _discard_run(loop)
        return None
    finally:
        _forget_finished_tasks(loop)


def _search_bound(
    scenario: Scenario,
    discipline: Discipline,
    bound: int,
    found: DfsExploration,
    *,
    max_runs: int,
    store: str,
    stop_at_first: bool,
    wanted: str | None,
    loop: VirtualEventLoop,
) -> bool:
    """Search every schedule within ``bound`` preemptions; whether the search ended by itself
    (not by ``max_runs`` or a violation)."""
    path: list[DfsNode] = []
    visited: Visited | None = {} if found.fingerprints else None
    counts = {"preemptions": bound, "schedules": 0, "redundant": 0, "pruned": 0, "states": 0}
    found.per_bound.append(counts)
    complete = False
    try:
        while found.runs < max_runs:
            chosen = DfsSchedule(
                path, bound, sleep_sets=found.sleep_sets, visited=visited, cut=True
            )
            result = run_cut(scenario, discipline, chosen, store=store, loop=loop)
            found.max_depth = max(found.max_depth, len(path))
            if result is None:
                kind = "redundant" if chosen.redundant else "pruned"
                counts[kind] += 1
                setattr(found, kind, getattr(found, kind) + 1)
            else:
                counts["schedules"] += 1
                found.schedules += 1
                kinds = violations(result.metrics)
                for kind in kinds:
                    found.by_kind[kind] += 1
                if wanted is not None and wanted not in kinds:
                    kinds = []
                if kinds and not found.first_violation_kinds:
                    found.first_violation = [n.choice for n in path]
                    found.first_violation_kinds = kinds
                    if stop_at_first:
                        break
            # Backtrack: the deepest decision with an unexplored, allowed alternative.
            while path:
                node = path[-1]
                node.done.add(node.choice)
                alternatives = [
                    n
                    for n in node.names
                    if n not in node.done
                    and n not in node.sleep
                    and node.preempted + node.cost(n) <= bound
                ]
                if alternatives:
                    node.choice = alternatives[0]
                    break
                path.pop()
            if not path:
                complete = True
                break
    finally:
        counts["states"] = len(visited) if visited is not None else 0
        found.states += counts["states"]
    return complete


def explore_dfs(
    scenario: Scenario,
    discipline: Discipline,
    *,
    preemptions: int,
    max_schedules: int,
    store: str = "rust",
    sleep_sets: bool = True,
    fingerprints: bool = True,
    stop_at_first: bool = True,
    wanted: str | None = None,
    iterative: bool = True,
) -> DfsExploration:
    """Enumerate the schedules of ``scenario`` (its seed fixed) with at most ``preemptions``
    preemptions, depth first, re-running the simulator from the start for each (stateless
    search). With ``iterative`` (CHESS's iterative context bounding) the bounds 0, 1, ...
    ``preemptions`` are searched in turn, so a violation found is one with the fewest
    preemptions. ``max_schedules`` bounds the runs started (whole or cut short), over all
    bounds. ``exhaustive`` is true when the search of the last bound ended by itself, not by
    ``max_schedules`` or a violation. The decisions of a violating run are its event names,
    in order (:func:`~dnsrace.sim.schedule.replay_schedule` replays them).

    Sleep sets with a preemption bound: a pruned order is equivalent to an explored one, but
    that one may need more preemptions (Coons, Musuvathi, McKinley, OOPSLA 2013), so
    "exhaustive" means: every order within the bound, or an equivalent of it with any number
    of preemptions, was covered by the orders explored. ``fingerprints``: a run that reaches
    a state (:mod:`dnsrace.sim.fingerprint`) an earlier run reached with no more preemptions
    used and no larger sleep set is cut there. Runs that become redundant are cut as well.
    ``wanted``: a violation kind; the first violation is then the first run that shows it
    (``exhaustive``: none does).
    """
    if scenario.clock != "virtual":
        raise ValueError("exploration needs the virtual clock")
    found = DfsExploration(discipline.name, preemptions, sleep_sets, fingerprints)
    start = time.perf_counter()
    loop = VirtualEventLoop()
    try:
        for bound in range(0 if iterative else preemptions, preemptions + 1):
            found.bound = bound
            complete = _search_bound(
                scenario,
                discipline,
                bound,
                found,
                max_runs=max_schedules,
                store=store,
                stop_at_first=stop_at_first,
                wanted=wanted,
                loop=loop,
            )
            if found.first_violation_kinds and stop_at_first:
                break
            if not complete:
                break
        else:
            found.exhaustive = not found.first_violation_kinds
    finally:
        loop.close()
    found.wall_s = time.perf_counter() - start
    return found


def replay_dfs(
    scenario: Scenario, discipline: Discipline, decisions: Sequence[str], *, store: str = "rust"
) -> list[str]:
    """The violation kinds of the run that makes ``decisions`` (then goes on as the search
    would)."""
    result = run_with_schedule(scenario, discipline, replay_schedule(list(decisions)), store=store)
    return violations(result.metrics)


def shrink_decisions(
    scenario: Scenario, discipline: Discipline, decisions: Sequence[str], *, store: str = "rust"
) -> tuple[list[str], list[str]]:
    """The shortest prefix of ``decisions`` whose run still shows one of the kinds the whole
    list shows (past the prefix the run goes on without preemptions), and its kinds."""
    wanted = set(replay_dfs(scenario, discipline, decisions, store=store))
    if not wanted:
        raise ValueError("these decisions show no violation: nothing to shrink")
    best, best_kinds = list(decisions), sorted(wanted)
    for n in range(len(decisions)):
        try:
            kinds = replay_dfs(scenario, discipline, decisions[:n], store=store)
        except Nondeterminism:
            continue
        if wanted.intersection(kinds):
            best, best_kinds = list(decisions[:n]), kinds
            break
    return best, best_kinds
