"""Scenarios: every parameter of a run, as a validated, immutable dataclass tree.

A scenario file is TOML whose tables mirror the dataclasses below (``[endpoints]``,
``[planner]``, ``[[planner.bursts]]``, ``[faults.pauses]``, ...). The dataclasses are the
schema: each field's annotation holds its type and bounds, its docstring its meaning, and
:mod:`dnsrace.config` validates with pydantic from them (also for scenarios built in code).
Unknown keys, wrong types and impossible values are refused with one :class:`ScenarioError`
line naming the field path and the value (``enactors.lease_ttl_s: must be > 0, got 0``);
an unknown key gets the nearest valid name suggested. Omitted keys take the defaults below,
which describe a calm fleet: no faults, no bursts. :func:`incident_scenario` is the 2025
replay. Every bound is in :mod:`dnsrace.schema.limits` and ``docs/reference/bounds.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, MaxLen

from dnsrace.schema.errors import ScenarioError
from dnsrace.schema.fields import (
    CONFIG,
    Bool,
    Float,
    Int,
    Str,
    show,
    validate,
    validating,
)
from dnsrace.schema.limits import (
    MAX_ENDPOINTS,
    MAX_LIST,
    MAX_NAME_CHARS,
    MAX_PLANS,
    MAX_PROBES,
    MAX_SECONDS,
    MAX_SEED,
    MAX_TEXT_CHARS,
    MIN_STEP_S,
)
from dnsrace.schema.tables import (
    apply_overrides,
    as_tables,
    parse_override,
    read_tables,
    renamed_tables,
)
from dnsrace.sim.disciplines import (
    KNOWN,
    Cleanup,
    Discipline,
    DisciplineError,
    Guard,
    Lock,
    OnDangling,
    lookup,
    resolve_names,
)

__all__ = [
    "MAX_ENDPOINTS",
    "MAX_LIST",
    "MAX_NAME_CHARS",
    "MAX_PLANS",
    "MAX_PROBES",
    "MAX_SECONDS",
    "MAX_SEED",
    "MIN_STEP_S",
    "REGIONAL",
    "REGIONAL_ID",
    "BurstConfig",
    "ClientsConfig",
    "CrashesConfig",
    "CustomDiscipline",
    "DisciplinesConfig",
    "EnactorsConfig",
    "EndpointsConfig",
    "FaultsConfig",
    "FleetConfig",
    "MetricsConfig",
    "OperatorConfig",
    "PausesConfig",
    "PlannerConfig",
    "Scenario",
    "ScenarioError",
    "SlowBatchesConfig",
    "SlowEnactorsConfig",
    "apply_overrides",
    "enactor_names",
    "incident_scenario",
    "load_scenario",
    "load_scenario_data",
    "parse_override",
    "parse_scenario",
    "scenario_to_dict",
]

REGIONAL = "dynamodb.us-east-1.amazonaws.com"
"""The regional endpoint's name (the one the public account is about)."""
REGIONAL_ID = 0
"""Its id in every simulated store: it is registered first (reports name it by this id)."""

# The field types of the schema (bounds from dnsrace.schema.limits).
Seconds = Annotated[Float, Ge(0), Le(MAX_SECONDS)]
PositiveSeconds = Annotated[Float, Gt(0), Le(MAX_SECONDS)]
StepSeconds = Annotated[Float, Ge(MIN_STEP_S), Le(MAX_SECONDS)]
Probability = Annotated[Float, Ge(0), Le(1)]
PerMinute = Annotated[Float, Ge(0), Le(600)]
Sigma = Annotated[Float, Ge(0), Le(10)]
TreesKept = Annotated[Int, Ge(0), Le(100)]
Name = Annotated[Str, MaxLen(MAX_NAME_CHARS)]
DnsName = Annotated[Str, MaxLen(MAX_TEXT_CHARS)]
EnactorList = Annotated[tuple[Name, ...], MaxLen(MAX_LIST)]
SecondsRange = tuple[Seconds, Seconds]


@dataclass(frozen=True)
class EndpointsConfig:
    __pydantic_config__ = CONFIG

    count: Annotated[Int, Ge(0), Le(MAX_ENDPOINTS)] = 1000
    """Endpoints besides the regional one."""
    regional: DnsName = REGIONAL
    """The regional endpoint's DNS name."""
    regional_at: Probability = 0.5
    """Where the regional endpoint sits in the enactors' walk (a fraction of the walk)."""
    targets: Annotated[Int, Ge(1), Le(64)] = 4
    """Load balancers (records) per endpoint."""
    groups: Annotated[Int, Ge(1), Le(1_000_000)] = 16
    """Distinct load-balancer groups shared by the other endpoints."""
    domain: DnsName = "lb.us-east-1.example"
    """The DNS domain of the generated endpoints (e1.<domain>, e2.<domain>, ...)."""


@dataclass(frozen=True)
class FleetConfig:
    """The load balancers and the seeded fleet events, per published plan."""

    __pydantic_config__ = CONFIG

    load_balancers: Annotated[Int, Ge(1), Le(100_000)] = 24
    """Load balancers in the fleet (at least endpoints.targets)."""
    ipv6_share: Probability = 0.5
    """Share of load balancers with an IPv6 address."""
    failure_probability: Probability = 0.2
    """Per plan, the chance that a load balancer fails."""
    recovery_probability: Probability = 0.3
    """Per plan, the chance that a failed load balancer recovers."""
    capacity_add_probability: Probability = 0.05
    """Per plan, the chance that capacity is added."""
    traffic_shift_probability: Probability = 0.5
    """Per plan, the chance that weights shift."""


@dataclass(frozen=True)
class BurstConfig:
    __pydantic_config__ = CONFIG

    at_s: Seconds = 0.0
    """When the burst starts."""
    plans: Annotated[Int, Ge(1), Le(MAX_PLANS)] = 10
    """Plans published by the burst."""
    gap_s: Seconds = 0.5
    """Time between two plans of the burst."""


@dataclass(frozen=True)
class PlannerConfig:
    __pydantic_config__ = CONFIG

    interval_s: Seconds = 10.0
    """Time between plans; 0: back to back (needs plans). At least 0.001 unless 0."""
    plans: Annotated[Int, Ge(0), Le(MAX_PLANS)] = 0
    """Stop after this many plans, the initial one included (0: no limit)."""
    bursts: Annotated[tuple[BurstConfig, ...], MaxLen(MAX_LIST)] = ()
    """Scheduled bursts of plans."""
    burst_rate_per_min: PerMinute = 0.0
    """Random bursts (Poisson), per minute."""
    burst_plans: tuple[
        Annotated[Int, Ge(1), Le(MAX_PLANS)], Annotated[Int, Ge(1), Le(MAX_PLANS)]
    ] = (5, 12)
    """[low, high]: plans per random burst, drawn uniformly."""
    burst_gap_s: Seconds = 0.5
    """Time between two plans of a random burst."""


@dataclass(frozen=True)
class EnactorsConfig:
    """How fast the enactors are, in terms that do not depend on the fleet's size.

    One uncontended pass over the fleet writes for ``pass_s`` seconds in ``batches_per_pass``
    batches (so a batch holds ceil(endpoints / batches_per_pass) endpoints and its write takes
    pass_s / batches_per_pass); every other store call (lease, read, release, clean-up listing
    and deletes) takes ``call_latency_s``. The same scenario thus has the same timing at 1,000
    or 500,000 endpoints.
    """

    __pydantic_config__ = CONFIG

    count: Annotated[Int, Ge(1), Le(100)] = 3
    """Enactors (one per availability zone)."""
    pass_s: Seconds = 30.0
    """Write time of one uncontended pass over the fleet."""
    batches_per_pass: Annotated[Int, Ge(1), Le(1_000_000)] = 20
    """Batches one pass is written in."""
    call_latency_s: Annotated[Float, Ge(0), Le(3600)] = 0.02
    """Median of one store round trip."""
    call_latency_sigma: Sigma = 0.0
    """Log-normal spread of each round trip."""
    pickup_jitter_s: Seconds = 0.5
    """Random delay before an enactor picks up a new plan."""
    backoff_base_s: StepSeconds = 0.1
    """First backoff after a lost lock."""
    backoff_max_s: PositiveSeconds = 10.0
    """Longest backoff (at least backoff_base_s)."""
    lease_ttl_s: PositiveSeconds = 5.0
    """Time to live of an enactor's per-endpoint lock lease."""

    def batch_size(self, endpoints: int) -> int:
        return max(1, math.ceil(endpoints / self.batches_per_pass))

    @property
    def pass_time_s(self) -> float:
        """Virtual time of one uncontended pass: writes plus the round trips of every batch."""
        return self.pass_s + self.batches_per_pass * 3 * self.call_latency_s


@dataclass(frozen=True)
class PausesConfig:
    """GC-like stop-the-world pauses, log-normally distributed, striking right before a write."""

    __pydantic_config__ = CONFIG

    enactors: EnactorList = ()
    """Enactors affected (empty: all)."""
    rate_per_min: PerMinute = 0.0
    """Pauses per enactor per minute."""
    median_s: PositiveSeconds = 1.0
    """Median pause."""
    sigma: Sigma = 1.0
    """Log-normal spread of a pause."""
    max_s: PositiveSeconds = 60.0
    """Longest pause (at least median_s)."""


@dataclass(frozen=True)
class CrashesConfig:
    __pydantic_config__ = CONFIG

    enactors: EnactorList = ()
    """Enactors affected (empty: all)."""
    rate_per_min: PerMinute = 0.0
    """Crashes per enactor per minute."""
    at_s: Annotated[tuple[Seconds, ...], MaxLen(MAX_LIST)] = ()
    """Crash times of every affected enactor."""
    restart_s: SecondsRange = (5.0, 20.0)
    """[low, high]: time until a crashed enactor is back, drawn uniformly."""


@dataclass(frozen=True)
class SlowBatchesConfig:
    __pydantic_config__ = CONFIG

    enactors: EnactorList = ()
    """Enactors affected (empty: all)."""
    probability: Probability = 0.0
    """Chance that a batch is slow."""
    factor: tuple[Annotated[Float, Gt(0), Le(1000)], Annotated[Float, Gt(0), Le(1000)]] = (
        2.0,
        10.0,
    )
    """[low, high]: how much slower a slow batch is, drawn uniformly."""


@dataclass(frozen=True)
class SlowEnactorsConfig:
    """Each enactor's store round trips are slower by a factor drawn once per enactor."""

    __pydantic_config__ = CONFIG

    enactors: EnactorList = ()
    """Enactors affected (empty: all)."""
    sigma: Sigma = 0.0
    """Log-normal spread of the per-enactor factor."""


@dataclass(frozen=True)
class FaultsConfig:
    __pydantic_config__ = CONFIG

    pauses: PausesConfig = PausesConfig()
    crashes: CrashesConfig = CrashesConfig()
    slow_batches: SlowBatchesConfig = SlowBatchesConfig()
    slow_enactors: SlowEnactorsConfig = SlowEnactorsConfig()


@dataclass(frozen=True)
class OperatorConfig:
    """The alarm and the people behind it.

    An alarm fires once a probed endpoint (``alarm = "probes"``: any endpoint the clients
    resolve; ``"regional"``: the regional endpoint only, as in the public account) has answered
    empty for a time drawn from ``detect_s``; the operator then turns the automation off (the
    enactors stop at their next step), and after a time drawn from ``repair_s`` puts the newest
    plan back, points every stuck endpoint at it and turns the automation on again.
    """

    __pydantic_config__ = CONFIG

    repair: Bool = True
    """Whether the operator repairs at all."""
    alarm: Literal["probes", "regional"] = "probes"
    """What the alarm watches: every endpoint the clients probe, or the regional one only."""
    detect_s: SecondsRange = (30.0, 90.0)
    """[low, high]: empty answers last this long before the alarm fires."""
    repair_s: SecondsRange = (60.0, 240.0)
    """[low, high]: time from the alarm to the repair."""


@dataclass(frozen=True)
class ClientsConfig:
    __pydantic_config__ = CONFIG

    probe_interval_s: StepSeconds = 1.0
    """Time between two probe rounds of the clients."""
    sample: Annotated[Int, Ge(0), Le(100_000)] = 256
    """Other endpoints resolved besides the regional one."""
    sweep_s: Seconds = 120.0
    """The clients also resolve the rest of the fleet in turn, all of it every sweep_s (0: no
    sweep); an endpoint found empty is then probed every round until it answers again."""


@dataclass(frozen=True)
class MetricsConfig:
    __pydantic_config__ = CONFIG

    current_window_s: Seconds | None = None
    """A plan stays 'current' this long after a newer one is published (default: a pick-up
    wait plus one pass: 2 x the uncontended pass time + the pick-up jitter)."""


@dataclass(frozen=True)
class CustomDiscipline:
    __pydantic_config__ = CONFIG

    name: Annotated[Str, MaxLen(64)] = ""
    """The discipline's name in reports (required, not a preset's)."""
    guard: Guard = "plan_start"
    """The generation check: none, at plan start, under the lock, a fence, or a store CAS."""
    lock: Lock = "lease"
    """The per-endpoint lock: none or a lease (under_lock and fence need a lease)."""
    cleanup: Cleanup = "unsafe_age"
    """Clean-up of old trees: by age, check-then-delete, or one atomic safe step."""
    trees_kept: TreesKept = 3
    """Recent trees clean-up keeps."""
    on_dangling: OnDangling = "stuck"
    """What a refused dangling flip does: the endpoint stays stuck, or is repaired."""


@dataclass(frozen=True)
class DisciplinesConfig:
    __pydantic_config__ = CONFIG

    presets: Annotated[tuple[Name, ...], MaxLen(MAX_LIST)] = ("all",)
    """Preset or ablation names, or 'all'."""
    trees_kept: TreesKept | None = None
    """Overrides every preset's trees_kept."""
    custom: Annotated[tuple[CustomDiscipline, ...], MaxLen(MAX_LIST)] = ()
    """Disciplines built from the four knobs."""


@dataclass(frozen=True)
class Scenario:
    __pydantic_config__ = CONFIG

    name: Name = "custom"
    """The scenario's name in reports."""
    seed: Annotated[Int, Ge(0), Le(MAX_SEED)] = 1
    """Root seed: the same seed gives byte-identical results."""
    clock: Literal["virtual", "real"] = "virtual"
    """The seeded virtual clock, or real time (uvloop)."""
    duration_s: PositiveSeconds = 300.0
    """The planner publishes and faults strike this long."""
    drain_s: Seconds = 300.0
    """Then at most this long to settle."""
    endpoints: EndpointsConfig = EndpointsConfig()
    fleet: FleetConfig = FleetConfig()
    planner: PlannerConfig = PlannerConfig()
    enactors: EnactorsConfig = EnactorsConfig()
    faults: FaultsConfig = FaultsConfig()
    operator: OperatorConfig = OperatorConfig()
    clients: ClientsConfig = ClientsConfig()
    metrics: MetricsConfig = MetricsConfig()
    disciplines: DisciplinesConfig = DisciplinesConfig()

    def __post_init__(self) -> None:
        if validating():
            _check_cross_fields(self)  # the fields were just validated by the schema
        else:
            # Built in code (Scenario(...), dataclasses.replace): the same schema checks it,
            # and the checked values (floats for integers given to float fields) replace these.
            checked = validate(Scenario, scenario_to_dict(self))
            for f in dataclasses.fields(self):
                object.__setattr__(self, f.name, getattr(checked, f.name))

    @property
    def enactor_names(self) -> tuple[str, ...]:
        return enactor_names(self.enactors.count)

    @property
    def total_endpoints(self) -> int:
        return self.endpoints.count + 1

    @property
    def current_window_s(self) -> float:
        """How long a plan stays current after a newer one: what an enactor needs to finish."""
        window = self.metrics.current_window_s
        if window is not None:
            return window
        return 2 * self.enactors.pass_time_s + self.enactors.pickup_jitter_s

    def discipline_list(self) -> list[Discipline]:
        """The disciplines this scenario compares, in report order."""
        cfg = self.disciplines
        out: list[Discipline] = []
        for name in resolve_names(list(cfg.presets), "disciplines.presets"):
            d = lookup(name)
            out.append(d if cfg.trees_kept is None else d.with_trees_kept(cfg.trees_kept))
        for i, c in enumerate(cfg.custom):
            out.append(_custom(c, f"disciplines.custom[{i}]"))
        return out

    def with_seed(self, seed: int) -> Scenario:
        """A copy with another root seed (a seed changes no bound: no re-validation)."""
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ScenarioError("seed", f"must be an integer in 0..{MAX_SEED}, got {show(seed)}")
        clone = object.__new__(Scenario)
        # The fields, one dict copy (every run of an exploration makes one).
        fields = clone.__dict__
        fields.update(self.__dict__)
        fields["seed"] = seed
        return clone

    def replace(self, **changes: Any) -> Scenario:
        """A copy with top-level fields changed (re-validated)."""
        return dataclasses.replace(self, **changes)


@functools.lru_cache(maxsize=64)  # every exploration run reads them: made once per count
def enactor_names(count: int) -> tuple[str, ...]:
    """A, B, C, ... (one per availability zone); E27, E28, ... past Z."""
    return tuple(chr(ord("A") + i) if i < 26 else f"E{i + 1}" for i in range(count))


def _custom(c: CustomDiscipline, path: str) -> Discipline:
    if not c.name:
        raise ScenarioError(f"{path}.name", "a custom discipline needs a non-empty name")
    try:
        return Discipline(
            c.name,
            c.guard,
            c.lock,
            c.cleanup,
            c.trees_kept,
            c.on_dangling,
        )
    except DisciplineError as exc:
        raise ScenarioError(f"{path}.{exc.field}", str(exc).split(": ", 1)[1]) from None


def _check_order(value: tuple[float, float], path: str) -> None:
    """A [low, high] range (each item is bounded by the schema): low <= high."""
    lo, hi = value
    if hi < lo:
        raise ScenarioError(path, f"must be [low, high] with low <= high, got {list(value)}")


def _text(value: float) -> str:
    """A number as the user would write it (ints in full, floats briefly)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_text(value: str, path: str, limit: int = MAX_NAME_CHARS) -> None:
    """Names printed in tables: printable characters only (no control characters, so no
    terminal escape sequences), at most ``limit`` of them."""
    if not value.isprintable():
        raise ScenarioError(path, f"must hold printable characters only, got {show(value)}")
    if len(value) > limit:
        raise ScenarioError(path, f"must be at most {limit} characters, got {len(value)}")


def _check_names(s: Scenario) -> None:
    """Endpoint names must be valid DNS names and distinct from each other."""
    from dnsrace.errors import InvalidName
    from dnsrace.reference import canonical_name

    ep = s.endpoints
    try:
        regional = canonical_name(ep.regional)
    except InvalidName:
        raise ScenarioError(
            "endpoints.regional", f"not a valid DNS name: {show(ep.regional)}"
        ) from None
    try:
        domain = canonical_name(ep.domain)
    except InvalidName:
        raise ScenarioError(
            "endpoints.domain", f"not a valid DNS name: {show(ep.domain)}"
        ) from None
    longest = f"e{max(ep.count, 1)}.{domain}"
    if len(longest) > 253:
        raise ScenarioError(
            "endpoints.domain",
            f"{show(ep.domain)} is too long: the name {longest[:20]}... would pass 253 characters",
        )
    head, dot, tail = regional.partition(".")
    if dot and tail == domain and head[:1] == "e" and head[1:].isdigit():
        index = int(head[1:])
        if head[1:2] != "0" and 1 <= index <= ep.count:
            raise ScenarioError(
                "endpoints.regional",
                f"{show(ep.regional)} is also the name of generated endpoint {index} "
                f"(e1..e{ep.count}.{domain})",
            )


def _check_load(s: Scenario) -> None:
    """Bounds that depend on several fields: plans published and probe rounds per run."""
    p = s.planner
    if 0 < p.interval_s < MIN_STEP_S:
        raise ScenarioError(
            "planner.interval_s",
            f"must be 0 (back to back) or >= {MIN_STEP_S:g}, got {_text(p.interval_s)}",
        )
    plans = p.plans if p.plans else (s.duration_s / p.interval_s if p.interval_s else 0)
    plans += sum(b.plans for b in p.bursts)
    plans += p.burst_rate_per_min * s.duration_s / 60 * p.burst_plans[1]
    if plans > MAX_PLANS:
        where = "planner.interval_s" if not p.plans else "planner.plans"
        raise ScenarioError(
            where,
            f"the planner would publish about {plans:,.0f} plans (at most {MAX_PLANS:,}): "
            f"interval_s={_text(p.interval_s)}, duration_s={_text(s.duration_s)}",
        )
    probes = (s.duration_s + s.drain_s) / s.clients.probe_interval_s
    if probes > MAX_PROBES:
        raise ScenarioError(
            "clients.probe_interval_s",
            f"{_text(s.clients.probe_interval_s)} gives {probes:,.0f} probe rounds over "
            f"duration_s + drain_s (at most {MAX_PROBES:,})",
        )


def _check_cross_fields(s: Scenario) -> None:
    _check_text(s.name, "name")
    _check_names(s)
    _check_load(s)
    if s.fleet.load_balancers < s.endpoints.targets:
        raise ScenarioError(
            "fleet.load_balancers",
            f"must be >= endpoints.targets ({s.endpoints.targets}), got {s.fleet.load_balancers}",
        )
    if s.enactors.backoff_max_s < s.enactors.backoff_base_s:
        raise ScenarioError("enactors.backoff_max_s", "must be >= enactors.backoff_base_s")
    _check_order(s.planner.burst_plans, "planner.burst_plans")
    _check_order(s.faults.crashes.restart_s, "faults.crashes.restart_s")
    _check_order(s.faults.slow_batches.factor, "faults.slow_batches.factor")
    _check_order(s.operator.detect_s, "operator.detect_s")
    _check_order(s.operator.repair_s, "operator.repair_s")
    if s.faults.pauses.max_s < s.faults.pauses.median_s:
        raise ScenarioError("faults.pauses.max_s", "must be >= faults.pauses.median_s")
    if s.planner.interval_s == 0 and s.planner.plans == 0:
        raise ScenarioError(
            "planner.interval_s", "0 (back-to-back plans) needs planner.plans to bound them"
        )
    names = set(enactor_names(s.enactors.count))
    for kind in ("pauses", "crashes", "slow_batches", "slow_enactors"):
        for i, name in enumerate(getattr(s.faults, kind).enactors):
            if name not in names:
                raise ScenarioError(
                    f"faults.{kind}.enactors[{i}]",
                    f"no enactor {show(name)} (there are {s.enactors.count}: "
                    f"{', '.join(enactor_names(min(s.enactors.count, 5)))}...)",
                )
    for i, name in enumerate(s.disciplines.presets):
        if name != "all" and name not in KNOWN:
            close = difflib.get_close_matches(name, [*KNOWN, "all"], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ScenarioError(
                f"disciplines.presets[{i}]",
                f"unknown preset {show(name)}; {hint}(one of {', '.join(KNOWN)} or 'all')",
            )
    seen: set[str] = set()
    for i, c in enumerate(s.disciplines.custom):
        _check_text(c.name, f"disciplines.custom[{i}].name", 64)
        d = _custom(c, f"disciplines.custom[{i}]")
        if d.name in seen or d.name in resolve_names(["all"]):
            raise ScenarioError(f"disciplines.custom[{i}].name", f"duplicate name {show(d.name)}")
        seen.add(d.name)
    if not s.disciplines.presets and not s.disciplines.custom:
        raise ScenarioError("disciplines.presets", "no discipline to run")


# ------------------------------------------------------------------------------ parsing


def parse_scenario(data: Any) -> Scenario:
    """Validate decoded TOML (or JSON) tables into a :class:`Scenario` (one ScenarioError line
    for anything else: a bare number, a wrong type, a value out of bounds, an unknown key)."""
    return validate(Scenario, renamed_tables(data, _RENAMED_TABLES))


_RENAMED_TABLES = {"checker": "metrics"}
"""Old table names still read, with a DeprecationWarning, for one release."""


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The TOML-shaped tables of a scenario (``parse_scenario`` of it gives it back)."""
    return as_tables(scenario)


def load_scenario_data(path: str | Path) -> dict[str, Any]:
    """Read a scenario file's TOML tables (``ScenarioError`` if unreadable or malformed)."""
    return read_tables(path, "scenario")


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file (``ScenarioError`` on any problem)."""
    data = load_scenario_data(path)
    if overrides:
        data = apply_overrides(data, overrides)
    return parse_scenario(data)


def incident_scenario(
    *,
    seed: int = 1,
    endpoints: int = 100_000,
    enactors: int = 3,
    clock: Literal["virtual", "real"] = "virtual",
    presets: tuple[str, ...] = ("all",),
) -> Scenario:
    """The October 2025 replay (kept identical to ``scenarios/incident.toml``).

    The planner publishes a plan every 2 s, with bursts, while one enactor pass over the
    fleet takes about 30 s, so the enactors are always busy and walk the same endpoints in
    the same order: they meet each other's locks, back off, and sometimes one overtakes
    another. Every enactor sees the same kinds of trouble, drawn from distributions: store
    round trips of varying latency, GC-like pauses, slow batches, the odd crash. Nothing
    names an enactor or the regional endpoint; the regional endpoint sits in the middle of
    the walk. The timing is expressed per pass, so the same scenario plays out the same way
    at any fleet size.
    """
    return Scenario(
        name="incident",
        seed=seed,
        clock=clock,
        duration_s=3600.0,
        drain_s=600.0,
        endpoints=EndpointsConfig(count=endpoints),
        planner=PlannerConfig(
            interval_s=2.0,
            burst_rate_per_min=0.5,
            burst_plans=(4, 10),
            burst_gap_s=0.5,
        ),
        enactors=EnactorsConfig(
            count=enactors,
            pass_s=30.0,
            batches_per_pass=20,
            call_latency_s=0.02,
            call_latency_sigma=0.5,
            pickup_jitter_s=0.5,
            backoff_base_s=0.1,
            backoff_max_s=10.0,
            lease_ttl_s=10.0,
        ),
        faults=FaultsConfig(
            pauses=PausesConfig(rate_per_min=1.0, median_s=1.0, sigma=1.2, max_s=60.0),
            crashes=CrashesConfig(rate_per_min=0.05, restart_s=(5.0, 30.0)),
            slow_batches=SlowBatchesConfig(probability=0.02, factor=(2.0, 5.0)),
            slow_enactors=SlowEnactorsConfig(sigma=0.3),
        ),
        operator=OperatorConfig(
            repair=True, alarm="probes", detect_s=(30.0, 90.0), repair_s=(60.0, 240.0)
        ),
        clients=ClientsConfig(probe_interval_s=1.0, sample=256, sweep_s=120.0),
        disciplines=DisciplinesConfig(presets=presets),
    )
