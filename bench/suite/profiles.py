"""The two profiles: ``quick`` (``make bench``, under 10 minutes on 2 shared cores) and
``full`` (``make bench-full``: every size for every peer, more rounds and runs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.suite.peers.registry import PEERS

SECTIONS: tuple[str, ...] = ("peers", "cas", "contention", "fit", "sim", "violations")


@dataclass
class Profile:
    name: str
    sizes: list[int]
    """Endpoints of the peer sweep."""
    peer_max: dict[str, int] = field(default_factory=dict)
    """Largest size per peer (absent: every size)."""
    peers: list[str] = field(default_factory=lambda: list(PEERS))
    anchor_size: int = 500_000
    """Endpoints of the bare Rust loops against RecordStore (0: not run)."""
    anchor_rounds: int = 11
    cas_size: int = 100_000
    """Where the CAS vs LWW profile runs (all modes, single calls, leases)."""
    rounds: int = 7
    """Rounds of PyRecordStore (Redis and etcd: 3 up to 10,000 endpoints, then 1)."""
    embedded_rounds: int = 21
    """Rounds of RecordStore (milliseconds each: many, for the paired CAS/LWW ratio)."""
    single_calls: int = 2000
    lease_batch: int = 100_000
    """Endpoints per batch lease call (at most the size measured)."""
    threads: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    contention_batch: int = 50_000
    contention_iters: int = 40
    contention_singles: int = 20_000
    contention_rounds: int = 3
    fit_size: int = 1_000_000
    sim_sizes: list[int] = field(default_factory=lambda: [1000, 10_000, 100_000])
    sim_duration_s: float | None = None
    """Publishing time of the replay (None: the incident's hour)."""
    sim_presets: list[str] = field(
        default_factory=lambda: ["lww", "aws2025", "lease", "fenced", "cas"]
    )
    axes: dict[str, list[float]] = field(
        default_factory=lambda: {
            "pause": [0.1, 0.3, 1.0, 3.0, 10.0],
            "enactors": [2, 4, 8, 16, 32],
            "rate": [2, 6, 30, 120],
        }
    )
    runs: int = 10
    """Seeded runs per (axis value, preset) of the violation curves."""
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))


def quick() -> Profile:
    return Profile(
        "quick",
        sizes=[10_000, 100_000, 500_000],
        peer_max={"EtcdStore": 100_000},
    )


def full() -> Profile:
    return Profile(
        "full",
        sizes=[10_000, 100_000, 500_000, 1_000_000],
        cas_size=500_000,
        rounds=11,
        single_calls=10_000,
        contention_batch=100_000,
        embedded_rounds=41,
        sim_sizes=[1000, 10_000, 100_000, 500_000, 1_000_000],
        runs=100,
    )


PROFILES = {"quick": quick, "full": full}
