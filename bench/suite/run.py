"""Runs the sections of a profile, with progress bars, into one results document."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bench.suite import machine
from bench.suite.peers.registry import fast
from bench.suite.profiles import Profile
from bench.suite.sweeps import anchor, contention, fit, peers, simcost, violations


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


def run(prof: Profile, out: Path, command: str) -> dict[str, Any]:
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
        if "sim" in prof.sections:
            t = bar.add_task("simulation cost", total=len(prof.sim_sizes) * len(prof.sim_presets))
            doc["sim"] = simcost.sim_cost(
                prof.sim_presets,
                prof.sim_sizes,
                prof.sim_duration_s,
                progress=lambda: bar.advance(t),
            )
            lap("sim")
        if "violations" in prof.sections:
            points = sum(len(v) for v in prof.axes.values()) * len(prof.sim_presets)
            t = bar.add_task("violation curves", total=points)
            doc["violations"] = violations.violation_curves(
                prof.axes, prof.sim_presets, prof.runs, progress=lambda: bar.advance(t)
            )
            lap("violations")
    doc["wall_s"] = time.time() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return doc
