"""Hypothesis over scenario files: whatever TOML the generator writes (valid values, values at
and past every bound, NaN and infinities, wrong types, control characters, unknown keys, tables
where values belong), ``dnsrace run`` exits 0 or 2, never with a traceback, and on exit 2 prints
exactly one printable line naming a field.

The generated files start from ``scenarios/spin.toml`` (a run of a fraction of a second) and
change a few fields, so the valid ones run quickly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scenario_doc import set_dotted

from conftest import examples
from dnsrace.app.cli import main as cli_main
from dnsrace.sim.scenario import Scenario

SPIN = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"
BASE: dict[str, Any] = tomllib.loads(SPIN.read_text())


def _leaf_fields(cls: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys of every scalar or list field of the scenario tree, with their types."""
    out: list[tuple[str, Any]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.extend(_leaf_fields(tp, key + "."))
        else:
            out.append((key, tp))
    return out


FIELDS = _leaf_fields(Scenario)

SMALL_NUMBERS = st.sampled_from([0, 1, 2, 3, 0.0, 0.001, 0.5, 1.0, 2.5, 10.0])
HOSTILE_NUMBERS = st.sampled_from(
    [-1, -0.5, 2**63, 10**23, 1e300, 1e-9, -1e-300, math.nan, math.inf, -math.inf, 5_000_001]
)
TEXT = st.one_of(
    st.sampled_from(["", " ", "a b", "x" * 300, "\x1b[31m", "é", "e1.lb.us-east-1.example"]),
    st.text(max_size=12),
)
ANY_VALUE = st.recursive(
    st.one_of(SMALL_NUMBERS, HOSTILE_NUMBERS, TEXT, st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "plans"]), inner)
    ),
    max_leaves=4,
)


def value_for(tp: Any) -> st.SearchStrategy[Any]:
    """Mostly values of the right kind (small, so valid runs stay short), sometimes anything."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return value_for(next(a for a in typing.get_args(tp) if a is not type(None)))
    if tp in (int, float):
        right: st.SearchStrategy[Any] = st.one_of(SMALL_NUMBERS, HOSTILE_NUMBERS)
    elif tp is str:
        right = TEXT
    elif tp is bool:
        right = st.booleans()
    elif origin is tuple:
        right = st.lists(st.one_of(SMALL_NUMBERS, TEXT), max_size=3)
    elif origin is typing.Literal:
        right = st.sampled_from(typing.get_args(tp))
    else:  # pragma: no cover - every scenario field type is handled above
        raise TypeError(f"no strategy for {tp}")
    return st.one_of(right, right, right, ANY_VALUE)


@st.composite
def scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 9)) == 0:
            key, value = draw(st.sampled_from(["bogus", "endpoints.bogus"])), draw(ANY_VALUE)
        else:
            key, tp = draw(st.sampled_from(FIELDS))
            value = draw(value_for(tp))
        set_dotted(doc, key, value)
    return doc


def to_toml(doc: dict[str, Any]) -> str:
    """A small TOML writer: inline tables for nested values (enough for these documents)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, str):
            return string(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{string(k)} = {value(x)}" for k, x in v.items()) + "}"

    return "\n".join(f"{string(k)} = {value(v)}" for k, v in doc.items()) + "\n"


def string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@settings(
    # 300 under the ci profile (make test); --hypothesis-profile=deep for a longer search.
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=scenario_documents())
def test_any_generated_scenario_exits_0_or_2_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any]
) -> None:
    text = to_toml(doc)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:  # pragma: no cover - the writer emits valid TOML
        pytest.fail(f"generator wrote invalid TOML:\n{text}")
    path = tmp_path / "generated.toml"
    path.write_text(text)
    code = cli_main(["run", str(path), "--quiet", "--jobs", "1", "--discipline", "cas"])
    err = capsys.readouterr().err
    event(f"exit {code}")  # the mix of valid and refused files (--hypothesis-show-statistics)
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dnsrace: error: "), err
        assert lines[0].isprintable()
