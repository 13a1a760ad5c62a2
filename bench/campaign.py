"""Exploration runs per second with 1 and 2 workers, on local processes and on a Ray cluster.

One campaign: ``dnsrace explore scenarios/spin.toml --discipline aws2025 --runs RUNS`` (blocks of
256 runs dispatched by :func:`dnsrace.sim.explore.explore_preset`), on four executors:

* local, 1 and 2 workers: spawned processes on this machine, each leading a session of its
  own as Ray's workers do (see :class:`SessionPool`);
* ray, 1 and 2 workers: a real cluster of separate processes on this machine
  (:class:`dnsrace.campaign.local.LocalRayCluster`: a head and a worker node, one CPU each),
  with ``workers`` blocks in flight at a time.

Each executor is warmed up first (worker processes started, modules imported), then
``--rounds`` timed campaigns run in turn across the executors (paired: the machine's load
hits all of them alike); the table gives the median of the rounds. Every campaign's JSON
result is also compared: the same bytes on every executor, or the run fails.

Run: ``.venv/bin/python -m bench.campaign [--runs 2048] [--rounds 3] [--out bench/results]``
writes ``campaign.json`` and ``campaign.md`` there; ``python -m bench.suite.report`` puts the
table into REPORT.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from dnsrace.campaign import Campaign, open_campaign
from dnsrace.campaign.local import LocalRayCluster
from dnsrace.sim.explore import explore_preset
from dnsrace.sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "spin.toml"
PRESET = "aws2025"
EXECUTORS = [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]


class SessionPool(Campaign):
    """Local worker processes, each leading a session of its own.

    Linux's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) shares a loaded
    machine between sessions, not processes, and Ray's nodes and worker processes each lead a
    session: measured side by side, Ray's workers got about 7 times the CPU of local workers
    that shared the benchmark's session. So here the local workers lead sessions too (a pool
    even for one worker), and the executors are scheduled alike.
    """

    kind = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=os.setsid
        )

    @property
    def pool(self) -> concurrent.futures.Executor | None:
        return self._pool

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _campaigns(address: str) -> Iterator[dict[tuple[str, int], Campaign]]:
    # One Ray driver per process: the ray campaigns share one connection, each bounding
    # the blocks it has in flight by its own worker count.
    with ExitStack() as stack:
        out: dict[tuple[str, int], Campaign] = {}
        ray_campaign = stack.enter_context(open_campaign("ray", address=address))
        for kind, workers in EXECUTORS:
            if kind == "local":
                out[kind, workers] = stack.enter_context(SessionPool(workers))
            else:
                out[kind, workers] = ray_campaign
        yield out


def _explore(campaign: Campaign, workers: int, runs: int, seed: int) -> tuple[float, str]:
    scenario = load_scenario(SCENARIO)
    (discipline,) = [d for d in scenario.discipline_list() if d.name == PRESET]
    found = explore_preset(
        scenario,
        discipline,
        runs=runs,
        schedule="random",
        depth=3,
        seed=seed,
        pool=campaign.pool,
        workers=workers,
    )
    return found.runs_per_s, json.dumps(found.as_json(perf=False), sort_keys=True)


def measure(runs: int, rounds: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with LocalRayCluster(head_cpus=1, worker_cpus=(1,)) as cluster:
        cluster_s = time.perf_counter() - start
        os.environ.update(cluster.auth_env)  # this process is the cluster's driver
        with _campaigns(cluster.address) as campaigns:
            for (_, workers), campaign in campaigns.items():
                _explore(campaign, workers, 512, 1)  # warm-up: workers started, imports done
            rates: dict[str, list[float]] = {f"{k} {w}": [] for k, w in EXECUTORS}
            for r in range(rounds):
                results = set()
                for kind, workers in EXECUTORS:
                    rate, result = _explore(campaigns[kind, workers], workers, runs, 1 + r * runs)
                    rates[f"{kind} {workers}"].append(rate)
                    results.add(result)
                    print(f"round {r + 1}: {kind} {workers} worker(s): {rate:,.0f} runs/s")
                if len(results) != 1:
                    raise SystemExit(f"round {r + 1}: the executors disagree on the result")
    rows = []
    for kind, workers in EXECUTORS:
        values = rates[f"{kind} {workers}"]
        base = statistics.median(rates[f"{kind} 1"])
        rows.append(
            {
                "executor": kind,
                "workers": workers,
                "runs_per_s": statistics.median(values),
                "rounds": values,
                "speedup": statistics.median(values) / base if base else None,
            }
        )
    return {
        "scenario": SCENARIO.name,
        "preset": PRESET,
        "runs": runs,
        "rounds": rounds,
        "load_1m_at_start": load,
        "cores": os.cpu_count(),
        "ray_cluster_start_s": cluster_s,
        "rows": rows,
    }


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        f"Exploration of `{doc['scenario']}` (`{doc['preset']}`, random schedules), "
        f"{doc['runs']:,} runs per campaign, median of {doc['rounds']} paired rounds; the same "
        f"result bytes on every executor. {doc['cores']} cores shared with other work (load "
        f"{doc['load_1m_at_start']:.1f} at the start): absolute rates are noisy. The Ray "
        f"cluster (a head and a worker node, one CPU each, separate processes) took "
        f"{doc['ray_cluster_start_s']:.0f} s to start. Every worker, local or Ray, leads a "
        "session of its own (Linux's autogroup shares a loaded machine between sessions: local "
        "workers in the caller's session got about a seventh of the CPU Ray's got). "
        f"Generated by `{doc['command']}`.",
        "",
        "| executor | workers | runs/s | vs 1 worker |",
        "|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['executor']} | {r['workers']} | {r['runs_per_s']:,.0f} | {r['speedup']:.2f}x |"
        )
    lines.append("")
    return "\n".join(lines)


def table_parser(doc: str) -> argparse.ArgumentParser:
    """The parser of a table generator of ``bench/`` (described by the first line of its
    ``doc``), with its ``--out`` folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return parser


def write_table(out: Path, name: str, doc: dict[str, Any], table: str) -> None:
    """``NAME.json`` and ``NAME.md`` into ``out`` (``bench.suite.report`` includes the table
    in REPORT.md), and the table printed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / f"{name}.md").write_text(table)
    print(table)


def main() -> None:
    parser = table_parser(__doc__)
    parser.add_argument("--runs", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not 512 <= args.runs <= 1_000_000 or not 1 <= args.rounds <= 100:
        parser.error("--runs in 512..1000000, --rounds in 1..100")
    doc = measure(args.runs, args.rounds)
    doc["command"] = f"python -m bench.campaign --runs {args.runs} --rounds {args.rounds}"
    write_table(args.out, "campaign", doc, markdown(doc))


if __name__ == "__main__":
    main()
