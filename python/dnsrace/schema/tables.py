"""Configuration as TOML tables, whatever the schema: read a file's tables, set dotted keys,
and turn a config dataclass tree back into tables.

Nothing here knows a field of any configuration; :mod:`dnsrace.sim.scenario` validates what
comes out (:func:`dnsrace.schema.fields.validate`). Every step is bounded before it recurses:
a value's nesting is counted before ``tomllib`` reads it and checked before ``deepcopy``
walks it, and a file is read through the input door's reader (:mod:`dnsrace.inputfile`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import tomllib
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnsrace.inputfile import (
    KINDS,
    InputError,
    check_depth,
    nested_over,
    parse_toml,
    read_file,
)
from dnsrace.schema.errors import ScenarioError
from dnsrace.schema.fields import check_plain, show
from dnsrace.schema.limits import MAX_DEPTH

__all__ = [
    "apply_overrides",
    "as_tables",
    "override_text",
    "override_value",
    "parse_override",
    "read_tables",
    "renamed_tables",
    "split_override",
]


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def as_tables(config: Any) -> dict[str, Any]:
    """The TOML-shaped tables of a config dataclass tree: tables for dataclasses, arrays for
    tuples, unset (``None``) fields left out, so that validating them gives the tree back."""

    def plain(value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:  # only a config built in code with odd values gets here
            raise ScenarioError("", f"nested deeper than {MAX_DEPTH} tables or arrays")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                name: plain(getattr(value, name), depth + 1)
                for name in _field_names(type(value))
                if getattr(value, name) is not None
            }
        if isinstance(value, tuple | list):
            return [plain(v, depth + 1) for v in value]
        return value

    out: dict[str, Any] = plain(config)
    return out


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def split_override(text: str) -> tuple[str, str]:
    """``dotted.key=VALUE`` split into its key (checked: bare dotted parts) and its raw value
    text; ``ScenarioError`` on field ``--set`` otherwise."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not _BARE_KEY.fullmatch(part) for part in parts):
        raise ScenarioError("--set", f"expected KEY=VALUE (a dotted key), got {show(text)}")
    return key, raw.strip()


def override_value(key: str, raw: str) -> Any:
    """One TOML value (``3``, ``0.5``, ``"x"``, ``[1, 2]``): text after it (a second line) is
    refused, never dropped. ``ScenarioError`` on field ``key`` otherwise."""
    if nested_over(raw.encode("utf-8", "surrogateescape"), MAX_DEPTH, toml=True):
        raise ScenarioError(key, f"nested deeper than {MAX_DEPTH} arrays or tables")
    try:
        doc = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            key, f'not a TOML value: {show(raw)} (quote strings: key="text")'
        ) from None
    except RecursionError:  # pragma: no cover - nested_over refuses this first
        raise ScenarioError(key, "nested too deeply") from None
    except (ValueError, UnicodeError) as exc:
        # tomllib's own int() refuses more than 4,300 digits with a plain ValueError.
        raise ScenarioError(key, f"not a TOML value: {exc}") from None
    if len(doc) != 1:
        raise ScenarioError(key, f"one value per --set, got more after it: {show(raw)}")
    return doc["v"]


def parse_override(text: str) -> tuple[str, Any]:
    """``dotted.key=VALUE`` with VALUE in TOML syntax (``3``, ``0.5``, ``"x"``, ``[1, 2]``):
    the one ``--set`` parser (the command line's door adds its size and width caps). The key
    is checked against the schema when the tables are validated."""
    key, raw = split_override(text)
    return key, override_value(key, raw)


def override_text(key: str, value: Any) -> str:
    """The ``--set`` text of one override (``key=VALUE``, VALUE in TOML syntax), which
    :func:`parse_override` reads back as ``(key, value)``: replay commands print it."""

    def toml(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list | tuple):
            return "[" + ", ".join(toml(x) for x in v) + "]"
        return repr(v)

    return f"{key}={toml(value)}"


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of scenario tables with dotted keys set (``{"endpoints.count": 0}``);
    missing tables are created."""
    if not isinstance(data, dict):
        raise ScenarioError("", f"a scenario must be a table, got {show(data)}")
    check_plain(data, "")  # bounded depth before deepcopy recurses through it
    for value in overrides.values():
        check_plain({"v": value}, "")
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


def read_tables(path: str | Path, kind: str = "scenario") -> dict[str, Any]:
    """A TOML file's tables, read through the input door's reader as a ``kind`` of input
    (``ScenarioError`` if unreadable or malformed)."""
    p = Path(path)
    # The input door's reader, depth scan and TOML parser: regular files only, at most the
    # kind's size and nesting (so tomllib never recurses past it).
    try:
        data = read_file(p, kind)
        check_depth(data, KINDS[kind].max_depth, str(p), toml=True)
        return parse_toml(data, str(p))
    except InputError as exc:
        raise ScenarioError("", str(exc)) from None


def renamed_tables(data: Any, renamed: Mapping[str, str], *, stacklevel: int = 2) -> Any:
    """``data`` with the old names of its top-level tables (``renamed``: old -> new) replaced
    by the new ones, each with a ``DeprecationWarning``; a copy, made only if needed. Both
    names at once are refused (``ScenarioError`` naming the old one)."""
    if not isinstance(data, dict) or not any(old in data for old in renamed):
        return data
    out = dict(data)
    for old, new in renamed.items():
        if old not in out:
            continue
        if new in out:
            raise ScenarioError(old, f"is the old name of [{new}]: give only [{new}]")
        warnings.warn(
            f"table [{old}] is deprecated: call it [{new}]",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )
        out[new] = out.pop(old)
    return out
