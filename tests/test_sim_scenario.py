"""Scenario files and write disciplines: parsing, validation, presets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dnsrace.sim.disciplines import ABLATIONS, ALL, PRESETS, Discipline, DisciplineError
from dnsrace.sim.scenario import (
    REGIONAL,
    Scenario,
    ScenarioError,
    enactor_names,
    incident_scenario,
    load_scenario,
    parse_scenario,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_presets_match_the_design_table() -> None:
    table = {name: (d.guard, d.lock, d.cleanup) for name, d in PRESETS.items()}
    assert table == {
        "lww": ("none", "none", "unsafe_age"),
        "aws2025": ("plan_start", "lease", "unsafe_age"),
        "lease": ("under_lock", "lease", "unsafe_age"),
        "fenced": ("fence", "lease", "safe"),
        "cas": ("store_cas", "none", "safe"),
    }
    assert PRESETS["cas"].flip_mode == "if_newer"
    assert {d.flip_mode for n, d in PRESETS.items() if n != "cas"} == {"lww"}


def test_ablations_change_one_knob_at_a_time() -> None:
    base = PRESETS["aws2025"]
    safe = ABLATIONS["aws2025+safe_cleanup"]
    cas = ABLATIONS["aws2025+safe_cleanup+store_cas"]
    assert (safe.guard, safe.lock, safe.cleanup) == (base.guard, base.lock, "safe")
    assert (cas.guard, cas.lock, cas.cleanup) == ("store_cas", safe.lock, safe.cleanup)
    assert (*PRESETS, *ABLATIONS) == ALL


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"guard": "fence", "lock": "none"}, "guard"),
        ({"guard": "under_lock", "lock": "none"}, "guard"),
        ({"guard": "sometimes"}, "guard"),
        ({"lock": "mutex"}, "lock"),
        ({"cleanup": "never"}, "cleanup"),
        ({"trees_kept": -1}, "trees_kept"),
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


def test_shipped_scenarios_parse() -> None:
    files = sorted(SCENARIOS.glob("*.toml"))
    assert {f.name for f in files} >= {"incident.toml", "scale_500k.toml", "scale_real_100k.toml"}
    for f in files:
        s = load_scenario(f)
        assert s.discipline_list()


def test_incident_file_matches_the_incident_command() -> None:
    assert load_scenario(SCENARIOS / "incident.toml") == incident_scenario()


def test_incident_scenario_shape() -> None:
    s = incident_scenario(seed=5, endpoints=10, enactors=4, presets=("cas",))
    assert s.endpoints.regional == REGIONAL
    assert s.total_endpoints == 11
    assert s.enactor_names == ["A", "B", "C", "D"]
    assert [d.name for d in s.discipline_list()] == ["cas"]
    assert [d.name for d in incident_scenario().discipline_list()] == list(ALL)


def test_full_scenario_round_trip() -> None:
    data = {
        "name": "t",
        "seed": 9,
        "clock": "real",
        "duration_s": 10,
        "endpoints": {"count": 5, "targets": 2, "groups": 2},
        "planner": {"interval_s": 1, "bursts": [{"at_s": 2.5, "plans": 3, "gap_s": 0.1}]},
        "enactors": {"count": 2, "lease_ttl_s": 0.5},
        "faults": {
            "contention": {"enactors": ["B"], "scope": "all", "at_s": [1.0]},
            "pauses": {"rate_per_min": 3, "median_s": 0.2, "max_s": 2},
            "crashes": {"at_s": [4.0], "restart_s": [1, 2]},
            "slow_batches": {"probability": 0.5, "factor": [1, 3]},
        },
        "disciplines": {
            "presets": ["cas", "lww"],
            "trees_kept": 1,
            "custom": [{"name": "mine", "guard": "fence", "lock": "lease", "cleanup": "safe"}],
        },
    }
    s = parse_scenario(data)
    assert s.clock == "real" and s.duration_s == 10.0 and isinstance(s.duration_s, float)
    assert s.planner.bursts[0].plans == 3
    assert s.faults.crashes.restart_s == (1.0, 2.0)
    names = [(d.name, d.trees_kept) for d in s.discipline_list()]
    assert names == [("cas", 1), ("lww", 1), ("mine", 3)]


BAD: list[tuple[str, str]] = [
    ("nonsense = 1", "nonsense"),
    ("[endpoints]\ncount = -3", "endpoints.count"),
    ("[endpoints]\ncount = 1.5", "endpoints.count"),
    ("[endpoints]\ncount = true", "endpoints.count"),
    ("[enactors]\ncount = 0", "enactors.count"),
    ("[enactors]\nlease_ttl_s = 0", "enactors.lease_ttl_s"),
    ("[enactors]\nlease_ttl_s = -1.0", "enactors.lease_ttl_s"),
    ("[enactors]\nbatch_size = 0", "enactors.batch_size"),
    ("[enactors]\nfoo = 1", "enactors.foo"),
    ("[planner]\ninterval_s = 0", "planner.interval_s"),
    ("[planner]\nburst_plans = [5, 2]", "planner.burst_plans"),
    ("[[planner.bursts]]\nat_s = -1.0", "planner.bursts[0].at_s"),
    ("[[planner.bursts]]\nplans = 0", "planner.bursts[0].plans"),
    ("clock = 'sundial'", "clock"),
    ("duration_s = 'long'", "duration_s"),
    ("duration_s = inf", "duration_s"),
    ("[disciplines]\npresets = ['cas', 'yolo']", "disciplines.presets"),
    ("[disciplines]\ntrees_kept = -1", "disciplines.trees_kept"),
    (
        "[[disciplines.custom]]\nname = 'x'\nguard = 'fence'\nlock = 'none'",
        "disciplines.custom[0].guard",
    ),
    ("[[disciplines.custom]]\nname = 'cas'", "disciplines.custom[0].name"),
    ("[faults.pauses]\nenactors = ['Q']", "faults.pauses.enactors[0]"),
    ("[faults.pauses]\nmedian_s = 0", "faults.pauses.median_s"),
    ("[faults.contention]\nfail_probability = 1.5", "faults.contention.fail_probability"),
    ("[faults.contention]\nduration_s = [30.0, 10.0]", "faults.contention.duration_s"),
    ("[faults.contention]\nduration_s = [1.0]", "faults.contention.duration_s"),
    ("[faults.crashes]\nat_s = [-2.0]", "faults.crashes.at_s[0]"),
    ("[fleet]\nload_balancers = 2", "fleet.load_balancers"),
    ("[operator]\nrepair_delay_s = 0", "operator.repair_delay_s"),
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


def test_scenarios_are_validated_when_built_in_code_too() -> None:
    base = Scenario()
    with pytest.raises(ScenarioError, match=r"enactors\.lease_ttl_s"):
        dataclasses.replace(base, enactors=dataclasses.replace(base.enactors, lease_ttl_s=0.0))


def test_enactor_names() -> None:
    assert enactor_names(3) == ["A", "B", "C"]
    assert enactor_names(28)[-2:] == ["E27", "E28"]
