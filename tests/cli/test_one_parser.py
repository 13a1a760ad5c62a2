"""The command line and the library parse ``--set`` overrides and scenario files with one
parser (dnsrace.schema.tables over dnsrace.inputfile): the same text gives the same value, or
the same message, through either; the door only adds its caps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dnsrace.app.doors.inputs import InputError, load_scenario_document, parse_set
from dnsrace.config import ScenarioError
from dnsrace.schema.tables import override_text, parse_override, read_tables


@pytest.mark.parametrize(
    "text",
    ["endpoints.count=3", " seed = 7 ", 'name="x y"', "operator.detect_s=[5.0, 10]", 'a.b="k=v"'],
)
def test_a_good_override_parses_the_same_through_both(text: str) -> None:
    assert parse_set(text) == parse_override(text)


@pytest.mark.parametrize(
    "text",
    [
        "endpoints.count",  # no value
        "=3",
        "endpoints..count=3",
        "endpoints.count=abc",  # not a TOML value
        "name=unquoted text",
        "seed=" + "9" * 5000,  # tomllib's own digit limit
    ],
)
def test_a_bad_override_says_the_same_through_both(text: str) -> None:
    with pytest.raises(ScenarioError) as library:
        parse_override(text)
    with pytest.raises(InputError) as door:
        parse_set(text)
    # The door names the option; the library names the field (``--set`` for a bad key).
    field = library.value.field
    expected = str(library.value) if field == "--set" else f"--set {library.value}"
    assert str(door.value) == expected


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe seed = 1\n", "not UTF-8 text"),
        (b"[endpoints\ncount = 1\n", "malformed TOML"),
        (b"v = " + b"[" * 40 + b"]" * 40 + b"\n", "nested more than 32 levels deep"),
    ],
)
def test_a_broken_scenario_file_says_the_same_through_both(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as library:
        read_tables(path)
    with pytest.raises(InputError) as door:
        load_scenario_document(str(path))
    assert words in str(door.value)
    assert str(library.value) == str(door.value)


def test_the_door_keeps_its_own_caps() -> None:
    wide: Any = "seed=" + "9" * 30  # parses as TOML, wider than 64 bits
    assert parse_override(wide)[1] == int("9" * 30)
    with pytest.raises(InputError, match="must fit in 64 bits"):
        parse_set(wide)
    with pytest.raises(InputError, match="must be one line"):
        parse_set("faults.crashes.at_s=[1.0,\n 2.0]")


@pytest.mark.parametrize(
    "value", [3, -0.5, 1e21, True, 'a "quoted" \\ text', [1.0, 2], ["x", [False]], []]
)
def test_a_replay_command_s_override_parses_back(value: Any) -> None:
    text = override_text("faults.x", value)
    assert parse_override(text) == ("faults.x", value)
    assert parse_set(text) == ("faults.x", value)
