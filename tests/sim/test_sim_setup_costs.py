"""What makes a run's fixed cost smaller must not change the run: the fleet's inline draws,
the small fleets' starting orders kept, the progress task's stand-in, the virtual loop's
inlined run_until_complete and the clients reused from run to run."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from dnsrace.clock import VirtualEventLoop
from dnsrace.seeds import substream
from dnsrace.sim import fleet, runner
from dnsrace.sim.clients import Clients
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.fleet import Fleet
from dnsrace.sim.metrics import Metrics
from dnsrace.sim.observer import ObservedStore
from dnsrace.sim.operator import Operator
from dnsrace.sim.planner import PlanBoard
from dnsrace.sim.scenario import FleetConfig, load_scenario
from dnsrace.sim.schedule import make_schedule

SPIN = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 100, 161, 256, 257, 1000])
def test_below_draws_what_randrange_draws(n: int) -> None:
    for seed in range(20):
        ours, theirs = random.Random(seed), random.Random(seed)
        assert [fleet._below(ours, n) for _ in range(50)] == [
            theirs.randrange(n) for _ in range(50)
        ]


def _orders_made_anew(f: Fleet, groups: int) -> list[list[int]]:
    """Each group's rendezvous order of ``f``'s load balancers, computed here."""
    made: Any = ([[] for _ in range(groups)], [[] for _ in range(groups)])
    for index, lb in enumerate(f.lbs):
        fleet._insert(made, index, lb.address)
    return made[0]  # type: ignore[no-any-return]


def test_small_fleets_started_in_turn_get_their_own_orders() -> None:
    """Seeds that start a small fleet in different ways (families drawn), one after another:
    each fleet has its own addresses' orders, and fleets that start alike share them."""
    cfg = FleetConfig(load_balancers=3, ipv6_share=0.5)
    seen: dict[tuple[str, ...], Any] = {}
    for seed in range(40):
        f = Fleet(cfg, groups=4, targets=2, rng=random.Random(seed))
        assert f._orders[0] == _orders_made_anew(f, 4)
        addresses = tuple(lb.address for lb in f.lbs)
        assert seen.setdefault(addresses, f._orders) is f._orders
    assert len(seen) > 1  # the seeds did start it in several ways


def _finished_progress_task(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """The progress task as it was: a task that ends at its first step."""

    async def ends() -> None:
        return None

    return runner._spawn(ends(), "progress")


@pytest.mark.parametrize("schedule", ["random", "pct", "clock"])
@pytest.mark.parametrize("verdict_only", [True, False])
def test_the_progress_stand_in_changes_no_run(
    monkeypatch: pytest.MonkeyPatch, schedule: str, verdict_only: bool
) -> None:
    """Runs with the progress task's stand-in give what runs with the finished task give:
    the same metrics and the same scheduling decisions (whole runs too, whose tear-down
    gathers it)."""
    monkeypatch.setattr(runner, "_history_sinks", [])
    scenario = load_scenario(SPIN)
    discipline = lookup("aws2025").with_trees_kept(2)
    loop = VirtualEventLoop()

    def runs() -> list[Any]:
        out = []
        for seed in range(1, 25):
            chosen = make_schedule(schedule, seed, depth=3, horizon=40)
            result = runner.run_with_schedule(
                scenario.with_seed(seed),
                discipline,
                chosen,
                loop=loop,
                verdict_only=verdict_only,
            )
            out.append((result.metrics, result.steps, result.settled_steps))
        return out

    with_stand_in = runs()
    monkeypatch.setattr(runner, "_no_progress", _finished_progress_task)
    assert runs() == with_stand_in
    loop.close()


def test_run_until_complete_gives_the_result_or_the_error() -> None:
    loop = VirtualEventLoop()
    loop.set_task_factory(None)

    async def value() -> int:
        await asyncio.sleep(5)
        return 7

    async def fails() -> None:
        await asyncio.sleep(1)
        raise KeyError("x")

    try:
        assert loop.run_until_complete(value()) == 7
        assert loop.time() == 5.0
        with pytest.raises(KeyError):
            loop.run_until_complete(fails())
        assert not loop.is_running()
        assert asyncio.events._get_running_loop() is None
    finally:
        loop.close()


def _clients_state(probes: Clients) -> Any:
    return (probes._cursor, set(probes.watched), probes._rest, probes._per_round, probes.sample)


def test_clients_reset_to_new_ones() -> None:
    """Reused clients (an exploration's runs) are new ones: the sweep back at its start, no
    name retried, the new run's store and operator (whose fingerprint reads them)."""
    scenario = load_scenario(SPIN.parent / "incident.toml")
    assert scenario.clients.sweep_s > 0  # a sweep that moves: the reset has work to do
    backend = runner._backend("rust")
    metrics = Metrics(9, regional_name="r.example", current_window_s=2.0)
    store = ObservedStore(backend, metrics, lambda: 0.0, timed=False)
    ids = list(range(9))

    def operator() -> Operator:
        rng = substream(1, "operator")
        return Operator(scenario.operator, store, None, PlanBoard(), metrics, rng, 0, lambda: 0.0)  # type: ignore[arg-type]

    used = Clients(scenario, store, operator(), ids, [0, 3])
    used._round_ids()
    used.watched.update({5, 6})
    fresh_operator = operator()
    fresh = Clients(scenario, store, fresh_operator, ids, [0, 3])
    assert _clients_state(used) != _clients_state(fresh)
    again = operator()
    used.reset(store, again)
    assert _clients_state(used) == _clients_state(fresh)
    assert used.operator is again and again.probes_state == used.state
    assert used.matches(scenario, list(ids), [0, 3])
    assert not used.matches(scenario, ids, [0, 4])  # another sample: new clients
    assert not used.matches(scenario, ids[:-1], [0, 3])  # another fleet
    assert not used.matches(load_scenario(SPIN), ids, [0, 3])  # other settings
