"""Command-line arguments of the suite: a profile, then overrides of its sweeps.

Bad arguments (an unknown axis, peer or section, an empty range, a size that is not a
positive integer, a cluster address that is malformed or does not answer) end the program with
exit status 2 and one line on stderr, before any measurement.

``--executor local|ray [--address HOST:PORT] [--workers N]`` say where the cells of the
scenario sweeps (``sim``, ``violations``) run: see docs/guide/campaigns.md. The other sections
measure this machine and always run here, one at a time.

Lists are comma-separated; an integer range ``A..B`` means A, 2A, 4A, ... up to B (the
doubling steps of the thread and enactor axes), so ``2..32`` is 2,4,8,16,32 and ``8..2`` is
empty (an error).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from bench.suite.peers.registry import PEERS
from bench.suite.profiles import PROFILES, SECTIONS, Profile
from bench.suite.sweeps.violations import AXES
from dnsrace.campaign import EXECUTORS, MAX_WORKERS, CampaignError, check_address


class ArgumentError(Exception):
    """A bad argument: one line, exit status 2."""


@dataclass(frozen=True)
class Where:
    """Where the scenario sweeps' cells run (:func:`dnsrace.campaign.open_campaign`'s
    arguments)."""

    executor: str = "local"
    workers: int | None = 1
    """Local: processes (1: this process, as the other sections); ray: at most this many cells
    at a time (None: the cluster's CPUs)."""
    address: str | None = None


SCENARIO_SWEEPS: tuple[str, ...] = ("sim", "violations")
"""The sections whose cells are campaign jobs."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def _numbers(text: str, what: str, *, integer: bool) -> list[float]:
    if not text.strip():
        raise ArgumentError(f"{what}: empty range")
    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if ".." in part and integer:
            lo_s, hi_s = part.split("..", 1)
            lo, hi = _one(lo_s, what, integer=True), _one(hi_s, what, integer=True)
            if lo > hi:
                raise ArgumentError(f"{what}: empty range {part!r}")
            v = lo
            while v <= hi:
                out.append(v)
                v *= 2
        else:
            out.append(_one(part, what, integer=integer))
    return out


def _one(text: str, what: str, *, integer: bool) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ArgumentError(f"{what}: {text!r} is not {kind}") from None
    if not value > 0:
        raise ArgumentError(f"{what}: {text!r} must be positive")
    return value


def _ints(text: str, what: str) -> list[int]:
    return [int(v) for v in _numbers(text, what, integer=True)]


def _names(text: str, what: str, known: tuple[str, ...]) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise ArgumentError(f"{what}: empty list")
    for name in names:
        if name not in known:
            raise ArgumentError(f"{what}: unknown {name!r} (one of {', '.join(known)})")
    return names


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m bench.suite", description=__doc__)
    p.add_argument("--profile", choices=list(PROFILES), default="quick")
    p.add_argument("--out", default="bench/results", help="directory of REPORT.md, PNGs, JSON")
    p.add_argument("--sections", help=f"comma list of {', '.join(SECTIONS)}")
    p.add_argument("--peers", help=f"comma list of {', '.join(PEERS)}")
    p.add_argument("--sizes", help="endpoints of the peer sweep, e.g. 10000,100000")
    p.add_argument("--cas-size", help="endpoints of the CAS vs LWW profile")
    p.add_argument("--rounds", help="rounds of the in-process peers")
    p.add_argument("--single-calls", help="single calls per mode")
    p.add_argument("--threads", help="thread counts of the contention sweep, e.g. 1..8")
    p.add_argument("--contention-batch", help="endpoints per thread of the contention sweep")
    p.add_argument("--fit-size", help="endpoints of the fit target (1M x 4 targets x 3 plans)")
    p.add_argument("--sim-sizes", help="endpoints of the simulation cost curve")
    p.add_argument("--sim-presets", help="presets of the simulation cost curve")
    p.add_argument(
        "--sim-duration", help="seconds of publishing per replay (default: the incident's hour)"
    )
    p.add_argument("--axes", help=f"violation axes: comma list of {', '.join(AXES)}")
    p.add_argument("--pause", help="pause/TTL ratios, e.g. 0.1,1,10")
    p.add_argument("--enactors", help="enactor counts, e.g. 2..32")
    p.add_argument("--rate", help="plans per minute, e.g. 2,30,120")
    p.add_argument("--runs", help="seeded runs per point of the violation curves")
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where the cells of the sim and violations sweeps run: local processes (default) "
        "or the tasks of a Ray cluster; their results do not depend on it, their timings do",
    )
    p.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="with --executor ray: the head of a running Ray cluster (without it a one-node "
        "Ray instance is started for the sweeps)",
    )
    p.add_argument(
        "--workers",
        help="cells at a time (local: processes, default 1 = this process; ray: default the "
        "cluster's CPUs)",
    )
    return p


def _where(a: argparse.Namespace, sections: list[str]) -> Where:
    """The executor options, checked before any work (a bad or silent address, no Ray)."""
    workers = None if a.executor == "ray" else 1
    if a.workers is not None:
        values = _ints(a.workers, "--workers")
        if len(values) != 1 or values[0] > MAX_WORKERS:
            raise ArgumentError(f"--workers: one value in 1..{MAX_WORKERS} expected")
        workers = values[0]
    if a.address is not None and a.executor != "ray":
        raise ArgumentError("--address: needs --executor ray")
    if a.executor == "ray":
        if not set(SCENARIO_SWEEPS) & set(sections):
            raise ArgumentError(
                f"--executor ray: no scenario sweep ({', '.join(SCENARIO_SWEEPS)}) in --sections"
            )
        if importlib.util.find_spec("ray") is None:
            raise ArgumentError(
                "--executor ray: ray is not installed (pip install 'dnsrace[cluster]')"
            )
        if a.address is not None:
            try:
                check_address(a.address)
            except CampaignError as exc:
                raise ArgumentError(f"--address: {exc}") from None
    return Where(a.executor, workers, a.address)


def _out_dir(text: str) -> Path:
    """``--out``: a directory, or a path where one can be made. Checked before anything is
    measured, so a file, a device or a FIFO given by mistake fails at once in one line."""
    out = Path(text)
    for place in (out, *out.parents):
        if place.exists():
            if not place.is_dir():
                raise ArgumentError(f"--out: {str(place)!r} exists and is not a directory")
            return out
    return out


def parse(argv: list[str]) -> tuple[Profile, Path, Where]:
    """The profile with every override applied and where its scenario sweeps run
    (``ArgumentError`` on a bad argument)."""
    a = parser().parse_args(argv)
    prof = PROFILES[a.profile]()
    if a.sections is not None:
        prof.sections = _names(a.sections, "--sections", SECTIONS)
    if a.peers is not None:
        prof.peers = _names(a.peers, "--peers", PEERS)
    if a.sizes is not None:
        prof.sizes = sorted(set(_ints(a.sizes, "--sizes")))
        prof.peer_max = {}
    for attr in ("cas_size", "rounds", "single_calls", "contention_batch", "fit_size", "runs"):
        text = getattr(a, attr)
        if text is not None:
            flag = "--" + attr.replace("_", "-")
            values = _ints(text, flag)
            if len(values) != 1:
                raise ArgumentError(f"{flag}: one value expected, got {text!r}")
            setattr(prof, attr, values[0])
            if attr == "rounds":
                prof.embedded_rounds = values[0]
    if a.threads is not None:
        prof.threads = _ints(a.threads, "--threads")
    if a.sim_sizes is not None:
        prof.sim_sizes = sorted(set(_ints(a.sim_sizes, "--sim-sizes")))
    if a.sim_duration is not None:
        prof.sim_duration_s = _numbers(a.sim_duration, "--sim-duration", integer=False)[0]
    if a.sim_presets is not None:
        from dnsrace.sim.disciplines import KNOWN

        prof.sim_presets = _names(a.sim_presets, "--sim-presets", tuple(KNOWN))
    if a.axes is not None:
        chosen = _names(a.axes, "--axes", AXES)
        prof.axes = {k: v for k, v in prof.axes.items() if k in chosen}
    for axis, integer in (("pause", False), ("enactors", True), ("rate", False)):
        text = getattr(a, axis)
        if text is not None and axis in prof.axes:
            prof.axes[axis] = _numbers(text, f"--{axis}", integer=integer)
    if "violations" in prof.sections and not prof.axes:
        raise ArgumentError("--axes: no axis left to sweep")
    return prof, _out_dir(a.out), _where(a, prof.sections)


def parse_or_exit(argv: list[str]) -> tuple[Profile, Path, Where]:
    try:
        return parse(argv)
    except ArgumentError as exc:
        print(f"python -m bench.suite: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
