"""Knobs of the lease manager model and of its recovery disciplines, with named presets.

Times are simulated seconds. Work is measured in *renewal units*: one lease renewal of an idle
host costs one unit. A manager's capacity is set through ``utilisation``: the share of its
capacity that the steady stream of renewals of its droplets takes (one check per droplet every
``check_period_s``), so the same knobs behave the same at 2,000 or 1,000,000 droplets.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "PRESETS",
    "CollapseConfig",
    "CollapseError",
    "Recovery",
    "config_from_mapping",
    "resolve_presets",
]

Order = Literal["fifo", "lifo"]
Retry = Literal["immediate", "backoff", "off"]
Restart = Literal["none", "scheduled", "alarm"]


class CollapseError(ValueError):
    """Bad input for the collapse model; the message names the field."""


@dataclass(frozen=True)
class Recovery:
    """How the managers treat their queues and failed work (one recovery discipline)."""

    name: str
    order: Order = "fifo"
    """Which queued item a free manager takes next: the oldest (fifo) or the newest (lifo)."""
    drop_expired: bool = False
    """Discard queued work whose deadline has passed before spending capacity on it."""
    retry: Retry = "immediate"
    """Failed or late work: queued again at once, after a jittered exponential backoff, or
    not at all (the droplet's next periodic check asks again)."""
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 1800.0
    admission_limit: float | None = None
    """Throttling: a manager admits work only while its queue holds fewer than this share of its
    droplets; the rest is turned away (the droplet asks again at its next check)."""
    renewals_first: bool = False
    """Renewals of live leases are served before re-establishments of expired ones."""
    restart: Restart = "none"
    """The operator restarts every manager, emptying its queue: ``scheduled`` at
    ``restart_after_s`` after the dependency is back, ``alarm`` when the leased fraction has
    stayed below ``alarm_fraction`` for ``alarm_for_s`` while the dependency was up."""
    restart_after_s: float = 3600.0
    alarm_fraction: float = 0.9
    alarm_for_s: float = 1800.0


PRESETS: dict[str, Recovery] = {
    p.name: p
    for p in (
        Recovery("aws2025"),
        Recovery("throttle", admission_limit=0.2),
        Recovery("lifo_drop", order="lifo", drop_expired=True),
        Recovery("backoff", retry="backoff"),
        Recovery("renewals_first", renewals_first=True),
        Recovery("restart", restart="alarm"),
        Recovery("restart_scheduled", restart="scheduled"),
    )
}


def resolve_presets(text: str, what: str = "--recovery") -> tuple[Recovery, ...]:
    """``all``, one preset or a comma-separated list, in the order given."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CollapseError(f"{what}: empty")
    if names == ["all"]:
        return tuple(PRESETS.values())
    out = []
    for n in names:
        if n not in PRESETS:
            raise CollapseError(f"{what}: unknown preset {n!r} (known: {', '.join(PRESETS)}, all)")
        out.append(PRESETS[n])
    return tuple(out)


@dataclass(frozen=True)
class CollapseConfig:
    """The fleet, the managers, the dependency outage and the run's length."""

    droplets: int = 1_000_000
    managers: int = 32
    seed: int = 1
    horizon_s: float = 6 * 3600.0
    step_s: float = 10.0
    """Time step of the managers' service loop."""
    sample_s: float = 60.0
    """How often the leased fraction is read from the store (the series and the metrics)."""
    check_period_s: float = 300.0
    """Every droplet's lease is checked (renewed) once per period, at its own phase."""
    lease_ttl_s: float = 450.0
    utilisation: float = 0.5
    """Share of a manager's capacity taken by the steady renewals (the offered load)."""
    establish_cost: float = 2.0
    """A re-establishment (the lease had expired) costs this many renewals."""
    failure_cost: float = 0.2
    """A check that fails on the unavailable dependency fails fast: this many renewals."""
    load_cost: float = 2.0
    """Each item costs ``1 + load_cost * queued / droplets_per_manager`` times its base cost:
    the deeper a host's queue, the slower its work (0: no load dependence)."""
    deadline_s: float | None = 450.0
    """Work whose result comes back later than this after it was queued is discarded
    (None: no deadline)."""
    trigger_at_s: float = 600.0
    trigger_s: float = 1800.0
    """Length of the dependency outage starting at ``trigger_at_s`` (0: none)."""
    outages: tuple[tuple[float, float], ...] | None = None
    """Explicit outage windows (start, end); replaces trigger_at_s/trigger_s (an incident
    replay's regional empty windows)."""
    recover_fraction: float = 0.99
    """The fleet counts as recovered once this share of droplets holds a live lease again."""
    metastable_after_s: float = 1800.0
    """Still below ``recover_fraction`` this long after the dependency is back: metastable."""
    presets: tuple[str, ...] = field(default=("all",))

    @property
    def windows(self) -> tuple[tuple[float, float], ...]:
        if self.outages is not None:
            return self.outages
        if self.trigger_s == 0:
            return ()
        return ((self.trigger_at_s, self.trigger_at_s + self.trigger_s),)

    @property
    def dependency_back_s(self) -> float:
        """When the last outage ends (0 without one)."""
        return max((end for _, end in self.windows), default=0.0)

    def replace(self, **changes: object) -> CollapseConfig:
        return validate(dataclasses.replace(self, **changes))  # type: ignore[arg-type]


def _positive(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise CollapseError(f"{name}: must be a number > 0, got {value!r}")


def _non_negative(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise CollapseError(f"{name}: must be a number >= 0, got {value!r}")


def validate(c: CollapseConfig) -> CollapseConfig:
    """Check every field; the first bad one raises ``CollapseError`` naming it."""
    for name in ("droplets", "managers"):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CollapseError(f"{name}: must be an integer >= 1, got {v!r}")
    if c.managers > c.droplets:
        raise CollapseError(f"managers: {c.managers} managers for {c.droplets} droplets")
    if isinstance(c.seed, bool) or not isinstance(c.seed, int) or c.seed < 0:
        raise CollapseError(f"seed: must be an integer >= 0, got {c.seed!r}")
    for name in ("horizon_s", "step_s", "sample_s", "check_period_s", "lease_ttl_s"):
        _positive(getattr(c, name), name)
    for name in ("establish_cost", "failure_cost"):
        _positive(getattr(c, name), name)
    _non_negative(c.load_cost, "load_cost")
    _non_negative(c.trigger_at_s, "trigger_at_s")
    _non_negative(c.trigger_s, "trigger_s")
    _non_negative(c.metastable_after_s, "metastable_after_s")
    if c.deadline_s is not None:
        _positive(c.deadline_s, "deadline_s")
    if not (isinstance(c.utilisation, int | float) and 0 < c.utilisation < 10):
        raise CollapseError(f"utilisation: must be in (0, 10), got {c.utilisation!r}")
    if not (isinstance(c.recover_fraction, int | float) and 0 < c.recover_fraction <= 1):
        raise CollapseError(f"recover_fraction: must be in (0, 1], got {c.recover_fraction!r}")
    if c.sample_s < c.step_s:
        raise CollapseError(f"sample_s: must be >= step_s ({c.step_s}), got {c.sample_s}")
    if c.outages is not None:
        for start, end in c.outages:
            if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= end):
                raise CollapseError(f"outages: bad window ({start}, {end})")
    return c


_FIELDS = {f.name for f in dataclasses.fields(CollapseConfig)} - {"outages"}


def config_from_mapping(table: Mapping[str, object], base: CollapseConfig) -> CollapseConfig:
    """A ``[collapse]`` TOML table over ``base``: unknown keys and bad values name the key."""
    changes: dict[str, object] = {}
    for key, value in table.items():
        if key not in _FIELDS:
            raise CollapseError(f"collapse.{key}: unknown key")
        if key == "presets":
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise CollapseError("collapse.presets: must be a list of preset names")
            resolve_presets(",".join(value), "collapse.presets")
            value = tuple(value)
        if key == "deadline_s" and value == "none":
            value = None
        if isinstance(value, int) and not isinstance(value, bool):
            kind = type(getattr(base, key))
            value = float(value) if kind is float else value
        changes[key] = value
    try:
        return validate(dataclasses.replace(base, **changes))  # type: ignore[arg-type]
    except CollapseError as exc:
        raise CollapseError(f"collapse.{exc}") from None
