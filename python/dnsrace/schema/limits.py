"""Upper bounds of every simulated length, duration, step and count (one place, one table).

They keep one run within this project's 2-core, 24 GiB machine and within minutes to hours,
and turn a typo (1e12 endpoints, a 1e-9 s step, a 1e21 s horizon) into a one-line error naming
the field instead of a run that exhausts memory or never ends. The schema's annotations use
them (``dnsrace.sim.scenario``, ``dnsrace.collapse.config``); ``docs/reference/bounds.md``'s
configuration table is generated from the schema, so the table and the checks cannot drift.
"""

from __future__ import annotations

__all__ = [
    "MAX_COLLAPSE_STEPS",
    "MAX_DEPTH",
    "MAX_DROPLETS",
    "MAX_DROPLET_SAMPLES",
    "MAX_ENDPOINTS",
    "MAX_LEASE_CHECKS",
    "MAX_LIST",
    "MAX_MANAGERS",
    "MAX_MANAGER_STEPS",
    "MAX_NAME_CHARS",
    "MAX_PLANS",
    "MAX_PROBES",
    "MAX_SAMPLES",
    "MAX_SECONDS",
    "MAX_SEED",
    "MAX_TEXT_CHARS",
    "MIN_STEP_S",
]

# A simulated endpoint costs about 1 KiB in a worker (515 MB peak measured at 500,001
# endpoints) and `dnsrace run` uses one worker per core: 5M endpoints x 2 workers ~ 11 GB.
MAX_ENDPOINTS = 5_000_000
"""Most endpoints in one scenario (besides the regional one)."""
MAX_SECONDS = 7 * 86_400.0
"""Longest simulated span, timer, delay or horizon: one simulated week."""
MIN_STEP_S = 0.001
"""Shortest period of a loop that waits between rounds (publishing, probing, backing off, the
lease managers' service step): a shorter one does not advance the clock measurably."""
MAX_PLANS = 100_000
"""Most plans one run may publish (each costs a pass over the fleet's trees)."""
MAX_PROBES = 1_000_000
"""Most client probe rounds one run may make ((duration_s + drain_s) / probe_interval_s)."""
MAX_LIST = 10_000
"""Longest list in a configuration (bursts, crash times, enactor names, presets, outages)."""
MAX_NAME_CHARS = 100
"""Longest scenario or discipline name (printed in tables)."""
MAX_TEXT_CHARS = 253
"""Longest other text field (a DNS name is at most 253 characters)."""
MAX_SEED = 2**63 - 1
"""Largest root seed."""
MAX_DEPTH = 32
"""Deepest nesting of tables and arrays in a configuration (a valid scenario needs 4)."""

# Phase 2 (the lease managers). Measured on this machine: about 250 bytes per droplet
# (252 MB peak at 1,000,000 droplets), 0.1-2.7 ms per service step and 20-130 us per manager
# step, about 2 us per lease check (a default run at 1M droplets: 7.2e7 checks in ~135 s).
MAX_DROPLETS = 10_000_000
"""Most droplets (hosts holding a lease) in the collapse model (a few GB)."""
MAX_MANAGERS = 10_000
"""Most lease managers."""
MAX_COLLAPSE_STEPS = 1_000_000
"""Most service steps of one collapse run: ceil(horizon_s / step_s) (a few minutes)."""
MAX_MANAGER_STEPS = 20_000_000
"""Most manager service calls of one run: managers x steps (tens of minutes at most)."""
MAX_SAMPLES = 100_000
"""Most samples of the leased fraction of one run: horizon_s / sample_s."""
MAX_DROPLET_SAMPLES = 10_000_000_000
"""Most droplet reads over all samples: droplets x samples (each sample scans every lease)."""
MAX_LEASE_CHECKS = 2_000_000_000
"""Most periodic lease checks of one run: droplets x horizon_s / check_period_s (about an hour)."""
