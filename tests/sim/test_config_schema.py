"""The configuration schema (dnsrace.config): bounds, unknown keys, hostile values, JSON Schema.

Whatever a scenario document or a ``[collapse]`` table holds, validation answers with a
config within every bound or with one ScenarioError line naming the field, never with another
exception; each bound of the schema is enforced; the documented table is the schema's.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
import typing
from pathlib import Path
from typing import Any

import annotated_types as at
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_doc import set_dotted

from dnsrace.collapse.config import CollapseConfig, CollapseError, config_from_mapping
from dnsrace.config import (
    ScenarioError,
    bounds_doc,
    check_field,
    field_bounds,
    json_schema,
    limits,
    option_value,
)
from dnsrace.schema.fields import _unwrap, field_type, leaf_paths
from dnsrace.sim.scenario import (
    Scenario,
    apply_overrides,
    load_scenario,
    parse_override,
    parse_scenario,
    scenario_to_dict,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
SPIN: dict[str, Any] = tomllib.loads((SCENARIOS / "spin.toml").read_text())
INCIDENT: dict[str, Any] = tomllib.loads((SCENARIOS / "incident.toml").read_text())
SCENARIO_LEAVES = list(leaf_paths(Scenario))
COLLAPSE_LEAVES = [(p, t) for p, t in leaf_paths(CollapseConfig) if p != "outages"]


def deep(depth: int, leaf: Any = 1) -> Any:
    """Lists nested ``depth`` deep, built without recursion."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def assert_one_line(exc: ScenarioError) -> None:
    text = str(exc)
    assert "\n" not in text and text.isprintable(), text
    assert len(text) < 600, text
    if exc.field:
        assert text.startswith(exc.field + ": "), text


def _bounds(cls: Any, path: str) -> tuple[Any, Any, bool, bool]:
    """(low, high, low exclusive, high exclusive) from the field's annotation."""
    _, meta = _unwrap(field_type(cls, path))
    low = high = None
    low_open = high_open = False
    for m in meta:
        if isinstance(m, at.Ge):
            low = m.ge
        if isinstance(m, at.Gt):
            low, low_open = m.gt, True
        if isinstance(m, at.Le):
            high = m.le
        if isinstance(m, at.Lt):
            high, high_open = m.lt, True
    return low, high, low_open, high_open


def assert_within_bounds(obj: Any, cls: Any) -> None:
    """Every numeric leaf of a validated config lies within its field's bounds."""
    for path, _tp in leaf_paths(cls):
        value: Any = obj
        for part in path.split("."):
            value = getattr(value, part)
        items = value if isinstance(value, tuple) else (value,)
        for i, item in enumerate(items):
            if item is None or isinstance(item, (bool | str, tuple)):
                continue
            where = f"{path}[{i}]" if isinstance(value, tuple) else path
            if dataclasses.is_dataclass(item):
                continue
            assert isinstance(item, int | float) and math.isfinite(item), (where, item)
            low, high, low_open, high_open = _bounds(cls, where)
            if low is not None:
                assert item > low if low_open else item >= low, (where, item)
            if high is not None:
                assert item < high if high_open else item <= high, (where, item)


# ------------------------------------------------------------------------------ examples


def test_a_400_digit_integer_in_a_float_field(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("duration_s = " + "9" * 400 + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "duration_s"
    assert "integer of 400 digits" in str(info.value)
    assert_one_line(info.value)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "+nan"])
def test_nan_and_infinities_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"[enactors]\npass_s = {text}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "enactors.pass_s" and "finite" in str(info.value)
    assert_one_line(info.value)


@pytest.mark.parametrize("doc", [b"5", b"true", b'"x"', b"[1, 2]", b"null"])
def test_a_json_scenario_that_is_not_an_object(doc: bytes) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(orjson.loads(doc))
    assert info.value.field == "" and "must be a table" in str(info.value)
    assert_one_line(info.value)


@pytest.mark.parametrize("depth", [33, 3000, 100_000])
def test_deep_nesting_is_refused_without_recursion(depth: int) -> None:
    for doc in ({"name": deep(depth)}, {"faults": {"crashes": {"at_s": deep(depth)}}}):
        with pytest.raises(ScenarioError) as info:
            parse_scenario(doc)
        assert "nested deeper than 32" in str(info.value)
        assert_one_line(info.value)
        with pytest.raises(ScenarioError):
            apply_overrides(doc, {"seed": 2})


def test_deep_nesting_through_the_loader(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("name = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value)


def test_32_levels_are_fine_but_not_33() -> None:
    # Depth counts the document itself: the scenario table holds 31 more levels.
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": deep(32)})
    assert "nested deeper" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": deep(31)})
    assert info.value.field == "name" and "must be text" in str(info.value)


@pytest.mark.parametrize(
    "text", ['seed=1\nname="x"', "seed=1\n[endpoints]\ncount=3", 'seed=1\r\nname="x"']
)
def test_set_with_a_second_line_is_refused_not_dropped(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_override(text)
    assert info.value.field == "seed" and "one value per --set" in str(info.value)
    assert_one_line(info.value)


def test_set_values_spanning_lines_stay_one_value() -> None:
    assert parse_override("faults.crashes.at_s=[1.0,\n 2.0]") == ("faults.crashes.at_s", [1.0, 2.0])


@pytest.mark.parametrize("text", ["seed\nname=1", "a b=1", "see\x1bd=1", "é=1"])
def test_set_keys_are_bare_dotted_keys(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_override(text)
    assert info.value.field == "--set"
    assert_one_line(info.value)


def test_set_deep_nesting_is_refused_before_tomllib() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_override("name=" + "[" * 3000 + "]" * 3000)
    assert info.value.field == "name" and "nested deeper" in str(info.value)
    # Brackets inside strings are text, not nesting.
    assert parse_override('name="' + "[" * 100 + '"') == ("name", "[" * 100)


def test_set_overrides_meet_the_same_schema() -> None:
    for text, field in [
        ("endpoints.count=" + "9" * 400, "endpoints.count"),
        ("duration_s=nan", "duration_s"),
        ("enactors.coutn=3", "enactors.coutn"),
        ("seed=1.5", "seed"),
    ]:
        key, value = parse_override(text)
        with pytest.raises(ScenarioError) as info:
            parse_scenario(apply_overrides(SPIN, {key: value}))
        assert info.value.field == field
        assert_one_line(info.value)


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        ({"horizon_s": 1e21}, "collapse.horizon_s", "must be <= 604800"),
        ({"step_s": 1e-9}, "collapse.step_s", "must be >= 0.001"),
        ({"step_s": 0.001}, "collapse.step_s", "21,600,000 steps (at most 1,000,000)"),
        ({"step_s": 0.01, "sample_s": 0.01}, "collapse.step_s", "steps (at most"),
        ({"step_s": 1.0, "sample_s": 1.0}, "collapse.sample_s", "reads (at most"),
        (
            {"step_s": 0.1, "sample_s": 0.1, "droplets": 1000, "managers": 1},
            "collapse.sample_s",
            "216,000 samples (at most 100,000)",
        ),
        ({"step_s": 0.5, "managers": 1000}, "collapse.managers", "manager steps"),
        ({"check_period_s": 1.0}, "collapse.check_period_s", "lease checks"),
        ({"managers": 10, "droplets": 5}, "collapse.managers", "10 managers for 5 droplets"),
        ({"horizon_s": float("inf")}, "collapse.horizon_s", "finite"),
        ({"droplets": 10**400}, "collapse.droplets", "must be <= 10000000"),
        ({"stpe_s": 1.0}, "collapse.stpe_s", "did you mean 'step_s'"),
        ({"outages": [[0, 1]]}, "collapse.outages", "unknown field"),
        ({"presets": ["throttle", "nope"]}, "collapse.presets", "unknown preset 'nope'"),
        ({"deadline_s": "never"}, "collapse.deadline_s", "must be a number"),
    ],
)
def test_collapse_tables_are_bounded(table: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(CollapseError) as info:
        config_from_mapping(table, CollapseConfig())
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)
    assert_one_line(info.value)


def test_collapse_configs_built_in_code_are_checked_too() -> None:
    with pytest.raises(CollapseError) as info:
        CollapseConfig().replace(horizon_s=1e21)
    assert info.value.field == "horizon_s"
    with pytest.raises(CollapseError) as info:
        CollapseConfig(step_s=0.001)
    assert info.value.field == "step_s"
    assert isinstance(info.value, ScenarioError)
    c = config_from_mapping(
        {"deadline_s": "none", "presets": "throttle", "droplets": 50}, CollapseConfig()
    )
    assert (c.deadline_s, c.presets, c.droplets) == (None, ("throttle",), 50)
    assert CollapseConfig(horizon_s=100).horizon_s == 100.0  # integers become floats


def test_collapse_cli_horizon_1e21_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("numpy")
    from dnsrace.app.cli import main

    code = main(["collapse", "--horizon-s", "1e21", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "horizon_s" in err[0] and "604800" in err[0], err


def test_run_with_a_tiny_collapse_step_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("numpy")
    from dnsrace.app.cli import main

    path = tmp_path / "s.toml"
    path.write_text((SCENARIOS / "spin.toml").read_text() + "\n[collapse]\nstep_s = 0.001\n")
    code = main(["run", str(path), "--quiet", "--discipline", "cas"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "collapse.step_s" in err[0], err


# ------------------------------------------------------------------------------ unknown keys


@pytest.mark.parametrize(
    ("doc", "field", "suggestion"),
    [
        ({"durations": 3}, "durations", "duration_s"),
        ({"endpoints": {"coutn": 3}}, "endpoints.coutn", "count"),
        ({"enactors": {"lease_ttl": 3}}, "enactors.lease_ttl", "lease_ttl_s"),
        ({"faults": {"pause": {}}}, "faults.pause", "pauses"),
        ({"planner": {"bursts": [{"plan": 3}]}}, "planner.bursts[0].plan", "plans"),
        (
            {"disciplines": {"custom": [{"name": "x", "gaurd": "none"}]}},
            "disciplines.custom[0].gaurd",
            "guard",
        ),
    ],
)
def test_unknown_keys_suggest_the_nearest_name(
    doc: dict[str, Any], field: str, suggestion: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(doc)
    assert info.value.field == field
    assert f"did you mean {suggestion!r}?" in str(info.value)
    assert_one_line(info.value)


def test_unknown_keys_far_from_any_name_list_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"clients": {"zzzzzz": 1}})
    assert "did you mean" not in str(info.value)
    assert "(known: probe_interval_s, sample, sweep_s)" in str(info.value)


def test_hostile_keys_are_shown_escaped() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"endpoints": {"\x1b[31mred\u202e": 1}})
    assert info.value.field == "endpoints.'\\x1b[31mred\\u202e'"
    assert_one_line(info.value)


# ------------------------------------------------------------------------------ every bound


def _numeric(cls: Any, leaves: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(field path, the path of its first bounded number): tuples give their first item."""
    out = []
    for path, tp in leaves:
        bare, _ = _unwrap(tp)
        target = f"{path}[0]" if typing.get_origin(bare) is tuple else path
        try:
            low, high = field_bounds("scenario" if cls is Scenario else "collapse", target)
        except KeyError:
            continue
        if low is not None or high is not None:
            out.append((path, target))
    return out


BOUNDED = [("scenario", p, t) for p, t in _numeric(Scenario, SCENARIO_LEAVES)] + [
    ("collapse", p, t) for p, t in _numeric(CollapseConfig, COLLAPSE_LEAVES)
]


def _past(value: float, is_int: bool, up: bool) -> float:
    if is_int:
        return value + 1 if up else value - 1
    step = max(abs(value) * 1e-3, 1e-6)
    return value + step if up else value - step


def test_every_numeric_field_is_bounded_above() -> None:
    # Every duration, step and count has an upper bound (issue 17, section 3).
    unbounded = [t for k, _, t in BOUNDED if field_bounds(k, t)[1] is None]  # type: ignore[arg-type]
    assert not unbounded
    kinds = {(k, p) for k, p, _ in BOUNDED}
    for _cls, kind, leaves in (
        (Scenario, "scenario", SCENARIO_LEAVES),
        (CollapseConfig, "collapse", COLLAPSE_LEAVES),
    ):
        for path, tp in leaves:
            bare, _ = _unwrap(tp)
            inner = typing.get_args(bare)[0] if typing.get_origin(bare) is tuple else bare
            if _unwrap(inner)[0] in (int, float):
                assert (kind, path) in kinds, path


@pytest.mark.parametrize(
    ("kind", "path", "target"), BOUNDED, ids=[f"{k}:{t}" for k, _, t in BOUNDED]
)
def test_each_bound_is_enforced(kind: str, path: str, target: str) -> None:
    cls = Scenario if kind == "scenario" else CollapseConfig
    low, high, low_open, high_open = _bounds(cls, target)
    is_int = _unwrap(field_type(cls, target))[0] is int
    base = SPIN if kind == "scenario" else {}
    for bound, is_open, up in ((low, low_open, False), (high, high_open, True)):
        if bound is None:
            continue
        bad = bound if is_open else _past(bound, is_int, up)
        value: Any = bad
        if target != path:  # a [low, high] pair: both items out of bounds keep the order
            value = [bad, bad]
        # The field alone (what a command-line option gets) ...
        with pytest.raises(ScenarioError) as info:
            check_field(kind, target, bad)  # type: ignore[arg-type]
        assert info.value.field == target
        # ... and in a whole document (a file, --set or a [collapse] table).
        doc = apply_overrides(base, {path: value})
        with pytest.raises(ScenarioError) as info:
            if kind == "scenario":
                parse_scenario(doc)
            else:
                config_from_mapping(doc, CollapseConfig())
        expected = target if kind == "scenario" else f"collapse.{target}"
        assert info.value.field == expected, str(info.value)
        assert_one_line(info.value)
        # The bound itself passes the field's own rule.
        if not is_open:
            assert check_field(kind, target, bound) == bound  # type: ignore[arg-type]


def test_field_bounds_for_command_line_options() -> None:
    assert field_bounds("collapse", "horizon_s") == (0, limits.MAX_SECONDS)
    assert field_bounds("scenario", "endpoints.count") == (0, limits.MAX_ENDPOINTS)
    assert field_bounds("scenario", "planner.bursts[0].plans") == (1, limits.MAX_PLANS)
    assert field_bounds("scenario", "name") == (None, None)
    with pytest.raises(KeyError):
        field_bounds("scenario", "endpoints.nope")
    assert check_field("collapse", "horizon_s", 10) == 10.0
    with pytest.raises(ScenarioError) as info:
        check_field("collapse", "horizon_s", 1e21, name="--horizon-s")
    assert str(info.value) == "--horizon-s: must be <= 604800, got 1e+21"


def test_scenario_work_bounds() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"duration_s": 604_800, "planner": {"interval_s": 0.001}})
    assert info.value.field == "planner.interval_s" and "plans" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"duration_s": 604_800, "clients": {"probe_interval_s": 0.1}})
    assert info.value.field == "clients.probe_interval_s"


# ------------------------------------------------------------------------------ property


HOSTILE = st.sampled_from(
    [
        10**400,
        -(10**400),
        2**64,
        2**63,
        -1,
        -(2**63) - 1,
        0,
        1,
        0.0,
        -0.0,
        1e-300,
        -1e-9,
        1e300,
        math.nan,
        math.inf,
        -math.inf,
        True,
        False,
        None,
        "",
        "3",
        "nan",
        "x" * 5000,
        "\x1b[31m\u202e",
        [],
        [1, 2, 3],
        [1.0, math.nan],
        {},
        {"a": 1},
        {"count": 1},
    ]
)
DEEP = st.integers(1, 3000).map(deep)
LONG = st.sampled_from([[0.5] * 10_001, ["A"] * 10_001, list(range(20_000))])
VALUES = st.one_of(HOSTILE, DEEP, LONG, st.integers(), st.floats(), st.text(max_size=8))


def _paths(doc: dict[str, Any], leaves: list[tuple[str, Any]]) -> list[str]:
    tables = sorted({p.rsplit(".", 1)[0] for p, _ in leaves if "." in p})
    return [p for p, _ in leaves] + tables


@st.composite
def mutations(
    draw: st.DrawFn, base: dict[str, Any], leaves: list[tuple[str, Any]]
) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc, leaves)))
        if draw(st.integers(0, 5)) == 0:  # an unknown key somewhere
            path = draw(st.sampled_from([path + "x", path.rsplit(".", 1)[0] + ".bogus", "zz"]))
        value = draw(VALUES)
        if draw(st.integers(0, 7)) == 0:  # an item of an array instead of the field
            value = [value, value]
        set_dotted(doc, path, value)
    return doc


PROPERTY = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(doc=st.one_of(mutations(SPIN, SCENARIO_LEAVES), mutations(INCIDENT, SCENARIO_LEAVES)))
def test_any_mutated_scenario_is_valid_within_bounds_or_one_error(doc: dict[str, Any]) -> None:
    try:
        scenario = parse_scenario(doc)
    except ScenarioError as exc:
        assert_one_line(exc)
        return
    assert_within_bounds(scenario, Scenario)
    assert parse_scenario(scenario_to_dict(scenario)) == scenario


@PROPERTY
@given(doc=mutations({}, COLLAPSE_LEAVES))
def test_any_mutated_collapse_table_is_valid_within_bounds_or_one_error(
    doc: dict[str, Any],
) -> None:
    try:
        config = config_from_mapping(doc, CollapseConfig())
    except ScenarioError as exc:
        assert isinstance(exc, CollapseError)
        assert exc.field.startswith("collapse")
        assert_one_line(exc)
        return
    assert_within_bounds(config, CollapseConfig)
    assert config.horizon_s / config.step_s <= limits.MAX_COLLAPSE_STEPS
    assert config.horizon_s / config.sample_s <= limits.MAX_SAMPLES


@PROPERTY
@given(
    key=st.sampled_from([p for p, _ in SCENARIO_LEAVES] + ["bogus", "endpoints.x"]),
    raw=st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            ["9" * 400, "nan", "-inf", "1e400", "[" * 2000 + "]" * 2000, '1\nname="x"', "{a=1}"]
        ),
    ),
)
def test_any_set_override_is_applied_or_one_error(key: str, raw: str) -> None:
    try:
        k, v = parse_override(f"{key}={raw}")
        scenario = parse_scenario(apply_overrides(SPIN, {k: v}))
    except ScenarioError as exc:
        assert_one_line(exc)
        return
    assert_within_bounds(scenario, Scenario)


# ------------------------------------------------------------------------------ JSON Schema


def _objects(node: Any) -> list[dict[str, Any]]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if n.get("type") == "object":
                out.append(n)
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return out


def test_json_schema_of_scenario_files() -> None:
    schema = json_schema("scenario")
    assert schema["$schema"].startswith("https://json-schema.org/")
    orjson.dumps(schema)  # plain JSON
    assert {f.name for f in dataclasses.fields(Scenario)} | {"collapse"} == set(
        schema["properties"]
    )
    # Every table refuses unknown keys, as the validator does.
    assert all(o.get("additionalProperties") is False for o in _objects(schema))
    duration = schema["properties"]["duration_s"]
    assert duration["exclusiveMinimum"] == 0 and duration["maximum"] == limits.MAX_SECONDS
    assert "collapse" in schema["properties"] and "CollapseTable" in schema["$defs"]


def test_json_schema_of_collapse_tables() -> None:
    schema = json_schema("collapse")
    props = schema["properties"]
    assert "outages" not in props and props["trigger_from"]["enum"] == ["outage", "replay"]
    assert props["horizon_s"]["maximum"] == limits.MAX_SECONDS
    assert {"const": "none"} in props["deadline_s"]["anyOf"]
    assert schema["additionalProperties"] is False


def test_bounds_page_is_generated_from_the_schema() -> None:
    page = (ROOT / "docs" / "reference" / "bounds.md").read_text()
    assert bounds_doc.rewrite(page) == page, (
        "docs/reference/bounds.md is out of date: "
        "python -m dnsrace.config.bounds_doc docs/reference/bounds.md"
    )
    # Each enforced number appears in it.
    for value in (limits.MAX_ENDPOINTS, limits.MAX_COLLAPSE_STEPS, limits.MAX_DROPLETS):
        assert f"{value:,}" in page


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("horizon_s", "3600", 3600.0),
        ("horizon_s", "1e3", 1000.0),
        ("droplets", "1_000", 1000),
        ("horizon_s", "1e21", "--opt: must be <= 604800, got 1e+21"),
        ("horizon_s", "nan", "--opt: must be finite, got nan"),
        ("horizon_s", "1e", "--opt: must be a number, got '1e'"),
        ("droplets", "1.5", "--opt: must be an integer, got 1.5"),
        ("droplets", "9" * 400, "--opt: must be <= 10000000, got an integer of 400 digits"),
        ("step_s", "1\nseed=2", "--opt: must be one number, got '1\\nseed=2'"),
    ],
)
def test_option_values_meet_the_field_rules(path: str, text: str, expected: Any) -> None:
    if isinstance(expected, str):
        with pytest.raises(ScenarioError) as info:
            option_value("collapse", path, text, name="--opt")
        assert str(info.value) == expected
    else:
        value = option_value("collapse", path, text, name="--opt")
        assert value == expected and type(value) is type(expected)


def test_unknown_presets_suggest_the_nearest_name() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"disciplines": {"presets": ["cas", "fencd"]}})
    assert info.value.field == "disciplines.presets[1]"
    assert "did you mean 'fenced'?" in str(info.value)
    with pytest.raises(CollapseError) as info:
        config_from_mapping({"presets": ["throtle"]}, CollapseConfig())
    assert info.value.field == "collapse.presets" and "did you mean 'throttle'?" in str(info.value)
