"""Scenario files and write disciplines: parsing, validation, presets, round trips, overrides."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import orjson
import pytest

from dnsrace.sim.disciplines import (
    ABLATIONS,
    ALL,
    EXTRA,
    KNOWN,
    PRESETS,
    Discipline,
    DisciplineError,
    lookup,
    resolve_names,
)
from dnsrace.sim.scenario import (
    REGIONAL,
    EnactorsConfig,
    Scenario,
    ScenarioError,
    apply_overrides,
    enactor_names,
    incident_scenario,
    load_scenario,
    parse_override,
    parse_scenario,
    scenario_to_dict,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


# ------------------------------------------------------------------------------ disciplines


def test_presets_match_the_design_table() -> None:
    table = {name: (d.guard, d.lock, d.cleanup, d.on_dangling) for name, d in PRESETS.items()}
    assert table == {
        "lww": ("none", "none", "unsafe_age", "stuck"),
        "aws2025": ("plan_start", "lease", "unsafe_age", "stuck"),
        "lease": ("under_lock", "lease", "unsafe_age", "stuck"),
        "fenced": ("fence", "lease", "safe", "stuck"),
        "cas": ("store_cas", "none", "safe", "stuck"),
    }
    assert PRESETS["cas"].flip_mode == "if_newer"
    assert {d.flip_mode for n, d in PRESETS.items() if n != "cas"} == {"lww"}
    assert PRESETS["fenced"].safe_cleanup and not PRESETS["aws2025"].safe_cleanup
    assert PRESETS["aws2025"].knobs() == {
        "guard": "plan_start",
        "lock": "lease",
        "cleanup": "unsafe_age",
        "trees_kept": 3,
        "on_dangling": "stuck",
    }


def test_ablations_and_extras_change_one_knob_at_a_time() -> None:
    base = PRESETS["aws2025"]
    safe = ABLATIONS["aws2025+safe_cleanup"]
    cas = ABLATIONS["aws2025+safe_cleanup+store_cas"]
    checked = EXTRA["aws2025+checked_cleanup"]
    repair = EXTRA["aws2025+repair_dangling"]
    assert (safe.guard, safe.lock, safe.cleanup) == (base.guard, base.lock, "safe")
    assert (cas.guard, cas.lock, cas.cleanup) == ("store_cas", safe.lock, safe.cleanup)
    assert dataclasses.replace(checked, name=base.name, cleanup=base.cleanup) == base
    assert dataclasses.replace(repair, name=base.name, on_dangling="stuck") == base
    assert checked.cleanup == "checked" and not checked.safe_cleanup
    assert repair.on_dangling == "repair"
    assert (*PRESETS, *ABLATIONS) == ALL


def test_extras_run_by_name_but_not_in_all() -> None:
    assert set(KNOWN) == {*PRESETS, *ABLATIONS, *EXTRA}
    assert not set(EXTRA) & set(ALL)
    assert resolve_names(["all"]) == list(ALL)
    assert resolve_names(["aws2025+checked_cleanup", "cas", "cas"]) == [
        "aws2025+checked_cleanup",
        "cas",
    ]
    assert lookup("aws2025+repair_dangling") is EXTRA["aws2025+repair_dangling"]
    with pytest.raises(DisciplineError) as info:
        resolve_names(["cas", "yolo"], "disciplines.presets")
    assert info.value.field == "disciplines.presets" and "yolo" in str(info.value)
    s = parse_scenario({"disciplines": {"presets": ["aws2025+repair_dangling", "all"]}})
    assert [d.name for d in s.discipline_list()] == ["aws2025+repair_dangling", *ALL]


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"guard": "fence", "lock": "none"}, "guard"),
        ({"guard": "under_lock", "lock": "none"}, "guard"),
        ({"guard": "sometimes"}, "guard"),
        ({"lock": "mutex"}, "lock"),
        ({"cleanup": "never"}, "cleanup"),
        ({"trees_kept": -1}, "trees_kept"),
        ({"trees_kept": True}, "trees_kept"),
        ({"on_dangling": "panic"}, "on_dangling"),
    ],
)
def test_impossible_disciplines_are_refused(knobs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "name": "x",
        "guard": "plan_start",
        "lock": "lease",
        "cleanup": "safe",
        "trees_kept": 3,
        **knobs,
    }
    with pytest.raises(DisciplineError) as info:
        Discipline(**args)  # type: ignore[arg-type]
    assert info.value.field == field


# ------------------------------------------------------------------------------ shipped files


def test_the_shipped_scenarios_are_there() -> None:
    assert {f.name for f in SCENARIOS.glob("*.toml")} >= {
        "incident.toml",
        "scale_500k.toml",
        "scale_real_100k.toml",
        "spin.toml",
    }


@pytest.mark.parametrize("name", sorted(f.name for f in SCENARIOS.glob("*.toml")))
def test_shipped_scenarios_parse_and_round_trip(name: str) -> None:
    s = load_scenario(SCENARIOS / name)
    assert s.discipline_list()
    assert parse_scenario(scenario_to_dict(s)) == s


def test_incident_file_matches_the_incident_command() -> None:
    assert load_scenario(SCENARIOS / "incident.toml") == incident_scenario()


def test_incident_scenario_shape() -> None:
    default = incident_scenario()
    assert default.endpoints.count == 100_000 and default.enactors.count == 3
    assert default.faults.slow_enactors.sigma > 0 and default.operator.repair
    # No fault is aimed at one enactor: every kind applies to all of them.
    for kind in ("pauses", "crashes", "slow_batches", "slow_enactors"):
        assert getattr(default.faults, kind).enactors == (), kind
    s = incident_scenario(seed=5, endpoints=10, enactors=4, presets=("cas",))
    assert s.endpoints.regional == REGIONAL and s.seed == 5
    assert s.total_endpoints == 11
    assert s.enactor_names == ("A", "B", "C", "D")
    assert [d.name for d in s.discipline_list()] == ["cas"]
    assert [d.name for d in default.discipline_list()] == list(ALL)
    # Only the fleet size differs between sizes: the timing is per pass.
    small = incident_scenario(endpoints=1_000)
    big = incident_scenario(endpoints=500_000)
    assert dataclasses.replace(small, endpoints=big.endpoints) == big
    assert small.current_window_s == big.current_window_s


def test_spin_is_the_public_models_configuration() -> None:
    s = load_scenario(SCENARIOS / "spin.toml")
    assert s.total_endpoints == 1 and s.endpoints.count == 0
    assert s.enactors.count == 2
    assert s.planner.plans == 5 and s.planner.interval_s == 0.0
    assert s.disciplines.trees_kept == 2
    assert {d.trees_kept for d in s.discipline_list()} == {2}
    assert not s.operator.repair
    f = s.faults
    assert f.pauses.rate_per_min == 0 and f.crashes.rate_per_min == 0 and not f.crashes.at_s
    assert f.slow_batches.probability == 0 and f.slow_enactors.sigma == 0
    assert s.enactors.call_latency_s == 0 and s.enactors.call_latency_sigma == 0
    names = [d.name for d in s.discipline_list()]
    assert {"aws2025", "aws2025+safe_cleanup", "aws2025+checked_cleanup", "cas", "fenced"} <= set(
        names
    )


# ------------------------------------------------------------------------------ parsing


FULL: dict[str, Any] = {
    "name": "t",
    "seed": 9,
    "clock": "real",
    "duration_s": 10,
    "drain_s": 5,
    "endpoints": {"count": 5, "targets": 2, "groups": 2, "regional_at": 0.25},
    "planner": {
        "interval_s": 1,
        "plans": 7,
        "bursts": [{"at_s": 2.5, "plans": 3, "gap_s": 0.1}],
    },
    "enactors": {
        "count": 2,
        "lease_ttl_s": 0.5,
        "pass_s": 4,
        "batches_per_pass": 3,
        "call_latency_s": 0.01,
        "call_latency_sigma": 0.3,
    },
    "faults": {
        "pauses": {"rate_per_min": 3, "median_s": 0.2, "max_s": 2},
        "crashes": {"at_s": [4.0], "restart_s": [1, 2]},
        "slow_batches": {"probability": 0.5, "factor": [1, 3]},
        "slow_enactors": {"enactors": ["B"], "sigma": 0.4},
    },
    "operator": {"repair": False, "detect_s": [1, 2], "repair_s": [3, 4]},
    "metrics": {"current_window_s": 12},
    "disciplines": {
        "presets": ["cas", "lww"],
        "trees_kept": 1,
        "custom": [
            {
                "name": "mine",
                "guard": "fence",
                "lock": "lease",
                "cleanup": "checked",
                "on_dangling": "repair",
            }
        ],
    },
}


def test_full_scenario_parses_every_field() -> None:
    s = parse_scenario(FULL)
    assert s.clock == "real" and s.duration_s == 10.0 and isinstance(s.duration_s, float)
    assert s.endpoints.regional_at == 0.25
    assert s.planner.plans == 7 and s.planner.bursts[0].plans == 3
    assert (s.enactors.pass_s, s.enactors.batches_per_pass) == (4.0, 3)
    assert s.enactors.call_latency_sigma == 0.3
    assert s.faults.crashes.restart_s == (1.0, 2.0)
    assert s.faults.slow_enactors.enactors == ("B",) and s.faults.slow_enactors.sigma == 0.4
    assert (s.operator.detect_s, s.operator.repair_s) == ((1.0, 2.0), (3.0, 4.0))
    assert s.current_window_s == 12.0
    names = [(d.name, d.trees_kept) for d in s.discipline_list()]
    assert names == [("cas", 1), ("lww", 1), ("mine", 3)]
    mine = s.discipline_list()[-1]
    assert (mine.cleanup, mine.on_dangling) == ("checked", "repair")


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(Scenario(), id="defaults"),
        pytest.param(incident_scenario(seed=4, endpoints=77), id="incident"),
        pytest.param(parse_scenario(FULL), id="full"),
    ],
)
def test_scenario_to_dict_round_trips(scenario: Scenario) -> None:
    data = scenario_to_dict(scenario)
    assert parse_scenario(data) == scenario
    # TOML-shaped: plain tables, arrays and scalars only (JSON-encodable, no None).
    assert orjson.loads(orjson.dumps(data)) == data
    assert "None" not in repr(data)
    # A copy, not a view: editing the tables changes nothing in the scenario.
    data["endpoints"]["count"] += 1
    assert scenario_to_dict(scenario)["endpoints"]["count"] == scenario.endpoints.count


def test_current_window_is_derived_from_the_pass_time() -> None:
    s = Scenario()
    assert s.metrics.current_window_s is None
    e = s.enactors
    assert e.pass_time_s == pytest.approx(e.pass_s + e.batches_per_pass * 3 * e.call_latency_s)
    assert s.current_window_s == pytest.approx(2 * e.pass_time_s + e.pickup_jitter_s)
    assert s.current_window_s > e.pass_s
    bigger = parse_scenario({"endpoints": {"count": 400_000}})
    assert bigger.current_window_s == s.current_window_s  # independent of the fleet's size
    slower = parse_scenario({"enactors": {"pass_s": 90.0}})
    assert slower.current_window_s > s.current_window_s
    assert parse_scenario({"metrics": {"current_window_s": 0}}).current_window_s == 0.0


def test_old_checker_table_still_reads_with_a_deprecation_warning(tmp_path: Path) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"table \[checker\] is deprecated: call it \[metrics\]"
    ):
        old = parse_scenario({"checker": {"current_window_s": 3}})
    assert old == parse_scenario({"metrics": {"current_window_s": 3}})
    # Through a file and a --set override as well.
    path = tmp_path / "old.toml"
    path.write_text("[checker]\ncurrent_window_s = 4\n")
    with pytest.warns(DeprecationWarning):
        assert load_scenario(path).current_window_s == 4.0
    with pytest.warns(DeprecationWarning):
        s = load_scenario(path, {"checker.current_window_s": 5})
    assert s.current_window_s == 5.0
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"checker": {}, "metrics": {}})
    assert info.value.field == "checker"


@pytest.mark.parametrize(
    ("endpoints", "per_pass", "size"),
    [(1, 20, 1), (19, 20, 1), (20, 20, 1), (21, 20, 2), (1_001, 20, 51), (100_001, 20, 5_001)],
)
def test_batch_size_grows_with_the_fleet(endpoints: int, per_pass: int, size: int) -> None:
    cfg = EnactorsConfig(batches_per_pass=per_pass)
    assert cfg.batch_size(endpoints) == size == max(1, math.ceil(endpoints / per_pass))
    assert cfg.batch_size(0) == 1


def test_interval_zero_needs_a_plan_bound() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"planner": {"interval_s": 0}})
    assert info.value.field == "planner.interval_s"
    s = parse_scenario({"planner": {"interval_s": 0, "plans": 3}})
    assert (s.planner.interval_s, s.planner.plans) == (0.0, 3)


BAD: list[tuple[str, str]] = [
    ("nonsense = 1", "nonsense"),
    ("seed = -1", "seed"),
    ("[endpoints]\ncount = -3", "endpoints.count"),
    ("[endpoints]\ncount = 1.5", "endpoints.count"),
    ("[endpoints]\ncount = true", "endpoints.count"),
    ("[endpoints]\nregional_at = 1.5", "endpoints.regional_at"),
    ("[endpoints]\nregional_at = -0.1", "endpoints.regional_at"),
    ("[enactors]\ncount = 0", "enactors.count"),
    ("[enactors]\nlease_ttl_s = 0", "enactors.lease_ttl_s"),
    ("[enactors]\nlease_ttl_s = -1.0", "enactors.lease_ttl_s"),
    ("[enactors]\npass_s = -1.0", "enactors.pass_s"),
    ("[enactors]\nbatches_per_pass = 0", "enactors.batches_per_pass"),
    ("[enactors]\ncall_latency_s = -0.1", "enactors.call_latency_s"),
    ("[enactors]\ncall_latency_sigma = -1", "enactors.call_latency_sigma"),
    ("[enactors]\nbackoff_max_s = 0.01", "enactors.backoff_max_s"),
    # Knobs of the previous simulator are gone, and say so.
    ("[enactors]\nbatch_size = 10", "enactors.batch_size"),
    ("[enactors]\nflip_latency_s = 0.1", "enactors.flip_latency_s"),
    ("[enactors]\nlock_latency_s = 0.1", "enactors.lock_latency_s"),
    ("[faults.contention]\nfail_probability = 0.5", "faults.contention"),
    ("[operator]\nrepair_delay_s = 10", "operator.repair_delay_s"),
    ("[enactors]\nfoo = 1", "enactors.foo"),
    ("[planner]\ninterval_s = 0", "planner.interval_s"),
    ("[planner]\nplans = -1", "planner.plans"),
    ("[planner]\nburst_plans = [5, 2]", "planner.burst_plans"),
    ("[planner]\nburst_plans = [0, 2]", "planner.burst_plans[0]"),
    ("[[planner.bursts]]\nat_s = -1.0", "planner.bursts[0].at_s"),
    ("[[planner.bursts]]\nplans = 0", "planner.bursts[0].plans"),
    ("clock = 'sundial'", "clock"),
    ("duration_s = 'long'", "duration_s"),
    ("duration_s = inf", "duration_s"),
    ("duration_s = 0", "duration_s"),
    ("[disciplines]\npresets = ['cas', 'yolo']", "disciplines.presets[1]"),
    ("[disciplines]\npresets = []", "disciplines.presets"),
    ("[disciplines]\ntrees_kept = -1", "disciplines.trees_kept"),
    (
        "[[disciplines.custom]]\nname = 'x'\nguard = 'fence'\nlock = 'none'",
        "disciplines.custom[0].guard",
    ),
    (
        "[[disciplines.custom]]\nname = 'x'\non_dangling = 'panic'",
        "disciplines.custom[0].on_dangling",
    ),
    ("[[disciplines.custom]]\nname = 'x'\ncleanup = 'never'", "disciplines.custom[0].cleanup"),
    ("[[disciplines.custom]]\nname = 'cas'", "disciplines.custom[0].name"),
    ("[[disciplines.custom]]\nguard = 'none'", "disciplines.custom[0].name"),
    ("[faults.pauses]\nenactors = ['Q']", "faults.pauses.enactors[0]"),
    ("[faults.pauses]\nmedian_s = 0", "faults.pauses.median_s"),
    ("[faults.pauses]\nmedian_s = 5.0\nmax_s = 1.0", "faults.pauses.max_s"),
    ("[faults.slow_enactors]\nsigma = -0.5", "faults.slow_enactors.sigma"),
    ("[faults.slow_enactors]\nenactors = ['A', 'Z']", "faults.slow_enactors.enactors[1]"),
    ("[faults.slow_batches]\nprobability = 1.5", "faults.slow_batches.probability"),
    ("[faults.slow_batches]\nfactor = [0.0, 2.0]", "faults.slow_batches.factor[0]"),
    ("[faults.crashes]\nat_s = [-2.0]", "faults.crashes.at_s[0]"),
    ("[faults.crashes]\nrestart_s = [3.0, 1.0]", "faults.crashes.restart_s"),
    ("[faults.crashes]\nrestart_s = [1.0]", "faults.crashes.restart_s"),
    ("[fleet]\nload_balancers = 2", "fleet.load_balancers"),
    ("[operator]\ndetect_s = [90.0, 30.0]", "operator.detect_s"),
    ("[operator]\ndetect_s = [-1.0, 30.0]", "operator.detect_s[0]"),
    ("[operator]\nrepair_s = [10.0, 5.0]", "operator.repair_s"),
    ("[operator]\nrepair = 'yes'", "operator.repair"),
    ("[metrics]\ncurrent_window_s = -1", "metrics.current_window_s"),
    ("endpoints = 5", "endpoints"),
]


@pytest.mark.parametrize(("text", "field"), BAD)
def test_bad_scenarios_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(field) and "\n" not in message


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[endpoints\ncount = 3")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = '\xff\xfe'")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_scenario(binary)


def test_scenarios_are_validated_when_built_in_code_too() -> None:
    base = Scenario()
    with pytest.raises(ScenarioError, match=r"enactors\.lease_ttl_s"):
        dataclasses.replace(base, enactors=dataclasses.replace(base.enactors, lease_ttl_s=0.0))
    with pytest.raises(ScenarioError, match=r"endpoints\.regional_at"):
        dataclasses.replace(base, endpoints=dataclasses.replace(base.endpoints, regional_at=2.0))
    with pytest.raises(ScenarioError, match="duration_s"):
        base.replace(duration_s=-1.0)
    assert base.replace(duration_s=7.0).duration_s == 7.0


# ------------------------------------------------------------------------------ seeds, overrides


def test_with_seed_changes_the_seed_only() -> None:
    s = incident_scenario(seed=1, endpoints=50)
    t = s.with_seed(42)
    assert t.seed == 42 and s.seed == 1
    assert t == dataclasses.replace(s, seed=42)
    assert t == parse_scenario({**scenario_to_dict(s), "seed": 42})
    assert t.with_seed(1) == s
    assert s.with_seed(0).seed == 0


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", None])
def test_with_seed_refuses_non_seeds(seed: Any) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario().with_seed(seed)
    assert info.value.field == "seed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("endpoints.count=3", ("endpoints.count", 3)),
        (" endpoints.regional_at = 0.5 ", ("endpoints.regional_at", 0.5)),
        ('name="x y"', ("name", "x y")),
        ("operator.detect_s=[5.0, 10]", ("operator.detect_s", [5.0, 10])),
        ("operator.repair=false", ("operator.repair", False)),
        ("faults.crashes.at_s=[]", ("faults.crashes.at_s", [])),
        ('a.b="k=v"', ("a.b", "k=v")),
    ],
)
def test_parse_override(text: str, expected: tuple[str, Any]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("endpoints.count", "--set"),
        ("=3", "--set"),
        ("endpoints..count=3", "--set"),
        (".count=3", "--set"),
        ("endpoints.count=", "endpoints.count"),
        ("endpoints.count=abc", "endpoints.count"),
        ("name=unquoted text", "name"),
    ],
)
def test_parse_override_refuses_malformed(text: str, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_override(text)
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_apply_overrides_sets_dotted_keys_on_a_copy() -> None:
    data = scenario_to_dict(Scenario())
    snapshot = orjson.dumps(data)
    out = apply_overrides(
        data,
        {
            "endpoints.count": 0,
            "faults.slow_enactors.sigma": 0.2,
            "metrics.current_window_s": 7.5,
            "seed": 11,
        },
    )
    assert orjson.dumps(data) == snapshot  # the input is untouched
    s = parse_scenario(out)
    assert (s.endpoints.count, s.faults.slow_enactors.sigma, s.seed) == (0, 0.2, 11)
    assert s.current_window_s == 7.5
    # Missing tables are created.
    assert parse_scenario(apply_overrides({}, {"planner.plans": 4})).planner.plans == 4
    with pytest.raises(ScenarioError) as info:
        apply_overrides(data, {"endpoints.count.x": 1})
    assert info.value.field == "endpoints.count"


def test_load_scenario_with_overrides(tmp_path: Path) -> None:
    spin = SCENARIOS / "spin.toml"
    base = load_scenario(spin)
    s = load_scenario(spin, {"planner.plans": 3, "enactors.count": 3})
    assert (s.planner.plans, s.enactors.count) == (3, 3)
    assert dataclasses.replace(s, planner=base.planner, enactors=base.enactors) == base
    assert load_scenario(spin, {}) == base
    # Overrides are validated like the file itself.
    with pytest.raises(ScenarioError) as info:
        load_scenario(spin, {"enactors.count": 0})
    assert info.value.field == "enactors.count"
    with pytest.raises(ScenarioError) as info:
        load_scenario(spin, {"enactors.nope": 1})
    assert info.value.field == "enactors.nope"


def test_enactor_names() -> None:
    assert enactor_names(3) == ("A", "B", "C")
    assert enactor_names(26)[-1] == "Z"
    assert enactor_names(28)[-2:] == ("E27", "E28")
    assert len(set(enactor_names(60))) == 60
