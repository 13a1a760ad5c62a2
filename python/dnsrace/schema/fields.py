"""The configuration schema: pydantic v2 validating the frozen dataclasses the simulator reads.

The dataclasses of :mod:`dnsrace.sim.scenario` and :mod:`dnsrace.collapse.config` are the one
definition: every field's annotation carries its type and bounds (``Annotated[float, STRICT,
Ge(0), Le(MAX_SECONDS)]``), its attribute docstring is its description. pydantic builds a
validator from them (lazily, on first use, so importing the simulator does not import pydantic)
and the JSON Schema that editors use. This module turns pydantic's error list into the project's
one-line :class:`ScenarioError` naming the field path and the value, suggests the nearest valid
name for an unknown key, and refuses values that are not plain TOML/JSON data, nested too deeply
or too long before pydantic sees them (no recursion proportional to the input).
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

import annotated_types as at

from dnsrace.schema.errors import ScenarioError
from dnsrace.schema.limits import MAX_DEPTH, MAX_LIST

__all__ = [
    "CONFIG",
    "STRICT",
    "Bool",
    "Float",
    "Int",
    "Str",
    "check_plain",
    "check_value",
    "field_bounds",
    "field_type",
    "json_schema_of",
    "leaf_paths",
    "show",
    "validate",
    "validating",
]

T = TypeVar("T")


class _Strict:
    """Annotation marker: no coercion (1.0 is not an integer, 1 is not a boolean, bytes are not
    text). Implemented through pydantic's hook so that this module imports without pydantic."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema["strict"] = True
        return schema

    def __repr__(self) -> str:
        return "STRICT"


STRICT = _Strict()
Int = Annotated[int, STRICT]
# A strict float still takes an integer (TOML's `duration_s = 10`) and makes it a float;
# NaN and infinities are refused by CONFIG's allow_inf_nan, integers too big for a float by
# pydantic's own conversion.
Float = Annotated[float, STRICT]
Bool = Annotated[bool, STRICT]
Str = Annotated[str, STRICT]

CONFIG: dict[str, Any] = {"extra": "forbid", "allow_inf_nan": False}
"""pydantic's configuration of every config dataclass (``__pydantic_config__``)."""

_VALIDATING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dnsrace_config_validating", default=False
)


def validating() -> bool:
    """True while :func:`validate` builds an instance: its ``__post_init__`` then needs only
    the cross-field checks (the fields themselves were just validated)."""
    return _VALIDATING.get()


@functools.cache
def _adapter(cls: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def json_schema_of(cls: Any) -> dict[str, Any]:
    """The JSON Schema of a config class, with each field's docstring as its description.

    Reading the docstrings parses every class's source (about 0.4 s measured), so only the
    JSON Schema pays for it: the validators are built without (one shared CONFIG dict, read
    when an adapter is built)."""
    from pydantic import TypeAdapter

    CONFIG["use_attribute_docstrings"] = True
    try:
        out: dict[str, Any] = TypeAdapter(cls).json_schema()
        return out
    finally:
        del CONFIG["use_attribute_docstrings"]


def validate(cls: type[T], data: Any, *, prefix: str = "") -> T:
    """``data`` (TOML/JSON tables) as a validated ``cls`` instance, or one ``ScenarioError``.

    ``prefix`` is prepended to the field paths of errors (``collapse.`` for a ``[collapse]``
    table)."""
    if isinstance(data, Mapping) and not isinstance(data, dict):
        data = dict(data)
    if not isinstance(data, dict):
        raise ScenarioError(
            prefix.rstrip("."),
            f"must be a table (a TOML document or a JSON object), got {show(data)}",
        )
    check_plain(data, prefix.rstrip("."))
    from pydantic import ValidationError

    token = _VALIDATING.set(True)
    try:
        result: T = _adapter(typing.cast(Any, cls)).validate_python(data)
        return result
    except ValidationError as exc:
        raise _one_error(cls, exc, prefix) from None
    finally:
        _VALIDATING.reset(token)


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if not path:
        return prefix.rstrip(".")
    return prefix + path if prefix.endswith(".") else f"{prefix}.{path}"


_PLAIN_LEAVES = (str, int, float, bool, type(None))
_LEAF_TYPES = frozenset(_PLAIN_LEAVES)


def check_plain(data: dict[str, Any], where: str) -> None:
    """Refuse what is not plain TOML/JSON data, nested deeper than MAX_DEPTH or longer than
    MAX_LIST, walking with an explicit stack (never recursing on the input's shape). Paths
    are kept as tuples and formatted only for an error: this runs on every validation."""
    import datetime

    def fail(loc: tuple[Any, ...], message: str) -> ScenarioError:
        return ScenarioError(_join(where, _path(loc)), message)

    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(value) > MAX_LIST:
            raise fail(loc, f"must have at most {MAX_LIST:,} items, got {len(value):,}")
        if len(loc) >= MAX_DEPTH:  # the document itself is level 1
            raise fail(loc, f"nested deeper than {MAX_DEPTH} tables or arrays")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if type(key) is not str and isinstance(value, dict):
                raise fail(loc, f"keys must be text, got {show(key)}")
            if type(item) in _LEAF_TYPES:
                continue
            if isinstance(item, dict | list | tuple):
                stack.append((item, (*loc, key)))
            elif not isinstance(item, (*_PLAIN_LEAVES, datetime.date, datetime.time)):
                raise fail((*loc, key), f"not a TOML or JSON value: {show(item)}")
            # dates and times (TOML): pydantic refuses them as the field's type


_KEY = re.compile(r"[A-Za-z0-9_+-]{1,64}")


def _key_text(key: str) -> str:
    """A key as it appears in a field path: bare if it looks like one, quoted (escaped,
    shortened) otherwise, so that an error line never carries control characters."""
    return key if _KEY.fullmatch(key) else _short_repr(key)


def _short_repr(text: str, limit: int = 40) -> str:
    shown = repr(text[:limit])
    return shown + "..." if len(text) > limit else shown


def show(value: Any) -> str:
    """A value as an error message shows it: briefly, printable, never its whole size."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() <= 96:
            return str(value)
        # Never str() of a huge integer: Python refuses past 4,300 digits, and it is no help.
        size = abs(value)
        digits = int((size.bit_length() - 1) * 0.30102999566398) + 1
        digits += size >= 10**digits
        return f"an integer of {digits:,} digits"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return _short_repr(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} items"
    return f"a value of type {type(value).__name__}"


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = _key_text(str(part))
            out = f"{out}.{text}" if out else text
    return out


def _number(value: Any) -> str:
    return show(value) if isinstance(value, int | float) else str(value)


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text (a quoted string)",
    "tuple_type": "an array",
    "list_type": "an array",
    "dataclass_type": "a table",
    "dataclass_exact_type": "a table",
    "dict_type": "a table",
    "finite_number": "finite",
}


def _one_error(cls: Any, exc: Any, prefix: str) -> ScenarioError:
    """The first of pydantic's errors as one ScenarioError line."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    kind, loc, ctx = err["type"], tuple(err["loc"]), err.get("ctx") or {}
    value = err.get("input")
    path = _join(prefix, _path(loc))
    if kind == "value_error" and isinstance(ctx.get("error"), ScenarioError):
        inner: ScenarioError = ctx["error"]
        # Raised by a __post_init__'s cross-field rules: keep its class (CollapseError).
        message = str(inner).split(": ", 1)[-1] if inner.field else str(inner)
        return type(inner)(_join(prefix, inner.field), message)
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return ScenarioError(path, _unknown(cls, loc))
    if kind in _TYPE_WORDS:
        return ScenarioError(path, f"must be {_TYPE_WORDS[kind]}, got {show(value)}")
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        op, key = bounds[kind]
        return ScenarioError(path, f"must be {op} {_number(ctx.get(key))}, got {show(value)}")
    if kind == "literal_error":
        return ScenarioError(path, f"must be one of {ctx.get('expected')}, got {show(value)}")
    if kind in ("too_long", "too_short", "string_too_long", "string_too_short"):
        unit = "characters" if kind.startswith("string") else "items"
        actual = len(value) if isinstance(value, str | list | tuple) else ctx.get("actual_length")
        limit = ctx.get("max_length", ctx.get("min_length"))
        word = "at most" if "long" in kind else "at least"
        return ScenarioError(path, f"must be {word} {limit} {unit}, got {actual}")
    if kind == "missing" and loc and isinstance(loc[-1], int):
        # A fixed-length array ([low, high]) given too few items: name the array.
        items = len(typing.get_args(_unwrap(field_type(cls, loc[:-1]))[0]))
        return ScenarioError(
            _join(prefix, _path(loc[:-1])), f"must be an array of {items} items, got {show(value)}"
        )
    if kind == "value_error":
        return ScenarioError(path, str(ctx.get("error", err["msg"])))
    message = str(err["msg"]).replace("Input should be", "must be")
    return ScenarioError(path, f"{message}, got {show(value)}")


def _unknown(cls: Any, loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    owner = _class_at(cls, loc[:-1])
    names = [f.name for f in dataclasses.fields(owner)] if owner else []
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    known = f" (known: {', '.join(names)})" if names else ""
    return f"unknown field{hint}{known}"


def _unwrap(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """A type without Annotated and Optional, and the Annotated metadata gathered on the way."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            meta.extend(tp.__metadata__)
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            non_none = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = non_none[0]
        else:
            return tp, tuple(meta)


def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def field_type(cls: Any, path: str | tuple[Any, ...]) -> Any:
    """The annotated type of a field path (``"planner.bursts[0].plans"`` or a loc tuple)."""
    parts = _split(path) if isinstance(path, str) else path
    tp: Any = cls
    for part in parts:
        bare, _ = _unwrap(tp)
        if isinstance(part, int):
            args = typing.get_args(bare)
            if typing.get_origin(bare) is not tuple or not args:
                raise KeyError(path)
            tp = args[0] if args[-1] is Ellipsis else args[min(part, len(args) - 1)]
        else:
            if not dataclasses.is_dataclass(bare):
                raise KeyError(path)
            hints = _hints(bare)
            if part not in hints or part not in {f.name for f in dataclasses.fields(bare)}:
                raise KeyError(path)
            tp = hints[part]
    return tp


def _class_at(cls: Any, loc: tuple[Any, ...]) -> Any:
    try:
        bare, _ = _unwrap(field_type(cls, loc))
    except KeyError:
        return None
    return bare if dataclasses.is_dataclass(bare) else None


def _split(path: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for dotted in path.split("."):
        name, *indexes = dotted.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(parts)


def field_bounds(cls: Any, path: str) -> tuple[float | None, float | None]:
    """(min, max) of a numeric field (None where unbounded; ``KeyError`` for an unknown path).

    The minimum may be exclusive (``Gt``): :func:`check_value` applies the exact rule."""
    _, meta = _unwrap(field_type(cls, path))
    low: float | None = None
    high: float | None = None
    for m in meta:
        if isinstance(m, at.Ge | at.Gt):
            low = m.ge if isinstance(m, at.Ge) else m.gt  # type: ignore[assignment]
        if isinstance(m, at.Le | at.Lt):
            high = m.le if isinstance(m, at.Le) else m.lt  # type: ignore[assignment]
    return low, high


@functools.cache
def _field_adapter(cls: Any, path: str) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(field_type(cls, path), config=CONFIG)  # type: ignore[arg-type]


def check_value(cls: Any, path: str, value: Any, *, name: str | None = None) -> Any:
    """One field's value checked by the schema (type and bounds; not the cross-field rules),
    converted as the schema converts it; a ``ScenarioError`` naming ``name`` (default: the
    path) otherwise. For command-line options that map to a config field."""
    from pydantic import ValidationError

    if not isinstance(value, _PLAIN_LEAVES):
        raise ScenarioError(name or path, f"not a TOML or JSON value: {show(value)}")
    try:
        return _field_adapter(cls, path).validate_python(value)
    except ValidationError as exc:
        error = _one_error(cls, exc, "")
        raise ScenarioError(name or path, str(error).split(": ", 1)[-1]) from None


def leaf_paths(cls: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar or array field of a config tree: (dotted path, annotated type)."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        bare, _ = _unwrap(tp)
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(bare):
            yield from leaf_paths(bare, path + ".")
        else:
            yield path, tp


def kind_of(tp: Any) -> Literal["integer", "number", "bool", "text", "choice", "array", "table"]:
    """The TOML kind of a field's type (for tables of fields)."""
    bare, _ = _unwrap(tp)
    if typing.get_origin(bare) is Literal:
        return "choice"
    if typing.get_origin(bare) is tuple:
        return "array"
    if dataclasses.is_dataclass(bare):
        return "table"
    return {int: "integer", float: "number", bool: "bool"}.get(bare, "text")  # type: ignore[return-value]
