"""One schema for every configuration input: scenario files and ``[collapse]`` tables.

The frozen dataclasses of :mod:`dnsrace.sim.scenario` and :mod:`dnsrace.collapse.config` are
the definition (types, bounds and descriptions in their annotations); pydantic v2 validates
them (:mod:`dnsrace.schema.fields`) and gives the JSON Schema. This package is the face over
both kinds, above the modules that declare them (:mod:`dnsrace.schema` is what they declare
with); it imports neither the simulator nor pydantic until asked.

- :func:`json_schema` -- the JSON Schema of a scenario file or a ``[collapse]`` table.
- :func:`field_bounds` -- (min, max) of a numeric field, for command-line options.
- :func:`check_field` -- one value checked against its field (type, bounds), as an option would.
- :func:`option_value` -- a command-line option's text parsed and checked as its field.
- :class:`ScenarioError` -- the one error of configuration input (one line, field path, value).
- :mod:`limits` -- every upper bound (:mod:`dnsrace.schema.limits`).
"""

from __future__ import annotations

from typing import Any, Literal

from dnsrace.schema import limits
from dnsrace.schema.errors import ScenarioError

__all__ = [
    "Kind",
    "ScenarioError",
    "check_field",
    "config_class",
    "field_bounds",
    "json_schema",
    "limits",
    "option_value",
]

Kind = Literal["scenario", "collapse"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_class(kind: Kind) -> Any:
    """The root dataclass of a kind of configuration."""
    if kind == "scenario":
        from dnsrace.sim.scenario import Scenario

        return Scenario
    if kind == "collapse":
        from dnsrace.collapse.config import CollapseConfig

        return CollapseConfig
    raise ValueError(f"unknown configuration kind {kind!r} (scenario or collapse)")


def json_schema(kind: Kind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file or of a ``[collapse]`` table, for
    editors. A scenario file may hold a ``[collapse]`` table (``dnsrace run``'s phase 2)."""
    from dnsrace.schema.fields import json_schema_of

    if kind == "collapse":
        out = _collapse_table_schema()
    else:
        out = json_schema_of(config_class("scenario"))
        collapse = _collapse_table_schema()
        out.setdefault("$defs", {}).update(collapse.pop("$defs", {}))
        out["$defs"]["CollapseTable"] = collapse
        out["properties"]["collapse"] = {
            "$ref": "#/$defs/CollapseTable",
            "description": "Phase 2 (dnsrace run): the lease managers' collapse.",
        }
    return {"$schema": JSON_SCHEMA_DIALECT, **out}


def _collapse_table_schema() -> dict[str, Any]:
    """A ``[collapse]`` table: CollapseConfig's fields but ``outages`` (replay windows come from
    phase 1), plus ``trigger_from``; ``deadline_s = "none"`` stands for no deadline."""
    from dnsrace.collapse.config import TRIGGER_FROM
    from dnsrace.schema.fields import json_schema_of

    out = json_schema_of(config_class("collapse"))
    props = out["properties"]
    props.pop("outages", None)
    deadline = props["deadline_s"]
    deadline["anyOf"] = [
        *(s for s in deadline["anyOf"] if s.get("type") != "null"),
        {"const": "none"},
    ]
    props["trigger_from"] = {
        "enum": list(TRIGGER_FROM),
        "default": TRIGGER_FROM[0],
        "description": "Outage windows: the table's own trigger (outage) or the regional "
        "endpoint's empty windows of each phase-1 run (replay).",
    }
    return out


def field_bounds(kind: Kind, path: str) -> tuple[float | None, float | None]:
    """(min, max) of a numeric field (``"collapse"``, ``"horizon_s"``); None where unbounded.

    A minimum may be exclusive (``> 0``); :func:`check_field` applies the exact rule.
    ``KeyError`` for a path that is not a field."""
    from dnsrace.schema.fields import field_bounds as bounds

    return bounds(config_class(kind), path)


def check_field(kind: Kind, path: str, value: Any, *, name: str | None = None) -> Any:
    """``value`` checked against one field's type and bounds (not the cross-field rules),
    converted as the schema converts it; else ``ScenarioError`` naming ``name`` (an option,
    ``--horizon-s``) or the field path."""
    from dnsrace.schema.fields import check_value

    return check_value(config_class(kind), path, value, name=name)


def option_value(kind: Kind, path: str, text: str, *, name: str) -> Any:
    """A command-line option's text as the value of a config field: parsed as one TOML value
    (``10``, ``1e21``, ``0.5``; as ``--set`` parses), then checked by :func:`check_field`, so the
    option and the file give the same answer. ``ScenarioError`` naming ``name`` otherwise."""
    import tomllib

    from dnsrace.schema.fields import show

    # A number: one line, no arrays or tables (so no nesting for tomllib to recurse into).
    if len(text) > 1000 or any(c in text for c in "\r\n[]{}"):
        raise ScenarioError(name, f"must be one number, got {show(text)}")
    try:
        doc = tomllib.loads(f"v = {text.strip()}")
    except tomllib.TOMLDecodeError:
        raise ScenarioError(name, f"must be a number, got {show(text)}") from None
    if len(doc) != 1:  # pragma: no cover - refused above (a second line)
        raise ScenarioError(name, f"must be one number, got {show(text)}")
    return check_field(kind, path, doc["v"], name=name)
