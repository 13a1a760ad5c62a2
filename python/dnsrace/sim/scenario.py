"""Scenarios: every parameter of a run, as a validated, immutable dataclass tree.

A scenario file is TOML whose tables mirror the dataclasses below (``[endpoints]``,
``[planner]``, ``[[planner.bursts]]``, ``[faults.pauses]``, ...). Unknown keys, wrong types and
impossible values are refused with a :class:`ScenarioError` naming the field
(``enactors.lease_ttl_s: must be > 0, got 0``). Omitted keys take the defaults below, which
describe a calm fleet: no faults, no bursts. :func:`incident_scenario` is the 2025 replay.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dnsrace.sim.disciplines import (
    Discipline,
    DisciplineError,
    lookup,
    resolve_names,
)

__all__ = [
    "REGIONAL",
    "REGIONAL_ID",
    "BurstConfig",
    "CheckerConfig",
    "ClientsConfig",
    "CrashesConfig",
    "CustomDiscipline",
    "DisciplinesConfig",
    "EnactorsConfig",
    "EndpointsConfig",
    "FaultsConfig",
    "FleetConfig",
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


# Upper bounds (docs/guide/reliability.md). They keep one run within this 2-core, 24 GiB machine
# and within minutes to hours, and turn a typo (1e12 endpoints, a 1e-9 s interval) into an
# error naming the field instead of a run that exhausts memory or never ends. A simulated
# endpoint costs about 1 KiB in a worker (515 MB peak measured at 500,001 endpoints), and
# `dnsrace run` uses one worker per core: 5M endpoints x 2 workers stay near 11 GB.
MAX_ENDPOINTS = 5_000_000
MAX_SECONDS = 7 * 86_400.0
"""Longest simulated span, timer or delay: one simulated week."""
MAX_PLANS = 100_000
"""Most plans one run may publish (each costs a pass over the fleet's trees)."""
MAX_PROBES = 1_000_000
"""Most client probe rounds one run may make ((duration_s + drain_s) / probe_interval_s)."""
MAX_LIST = 10_000
"""Longest list in a scenario (bursts, crash times, enactor names)."""
MAX_NAME_CHARS = 100
"""Longest scenario or custom discipline name (printed in the table)."""
MAX_SEED = 2**63 - 1
MIN_STEP_S = 0.001
"""Shortest period of a loop that waits between rounds (publishing, probing, backing off): a
shorter one does not advance the virtual clock measurably and the run would never end."""


class ScenarioError(ValueError):
    """A scenario is malformed or impossible; ``field`` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def _num(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    doc: str = "",
) -> Any:
    """A numeric field with bounds checked at parse time."""
    return field(default=default, metadata={"ge": ge, "gt": gt, "le": le, "doc": doc})


@dataclass(frozen=True)
class EndpointsConfig:
    count: int = _num(1000, ge=0, le=MAX_ENDPOINTS, doc="endpoints besides the regional one")
    regional: str = REGIONAL
    regional_at: float = _num(
        0.5, ge=0, le=1, doc="where the regional endpoint sits in the enactors' walk (fraction)"
    )
    targets: int = _num(4, ge=1, le=64, doc="load balancers (records) per endpoint")
    groups: int = _num(
        16, ge=1, le=1_000_000, doc="distinct LB groups shared by the other endpoints"
    )
    domain: str = "lb.us-east-1.example"


@dataclass(frozen=True)
class FleetConfig:
    load_balancers: int = _num(24, ge=1, le=100_000)
    ipv6_share: float = _num(0.5, ge=0, le=1)
    # Per published plan, the chance of each seeded fleet event.
    failure_probability: float = _num(0.2, ge=0, le=1)
    recovery_probability: float = _num(0.3, ge=0, le=1)
    capacity_add_probability: float = _num(0.05, ge=0, le=1)
    traffic_shift_probability: float = _num(0.5, ge=0, le=1)


@dataclass(frozen=True)
class BurstConfig:
    at_s: float = _num(0.0, ge=0, le=MAX_SECONDS)
    plans: int = _num(10, ge=1, le=MAX_PLANS)
    gap_s: float = _num(0.5, ge=0, le=MAX_SECONDS)


@dataclass(frozen=True)
class PlannerConfig:
    interval_s: float = _num(
        10.0, ge=0, le=MAX_SECONDS, doc="0: publish back to back (needs plans)"
    )
    plans: int = _num(
        0,
        ge=0,
        le=MAX_PLANS,
        doc="stop after this many plans, the initial one included (0: none)",
    )
    bursts: tuple[BurstConfig, ...] = ()
    burst_rate_per_min: float = _num(0.0, ge=0, le=600, doc="random bursts (Poisson)")
    burst_plans: tuple[int, int] = (5, 12)
    burst_gap_s: float = _num(0.5, ge=0, le=MAX_SECONDS)


@dataclass(frozen=True)
class EnactorsConfig:
    """How fast the enactors are, in terms that do not depend on the fleet's size.

    One uncontended pass over the fleet writes for ``pass_s`` seconds in ``batches_per_pass``
    batches (so a batch holds ceil(endpoints / batches_per_pass) endpoints and its write takes
    pass_s / batches_per_pass); every other store call (lease, read, release, clean-up listing
    and deletes) takes ``call_latency_s``. The same scenario thus has the same timing at 1,000
    or 500,000 endpoints.
    """

    count: int = _num(3, ge=1, le=100)
    pass_s: float = _num(
        30.0, ge=0, le=MAX_SECONDS, doc="write time of one uncontended pass over the fleet"
    )
    batches_per_pass: int = _num(20, ge=1, le=1_000_000)
    call_latency_s: float = _num(0.02, ge=0, le=3600, doc="median of one store round trip")
    call_latency_sigma: float = _num(0.0, ge=0, le=10, doc="log-normal spread of each round trip")
    pickup_jitter_s: float = _num(0.5, ge=0, le=MAX_SECONDS)
    backoff_base_s: float = _num(0.1, ge=MIN_STEP_S, le=MAX_SECONDS)
    backoff_max_s: float = _num(10.0, gt=0, le=MAX_SECONDS)
    lease_ttl_s: float = _num(5.0, gt=0, le=MAX_SECONDS)

    def batch_size(self, endpoints: int) -> int:
        return max(1, math.ceil(endpoints / self.batches_per_pass))

    @property
    def pass_time_s(self) -> float:
        """Virtual time of one uncontended pass: writes plus the round trips of every batch."""
        return self.pass_s + self.batches_per_pass * 3 * self.call_latency_s


@dataclass(frozen=True)
class PausesConfig:
    """GC-like stop-the-world pauses, log-normally distributed, striking right before a write."""

    enactors: tuple[str, ...] = ()
    rate_per_min: float = _num(0.0, ge=0, le=600)
    median_s: float = _num(1.0, gt=0, le=MAX_SECONDS)
    sigma: float = _num(1.0, ge=0, le=10)
    max_s: float = _num(60.0, gt=0, le=MAX_SECONDS)


@dataclass(frozen=True)
class CrashesConfig:
    enactors: tuple[str, ...] = ()
    rate_per_min: float = _num(0.0, ge=0, le=600)
    at_s: tuple[float, ...] = ()
    restart_s: tuple[float, float] = (5.0, 20.0)


@dataclass(frozen=True)
class SlowBatchesConfig:
    enactors: tuple[str, ...] = ()
    probability: float = _num(0.0, ge=0, le=1)
    factor: tuple[float, float] = (2.0, 10.0)


@dataclass(frozen=True)
class SlowEnactorsConfig:
    """Each enactor's store round trips are slower by a factor drawn once per enactor."""

    enactors: tuple[str, ...] = ()
    sigma: float = _num(0.0, ge=0, le=10, doc="log-normal spread of the per-enactor factor")


@dataclass(frozen=True)
class FaultsConfig:
    pauses: PausesConfig = PausesConfig()
    crashes: CrashesConfig = CrashesConfig()
    slow_batches: SlowBatchesConfig = SlowBatchesConfig()
    slow_enactors: SlowEnactorsConfig = SlowEnactorsConfig()


@dataclass(frozen=True)
class OperatorConfig:
    """The alarm and the people behind it.

    An alarm fires once the regional endpoint has answered empty for a time drawn from
    ``detect_s``; the operator then turns the automation off (the enactors stop at their next
    step), and after a time drawn from ``repair_s`` puts the newest plan back, points every
    stuck or empty endpoint at it and turns the automation on again.
    """

    repair: bool = True
    detect_s: tuple[float, float] = (30.0, 90.0)
    repair_s: tuple[float, float] = (60.0, 240.0)


@dataclass(frozen=True)
class ClientsConfig:
    probe_interval_s: float = _num(1.0, ge=MIN_STEP_S, le=MAX_SECONDS)
    sample: int = _num(
        256, ge=0, le=100_000, doc="other endpoints resolved besides the regional one"
    )


@dataclass(frozen=True)
class CheckerConfig:
    current_window_s: float | None = _num(
        None,
        ge=0,
        le=MAX_SECONDS,
        doc="a plan stays 'current' this long after a newer one is published "
        "(default: a pick-up wait plus one pass: 2 x the uncontended pass time + the pick-up "
        "jitter)",
    )


@dataclass(frozen=True)
class CustomDiscipline:
    name: str = ""
    guard: str = "plan_start"
    lock: str = "lease"
    cleanup: str = "unsafe_age"
    trees_kept: int = _num(3, ge=0, le=100)
    on_dangling: str = "stuck"


@dataclass(frozen=True)
class DisciplinesConfig:
    presets: tuple[str, ...] = ("all",)
    trees_kept: int | None = _num(None, ge=0, le=100, doc="overrides every preset's trees_kept")
    custom: tuple[CustomDiscipline, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str = "custom"
    seed: int = _num(1, ge=0, le=MAX_SEED)
    clock: Literal["virtual", "real"] = "virtual"
    duration_s: float = _num(
        300.0, gt=0, le=MAX_SECONDS, doc="the planner publishes and faults strike"
    )
    drain_s: float = _num(300.0, ge=0, le=MAX_SECONDS, doc="then at most this long to settle")
    endpoints: EndpointsConfig = EndpointsConfig()
    fleet: FleetConfig = FleetConfig()
    planner: PlannerConfig = PlannerConfig()
    enactors: EnactorsConfig = EnactorsConfig()
    faults: FaultsConfig = FaultsConfig()
    operator: OperatorConfig = OperatorConfig()
    clients: ClientsConfig = ClientsConfig()
    checker: CheckerConfig = CheckerConfig()
    disciplines: DisciplinesConfig = DisciplinesConfig()

    def __post_init__(self) -> None:
        _check_cross_fields(self)

    @property
    def enactor_names(self) -> list[str]:
        return enactor_names(self.enactors.count)

    @property
    def total_endpoints(self) -> int:
        return self.endpoints.count + 1

    @property
    def current_window_s(self) -> float:
        """How long a plan stays current after a newer one: what an enactor needs to finish."""
        window = self.checker.current_window_s
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
            raise ScenarioError("seed", f"must be an integer in 0..{MAX_SEED}, got {seed!r}")
        clone = object.__new__(Scenario)
        for f in dataclasses.fields(self):
            object.__setattr__(clone, f.name, getattr(self, f.name))
        object.__setattr__(clone, "seed", seed)
        return clone

    def replace(self, **changes: Any) -> Scenario:
        """A copy with top-level fields changed (re-validated)."""
        return dataclasses.replace(self, **changes)


def enactor_names(count: int) -> list[str]:
    """A, B, C, ... (one per availability zone); E27, E28, ... past Z."""
    return [chr(ord("A") + i) if i < 26 else f"E{i + 1}" for i in range(count)]


def _custom(c: CustomDiscipline, path: str) -> Discipline:
    if not c.name:
        raise ScenarioError(f"{path}.name", "a custom discipline needs a non-empty name")
    try:
        return Discipline(
            c.name,
            c.guard,  # type: ignore[arg-type]
            c.lock,  # type: ignore[arg-type]
            c.cleanup,  # type: ignore[arg-type]
            c.trees_kept,
            c.on_dangling,  # type: ignore[arg-type]
        )
    except DisciplineError as exc:
        raise ScenarioError(f"{path}.{exc.field}", str(exc).split(": ", 1)[1]) from None


def _check_range(
    value: tuple[float, float], path: str, *, positive: bool = False, high: float = MAX_SECONDS
) -> None:
    lo, hi = value
    if lo < 0 or (positive and lo <= 0):
        raise ScenarioError(path, f"lower bound must be {'> 0' if positive else '>= 0'}, got {lo}")
    if hi < lo:
        raise ScenarioError(path, f"must be [low, high] with low <= high, got {list(value)}")
    if hi > high:
        raise ScenarioError(path, f"upper bound must be <= {_text(high)}, got {_text(hi)}")


def _text(value: float) -> str:
    """A number as the user would write it (ints in full, floats briefly)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_text(value: str, path: str, limit: int = MAX_NAME_CHARS) -> None:
    """Names printed in tables: printable characters only (no control characters, so no
    terminal escape sequences), at most ``limit`` of them."""
    if not value.isprintable():
        raise ScenarioError(path, f"must hold printable characters only, got {value!r}")
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
            "endpoints.regional", f"not a valid DNS name: {ep.regional!r}"
        ) from None
    try:
        domain = canonical_name(ep.domain)
    except InvalidName:
        raise ScenarioError("endpoints.domain", f"not a valid DNS name: {ep.domain!r}") from None
    longest = f"e{max(ep.count, 1)}.{domain}"
    if len(longest) > 253:
        raise ScenarioError(
            "endpoints.domain",
            f"{ep.domain!r} is too long: the name {longest[:20]}... would exceed 253 characters",
        )
    head, dot, tail = regional.partition(".")
    if dot and tail == domain and head[:1] == "e" and head[1:].isdigit():
        index = int(head[1:])
        if head[1:2] != "0" and 1 <= index <= ep.count:
            raise ScenarioError(
                "endpoints.regional",
                f"{ep.regional!r} is also the name of generated endpoint {index} "
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
    for path, items in [
        ("planner.bursts", p.bursts),
        ("faults.crashes.at_s", s.faults.crashes.at_s),
        ("disciplines.presets", s.disciplines.presets),
        ("disciplines.custom", s.disciplines.custom),
    ]:
        if len(items) > MAX_LIST:
            raise ScenarioError(path, f"at most {MAX_LIST} items, got {len(items)}")


def _check_tree(obj: Any, path: str) -> None:
    """Check the numeric bounds of every field of a config tree, naming the dotted path."""
    for f in dataclasses.fields(obj):
        where = f"{path}.{f.name}" if path else f.name
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _check_tree(value, where)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    _check_tree(item, f"{where}[{i}]")
        else:
            _check_bounds(value, f.metadata, where)


def _check_cross_fields(s: Scenario) -> None:
    _check_tree(s, "")
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
    _check_range(s.planner.burst_plans, "planner.burst_plans", positive=True, high=MAX_PLANS)
    _check_range(s.faults.crashes.restart_s, "faults.crashes.restart_s")
    _check_range(
        s.faults.slow_batches.factor, "faults.slow_batches.factor", positive=True, high=1000
    )
    _check_range(s.operator.detect_s, "operator.detect_s")
    _check_range(s.operator.repair_s, "operator.repair_s")
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
                    f"no enactor {name!r} (there are {s.enactors.count}: "
                    f"{', '.join(enactor_names(min(s.enactors.count, 5)))}...)",
                )
    for i, t in enumerate(s.faults.crashes.at_s):
        if not 0 <= t <= MAX_SECONDS:
            raise ScenarioError(
                f"faults.crashes.at_s[{i}]", f"must be in 0..{MAX_SECONDS:g}, got {_text(t)}"
            )
    try:
        resolve_names(list(s.disciplines.presets), "disciplines.presets")
    except DisciplineError as exc:
        raise ScenarioError(exc.field, str(exc).split(": ", 1)[1]) from None
    seen: set[str] = set()
    for i, c in enumerate(s.disciplines.custom):
        _check_text(c.name, f"disciplines.custom[{i}].name", 64)
        d = _custom(c, f"disciplines.custom[{i}]")
        if d.name in seen or d.name in resolve_names(["all"]):
            raise ScenarioError(f"disciplines.custom[{i}].name", f"duplicate name {d.name!r}")
        seen.add(d.name)
    if not s.disciplines.presets and not s.disciplines.custom:
        raise ScenarioError("disciplines.presets", "no discipline to run")


# ------------------------------------------------------------------------------ parsing


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin is tuple:
        return "array"
    if dataclasses.is_dataclass(tp):
        return "table"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if value is None:
            return None
        return _convert(value, non_none[0], path)
    if origin is Literal:
        if value not in args:
            raise ScenarioError(path, f"must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ScenarioError(path, f"must be an array, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ScenarioError(path, f"must be an array of {len(args)} items, got {len(value)}")
        return tuple(
            _convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ScenarioError(path, f"must be a table, got {type(value).__name__}")
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(path, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(path, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(path, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ScenarioError(path, f"must be finite, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ScenarioError(path, f"must be a string, got {value!r}")
        return value
    raise ScenarioError(path, f"unsupported type {_type_name(tp)}")  # pragma: no cover


def _check_bounds(value: Any, meta: Any, path: str) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    ge, gt, le = meta.get("ge"), meta.get("gt"), meta.get("le")
    if ge is not None and value < ge:
        raise ScenarioError(path, f"must be >= {_text(ge)}, got {_text(value)}")
    if gt is not None and value <= gt:
        raise ScenarioError(path, f"must be > {_text(gt)}, got {_text(value)}")
    if le is not None and value > le:
        raise ScenarioError(path, f"must be <= {_text(le)}, got {_text(value)}")


def _build(cls: Any, data: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            where = f"{path}.{key}" if path else key
            raise ScenarioError(where, f"unknown field (known: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    for name in fields:
        where = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], where)
    return cls(**kwargs)


def parse_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a decoded TOML document into a :class:`Scenario`."""
    try:
        scenario: Scenario = _build(Scenario, data, "")
        return scenario
    except DisciplineError as exc:  # pragma: no cover - converted in _check_cross_fields
        raise ScenarioError(exc.field, str(exc)) from None


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The TOML-shaped tables of a scenario (``parse_scenario`` of it gives it back)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None
            }
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    out: dict[str, Any] = plain(scenario)
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``dotted.key=VALUE`` with VALUE in TOML syntax (``3``, ``0.5``, ``"x"``, ``[1, 2]``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError("--set", f"expected KEY=VALUE (a dotted key), got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            key, f'not a TOML value: {raw.strip()!r} (quote strings: key="text")'
        ) from None
    return key, value


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of scenario tables with dotted keys set (``{"endpoints.count": 0}``)."""
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        table = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = table.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ScenarioError(".".join(parts[: i + 1]), "is not a table")
            table = nxt
        table[parts[-1]] = value
    return out


def load_scenario_data(path: str | Path) -> dict[str, Any]:
    """Read a scenario file's TOML tables (``ScenarioError`` if unreadable or malformed)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError("", f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError("", f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"{p}: malformed TOML: {exc}") from None


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
        operator=OperatorConfig(repair=True, detect_s=(30.0, 90.0), repair_s=(60.0, 240.0)),
        disciplines=DisciplinesConfig(presets=presets),
    )
