"""Planner and enactors as real processes on real etcd members, faults as signals.

Real time and real processes: these runs are not byte-for-byte repeatable, so each test
asserts what must hold in every run (no stale flip under fencing, nothing acknowledged lost)
or what the mechanism makes overwhelmingly likely (pauses longer than the lease give the
lease discipline stale flips: about 20 per run here, never fewer than a handful).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from dnsrace.dist.cluster import cluster_run
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.scenario import Scenario, load_scenario

# Real time: each run lasts about a minute. The bad-input tests below run in make check.
pytestmark = pytest.mark.processes

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "cluster.toml"


def _scenario(**changes: Any) -> Scenario:
    base = load_scenario(SCENARIO)
    return dataclasses.replace(base, **changes)


def _acknowledged(workdir: Path) -> dict[int, int]:
    """Per endpoint, the highest generation an enactor saw its flip applied to."""
    acked: dict[int, int] = {}
    for path in workdir.glob("*.jsonl"):
        if path.name.startswith("planner"):
            continue
        for raw in path.read_bytes().splitlines():
            try:
                ev = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if ev["e"] != "flip":
                continue
            for i, b, a in zip(ev["ids"], ev["before"], ev["after"], strict=True):
                if a != b:
                    acked[i] = max(acked.get(i, 0), a)
    return acked


def _fault_window(
    start_s: float,
    end_s: float,
    begin: Callable[[], None],
    end: Callable[[], None],
    events: list[str],
) -> Callable[[float, Any], None]:
    """A `cluster_run` hook: `begin` once from `start_s`, then `end` once from `end_s`
    (run time), each noted in `events`."""

    def at(t: float, roles: Any) -> None:
        if t >= start_s and not events:
            begin()
            events.append("begin")
        elif t >= end_s and events == ["begin"]:
            end()
            events.append("end")

    return at


def _assert_clean_and_nothing_lost(run: Any, url: str, workdir: Path, endpoints: int) -> None:
    """The `cas` run ended with no violation and converged, and every flip an enactor saw
    acknowledged is still visible (if_newer only raises aliases: the final one is at least it)."""
    from dnsrace.backends.etcd import EtcdStore

    m = run.result.metrics
    assert m["stale_flips"] == 0 and m["empty_answers"] == 0 and m["stuck_endpoints"] == 0
    assert m["final_converged"]
    acked = _acknowledged(workdir)
    assert len(acked) == endpoints
    final = EtcdStore(url).aliases()
    assert not {i: (g, final[i]) for i, g in acked.items() if (final[i] or 0) < g}


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["lease", "fenced"])
def test_pauses_longer_than_the_lease_break_lease_but_not_fencing(
    etcd1: Any, tmp_path: Path, preset: str
) -> None:
    # Kleppmann's argument on real processes: an enactor stopped with SIGSTOP for longer than
    # its etcd lease comes back and writes a stale plan under `lease`; under `fenced` the
    # store refuses exactly those writes. The two runs are independent (one per preset, in
    # its own namespace), so xdist can run them side by side.
    # A stale write needs a pause to land between an enactor's read under the lease and its
    # flip: with the scenario's 5 ms calls that window is a few percent of an enactor's time,
    # and 16 pauses in a run sometimes hit none of it. Calls of 20 ms and 20 pauses a minute
    # per enactor make hits expected many times per run (42 stale flips in a run here).
    scenario = _scenario(duration_s=40.0, drain_s=15.0)
    pauses = scenario.faults.pauses
    assert pauses.median_s > scenario.enactors.lease_ttl_s
    scenario = dataclasses.replace(
        scenario,
        enactors=dataclasses.replace(scenario.enactors, call_latency_s=0.02),
        faults=dataclasses.replace(
            scenario.faults,
            pauses=dataclasses.replace(pauses, rate_per_min=20.0),
            crashes=dataclasses.replace(scenario.faults.crashes, rate_per_min=0.0),
        ),
    )
    run = cluster_run(
        scenario, lookup(preset), f"{etcd1.url}/fence-{preset}", workdir=tmp_path / preset
    )
    assert run.signals["stop"] > 0
    m = run.result.metrics
    if preset == "lease":
        assert m["faults"]["pauses"] == run.signals["stop"]
        assert m["stale_flips"] > 0, "no paused lease holder came back to write"
        assert m["stale_flips"] == m["stale_flips_observed"]
    else:
        assert m["stale_flips"] == 0 and m["empty_answers"] == 0
        assert m["store"]["fenced_rejections"] > 0
        assert m["final_converged"]


@pytest.mark.slow
def test_a_member_killed_mid_run_loses_nothing_acknowledged(etcd3: Any, tmp_path: Path) -> None:
    # A 3-member cluster; one member is SIGKILLed in the middle of a `cas` run and restarted:
    # the run completes, with zero violations, and every flip an enactor saw acknowledged is
    # still visible at the end (if_newer only raises aliases: the final alias is at least it).
    scenario = _scenario(duration_s=20.0, drain_s=15.0)
    events: list[str] = []
    fail_a_member = _fault_window(
        6.0, 12.0, lambda: etcd3.kill(0), lambda: etcd3.restart(0), events
    )
    url = f"{etcd3.url}/kill"
    run = cluster_run(scenario, lookup("cas"), url, workdir=tmp_path, at=fail_a_member)
    assert events == ["begin", "end"]
    _assert_clean_and_nothing_lost(run, url, tmp_path, scenario.total_endpoints)


@pytest.mark.parametrize("command", ["cluster-run", "planner", "enactor"])
def test_role_commands_refuse_bad_input(command: str, capsys: Any) -> None:
    from dnsrace.app.cli import main

    extra = ["--events", "/tmp/x.jsonl"] if command != "cluster-run" else []
    if command == "enactor":
        extra += ["--name", "A", "--discipline", "cas"]
    assert main([command, str(SCENARIO), "--backend", "etcd://nohost", *extra]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    virtual = str(SCENARIO.parent / "incident.toml")
    assert main([command, virtual, "--backend", "etcd://127.0.0.1:2379", *extra]) == 2
    assert "clock = 'real'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_member_cut_off_the_network_mid_run_loses_nothing(
    etcd3_netns: Any, tmp_path: Path
) -> None:
    # The same as a kill, with the member still running but unreachable for 4 s (its own
    # network namespace, its link to the others taken down): a partition, not a crash.
    from dnsrace.backends.etcd.client import EtcdClient
    from dnsrace.errors import StoreUnavailable

    cluster = etcd3_netns
    scenario = _scenario(duration_s=20.0, drain_s=15.0)
    events: list[str] = []

    def isolate() -> None:
        cluster.isolate(0)
        # It really is cut off: nobody reaches it.
        with pytest.raises(StoreUnavailable):
            EtcdClient([cluster.members[0].client_url], connect_timeout_s=0.5)

    partition = _fault_window(6.0, 10.0, isolate, lambda: cluster.heal(0), events)
    url = f"{cluster.url}/partition"
    run = cluster_run(scenario, lookup("cas"), url, workdir=tmp_path, at=partition)
    assert events == ["begin", "end"]
    _assert_clean_and_nothing_lost(run, url, tmp_path, scenario.total_endpoints)
