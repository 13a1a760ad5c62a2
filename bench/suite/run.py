"""Runs the sections of a profile, with progress bars, into one results document.

The sections that measure this machine (peers, anchor, fit, contention) run here, one at a
time. The scenario sweeps (sim, violations) run their cells as the jobs of one campaign
(:mod:`dnsrace.campaign`: local processes or a Ray cluster), gathered in the order of the
cells; every row keeps what it measured of speed under ``timing``, apart from its counts.
``suite.json`` holds everything; ``sweeps.json`` the scenario sweeps without any timing, the
same bytes whatever the executor and the worker count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bench.suite import machine
from bench.suite.args import Where
from bench.suite.peers.registry import fast
from bench.suite.profiles import Profile
from bench.suite.sweeps import anchor, contention, fit, peers, simcost, violations
from dnsrace.campaign import Campaign, open_campaign

SWEEP_SETTINGS: tuple[str, ...] = ("sim_presets", "sim_sizes", "sim_duration_s", "axes", "runs")
"""The settings that decide the scenario sweeps' results (with the code's constants)."""
TIMING = "timing"
"""The key of what a row or section measured of speed (left out of ``sweeps.json``)."""


def peer_tasks(prof: Profile) -> list[peers.PeerTask]:
    sizes = sorted(set(prof.sizes) | ({prof.cas_size} if "cas" in prof.sections else set()))
    tasks = []
    for name in prof.peers:
        for n in sizes:
            in_sweep = (
                "peers" in prof.sections and n in prof.sizes and n <= prof.peer_max.get(name, n)
            )
            profile = "cas" in prof.sections and n == prof.cas_size
            if not (in_sweep or profile):
                continue
            if name == "RecordStore":
                rounds = prof.embedded_rounds
            else:
                rounds = prof.rounds if fast(name) else (3 if n <= 10_000 else 1)
            single = prof.single_calls if fast(name) else min(prof.single_calls, 200)
            tasks.append(peers.PeerTask(name, n, rounds, profile, single, prof.lease_batch))
    return tasks


def deterministic(doc: dict[str, Any]) -> dict[str, Any]:
    """The scenario sweeps' results without their timing: a function of the settings and the
    seeds alone (``sweeps.json``)."""
    out: dict[str, Any] = {"settings": {k: doc["settings"][k] for k in SWEEP_SETTINGS}}
    if "sim" in doc:
        out["sim"] = [_untimed(r) for r in doc["sim"]["rows"]]
    if "violations" in doc:
        out["violations"] = [_untimed(r) for r in doc["violations"]]
    return out


def _untimed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != TIMING}


def sweeps_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(deterministic(doc), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


Sweep = Callable[[Campaign, Callable[[], None]], Any]


def _scenario_sweeps(prof: Profile) -> list[tuple[str, str, int, Sweep]]:
    """(section, progress title, cells, call) of each scenario sweep of the profile."""
    out: list[tuple[str, str, int, Sweep]] = []
    if "sim" in prof.sections:
        out.append(
            (
                "sim",
                "simulation cost",
                len(prof.sim_sizes) * len(prof.sim_presets),
                lambda campaign, step: simcost.sim_cost(
                    campaign, prof.sim_presets, prof.sim_sizes, prof.sim_duration_s, step
                ),
            )
        )
    if "violations" in prof.sections:
        out.append(
            (
                "violations",
                "violation curves",
                sum(len(v) for v in prof.axes.values()) * len(prof.sim_presets),
                lambda campaign, step: violations.violation_curves(
                    campaign, prof.axes, prof.sim_presets, prof.runs, step
                ),
            )
        )
    return out


def run(prof: Profile, out: Path, command: str, where: Where | None = None) -> dict[str, Any]:
    where = where or Where()
    started = time.time()
    doc: dict[str, Any] = {
        "profile": prof.name,
        "command": command,
        "settings": {k: v for k, v in vars(prof).items()},
        "machine": machine.describe(),
    }
    tasks = peer_tasks(prof) if {"peers", "cas"} & set(prof.sections) else []
    with Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as bar:
        clock = time.perf_counter()

        def lap(section: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            doc.setdefault("section_s", {})[section] = now - clock
            clock = now

        if tasks:
            t = bar.add_task("peers (store x size)", total=len(tasks))
            doc["peers"] = []
            for task in tasks:
                bar.update(t, description=f"peers: {task.peer} {task.n:,}")
                doc["peers"].append(peers.run_isolated(task))
                bar.advance(t)
            lap("peers")
        # At most the largest size of the sweep (a tiny run stays tiny).
        anchor_n = min(prof.anchor_size, max(prof.sizes))
        if "peers" in prof.sections and anchor_n > 0:
            t = bar.add_task(f"anchor: Rust loops {anchor_n:,}", total=1)
            doc["anchor"] = anchor.run_isolated(anchor_n, prof.anchor_rounds)
            bar.advance(t)
            lap("anchor")
        if "fit" in prof.sections:
            t = bar.add_task(f"fit: {prof.fit_size:,} endpoints", total=1)
            doc["fit"] = fit.run_isolated(prof.fit_size)
            bar.advance(t)
            lap("fit")
        if "contention" in prof.sections:
            t = bar.add_task("contention (threads)", total=len(prof.threads) * 8)
            doc["contention"] = contention.contention(
                prof.threads,
                prof.contention_batch,
                prof.contention_iters,
                prof.contention_singles,
                prof.contention_rounds,
                progress=lambda: bar.advance(t),
            )
            lap("contention")
        sweeps = _scenario_sweeps(prof)
        if sweeps:
            # Opened after the sections above: a Ray instance started here would run beside
            # their timings.
            with open_campaign(
                where.executor, workers=where.workers, address=where.address
            ) as campaign:
                doc["campaign"] = {
                    "executor": campaign.kind,
                    "workers": campaign.workers,
                    "address": where.address,
                }
                for section, title, cells, sweep in sweeps:
                    t = bar.add_task(title, total=cells)
                    doc[section] = sweep(campaign, partial(bar.advance, t))
                    lap(section)
    doc["wall_s"] = time.time() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    if sweeps:
        (out / "sweeps.json").write_bytes(sweeps_json(doc))
    return doc
