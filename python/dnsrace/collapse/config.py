"""Knobs of the lease manager model and of its recovery disciplines, with named presets.

Times are simulated seconds. Work is measured in *renewal units*: one lease renewal of an idle
host costs one unit. A manager's capacity is set through ``utilisation``: the share of its
capacity that the steady stream of renewals of its droplets takes (one check per droplet every
``check_period_s``), so the same knobs behave the same at 2,000 or 1,000,000 droplets.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt, MaxLen

from dnsrace.schema.errors import ScenarioError
from dnsrace.schema.fields import CONFIG, Float, Int, Str, show, validating
from dnsrace.schema.fields import validate as validate_schema
from dnsrace.schema.limits import (
    MAX_COLLAPSE_STEPS,
    MAX_DROPLET_SAMPLES,
    MAX_DROPLETS,
    MAX_LEASE_CHECKS,
    MAX_LIST,
    MAX_MANAGER_STEPS,
    MAX_MANAGERS,
    MAX_NAME_CHARS,
    MAX_SAMPLES,
    MAX_SECONDS,
    MAX_SEED,
    MIN_STEP_S,
)

__all__ = [
    "PRESETS",
    "TRIGGER_FROM",
    "CollapseConfig",
    "CollapseError",
    "Recovery",
    "config_from_mapping",
    "resolve_presets",
    "validate",
]

Order = Literal["fifo", "lifo"]
Retry = Literal["immediate", "backoff", "off"]
Restart = Literal["none", "scheduled", "alarm"]

TRIGGER_FROM = ("outage", "replay")
"""A ``[collapse]`` table's ``trigger_from``: its own outage, or phase 1's empty windows."""

Seconds = Annotated[Float, Ge(0), Le(MAX_SECONDS)]
PositiveSeconds = Annotated[Float, Gt(0), Le(MAX_SECONDS)]
StepSeconds = Annotated[Float, Ge(MIN_STEP_S), Le(MAX_SECONDS)]
Cost = Annotated[Float, Gt(0), Le(1000)]
# Replay windows come from a phase-1 run of up to duration_s + drain_s (two weeks at most).
WindowEdge = Annotated[Float, Ge(0), Le(2 * MAX_SECONDS)]


class CollapseError(ScenarioError):
    """Bad input for the collapse model; ``field`` names the field (``horizon_s``,
    ``collapse.step_s`` for a ``[collapse]`` table)."""


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
        raise CollapseError(what, "empty")
    if names == ["all"]:
        return tuple(PRESETS.values())
    out = []
    for n in names:
        if n not in PRESETS:
            close = difflib.get_close_matches(n, [*PRESETS, "all"], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise CollapseError(
                what, f"unknown preset {show(n)}; {hint}(known: {', '.join(PRESETS)}, all)"
            )
        out.append(PRESETS[n])
    return tuple(out)


@dataclass(frozen=True)
class CollapseConfig:
    """The fleet, the managers, the dependency outage and the run's length."""

    __pydantic_config__ = CONFIG

    droplets: Annotated[Int, Ge(1), Le(MAX_DROPLETS)] = 1_000_000
    """Droplets (physical hosts), each holding a lease."""
    managers: Annotated[Int, Ge(1), Le(MAX_MANAGERS)] = 32
    """Lease managers (at most one per droplet)."""
    seed: Annotated[Int, Ge(0), Le(MAX_SEED)] = 1
    """Root seed: the same seed gives byte-identical results."""
    horizon_s: PositiveSeconds = 6 * 3600.0
    """Simulated length of the run."""
    step_s: StepSeconds = 10.0
    """Time step of the managers' service loop."""
    sample_s: StepSeconds = 60.0
    """How often the leased fraction is read from the store (the series and the metrics)."""
    check_period_s: StepSeconds = 300.0
    """Every droplet's lease is checked (renewed) once per period, at its own phase."""
    lease_ttl_s: PositiveSeconds = 450.0
    """Time to live of a droplet's lease."""
    utilisation: Annotated[Float, Gt(0), Lt(10)] = 0.5
    """Share of a manager's capacity taken by the steady renewals (the offered load)."""
    establish_cost: Cost = 2.0
    """A re-establishment (the lease had expired) costs this many renewals."""
    failure_cost: Cost = 0.2
    """A check that fails on the unavailable dependency fails fast: this many renewals."""
    load_cost: Annotated[Float, Ge(0), Le(1000)] = 2.0
    """Each item costs ``1 + load_cost * queued / droplets_per_manager`` times its base cost:
    the deeper a host's queue, the slower its work (0: no load dependence)."""
    deadline_s: PositiveSeconds | None = 450.0
    """Work whose result comes back later than this after it was queued is discarded
    (None, or "none" in a table: no deadline)."""
    trigger_at_s: Seconds = 600.0
    """Start of the dependency outage."""
    trigger_s: Seconds = 1800.0
    """Length of the dependency outage starting at ``trigger_at_s`` (0: none)."""
    outages: Annotated[tuple[tuple[WindowEdge, WindowEdge], ...], MaxLen(MAX_LIST)] | None = None
    """Explicit outage windows (start, end); replaces trigger_at_s/trigger_s (an incident
    replay's regional empty windows)."""
    recover_fraction: Annotated[Float, Gt(0), Le(1)] = 0.99
    """The fleet counts as recovered once this share of droplets holds a live lease again."""
    metastable_after_s: Seconds = 1800.0
    """Still below ``recover_fraction`` this long after the dependency is back: metastable."""
    presets: Annotated[tuple[Annotated[Str, MaxLen(MAX_NAME_CHARS)], ...], MaxLen(MAX_LIST)] = (
        field(default=("all",))
    )
    """Recovery presets run by a ``[collapse]`` table (or 'all')."""

    def __post_init__(self) -> None:
        if validating():
            _check_cross_fields(self)
        else:
            # Built in code (CollapseConfig(...), replace): the same schema checks it.
            checked = validate_tables(_as_tables(self))
            for f in dataclasses.fields(self):
                object.__setattr__(self, f.name, getattr(checked, f.name))

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
        """A copy with fields changed (validated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _as_tables(c: CollapseConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(c):
        value = getattr(c, f.name)
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple | list) else v for v in value]
        out[f.name] = value
    return out


def _at_most(field: str, work: float, limit: int, what: str) -> None:
    """Refuse a run whose ``work`` (``what``: how the fields multiply into it) is over its
    bound, naming the field to change."""
    if work > limit:
        raise CollapseError(field, f"{what} (at most {limit:,})")


def _check_cross_fields(c: CollapseConfig) -> None:
    """The rules between fields, including the bounds on the run's work: every count of steps,
    samples and checks that horizon_s and the periods multiply into."""
    if c.managers > c.droplets:
        raise CollapseError("managers", f"{c.managers} managers for {c.droplets} droplets")
    if c.sample_s < c.step_s:
        raise CollapseError("sample_s", f"must be >= step_s ({c.step_s:g}), got {c.sample_s:g}")
    steps = math.ceil(c.horizon_s / c.step_s)
    _at_most(
        "step_s",
        steps,
        MAX_COLLAPSE_STEPS,
        f"horizon_s / step_s = {show(c.horizon_s)} / {show(c.step_s)} gives {steps:,} steps",
    )
    _at_most(
        "managers",
        steps * c.managers,
        MAX_MANAGER_STEPS,
        f"{c.managers:,} managers x {steps:,} steps = {steps * c.managers:,} manager steps",
    )
    samples = math.ceil(c.horizon_s / c.sample_s)
    _at_most(
        "sample_s",
        samples,
        MAX_SAMPLES,
        f"horizon_s / sample_s = {show(c.horizon_s)} / {show(c.sample_s)} gives "
        f"{samples:,} samples",
    )
    _at_most(
        "sample_s",
        samples * c.droplets,
        MAX_DROPLET_SAMPLES,
        f"{c.droplets:,} droplets x {samples:,} samples = {samples * c.droplets:,} lease reads",
    )
    checks = c.droplets * c.horizon_s / c.check_period_s
    _at_most(
        "check_period_s",
        checks,
        MAX_LEASE_CHECKS,
        f"{c.droplets:,} droplets x horizon_s / check_period_s = {checks:,.0f} lease checks",
    )
    for i, (start, end) in enumerate(c.outages or ()):
        if end < start:
            raise CollapseError(
                f"outages[{i}]", f"must be [start, end] with start <= end, got {[start, end]}"
            )
    resolve_presets(",".join(c.presets), "presets")


def validate(c: CollapseConfig) -> CollapseConfig:
    """``c`` checked again by the schema (a config built in code is checked when built)."""
    return validate_tables(_as_tables(c))


def validate_tables(table: Mapping[str, Any], prefix: str = "") -> CollapseConfig:
    """A whole config from tables (every field given or defaulted), or ``CollapseError``."""
    try:
        return validate_schema(CollapseConfig, dict(table), prefix=prefix)
    except CollapseError:
        raise
    except ScenarioError as exc:
        raise CollapseError(exc.field, str(exc).split(": ", 1)[-1]) from None


def config_from_mapping(table: Mapping[str, object], base: CollapseConfig) -> CollapseConfig:
    """A ``[collapse]`` TOML table over ``base``: unknown keys (with the nearest name
    suggested) and bad values name the key (``collapse.step_s: ...``)."""
    if not isinstance(table, Mapping):
        raise CollapseError("collapse", f"must be a table, got {show(table)}")
    changes = dict(table)
    if "outages" in changes:
        raise CollapseError(
            "collapse.outages",
            "unknown field (a table sets trigger_at_s and trigger_s; replay windows come "
            "from phase 1 with trigger_from = 'replay')",
        )
    if changes.get("deadline_s") == "none":
        changes["deadline_s"] = None  # TOML has no null
    if isinstance(changes.get("presets"), str):
        changes["presets"] = [changes["presets"]]
    base_tables = _as_tables(base)
    base_tables.pop("outages")
    return validate_tables({**base_tables, **changes}, prefix="collapse.")
