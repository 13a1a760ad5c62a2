"""Configuration as TOML tables, whatever the schema: read a file's tables, set dotted keys,
and turn a config dataclass tree back into tables.

Nothing here knows a field of any configuration; :mod:`dnsrace.sim.scenario` validates what
comes out (:func:`dnsrace.config.schema.validate`). Every step is bounded before it recurses:
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

from dnsrace.config.errors import ScenarioError
from dnsrace.config.limits import MAX_DEPTH
from dnsrace.config.schema import check_plain, show
from dnsrace.inputfile import InputError, read_file

__all__ = ["apply_overrides", "as_tables", "parse_override", "read_tables", "renamed_tables"]


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


def _nesting(text: str) -> int:
    """Deepest bracket nesting of a TOML value, outside strings: checked before tomllib (which
    recurses once per level) sees it."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for c in text:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\" and quote == '"':
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_override(text: str) -> tuple[str, Any]:
    """``dotted.key=VALUE`` with VALUE in TOML syntax (``3``, ``0.5``, ``"x"``, ``[1, 2]``).

    One value per override: text after the value (``seed=1\\nname="x"``) is refused, never
    dropped. The key is checked against the schema when the tables are validated."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not _BARE_KEY.fullmatch(part) for part in parts):
        raise ScenarioError(
            "--set",
            f"expected KEY=VALUE with a dotted key of letters, digits, _ or -, got {show(text)}",
        )
    if _nesting(raw) > MAX_DEPTH:
        raise ScenarioError(key, f"nested deeper than {MAX_DEPTH} arrays or tables")
    try:
        doc = tomllib.loads(f"v = {raw.strip()}")
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            key, f'not a TOML value: {show(raw.strip())} (quote strings: key="text")'
        ) from None
    except RecursionError:  # pragma: no cover - _nesting refuses this first
        raise ScenarioError(key, "nested too deeply") from None
    if len(doc) != 1:
        raise ScenarioError(key, f"one value per --set, got more after it: {show(raw.strip())}")
    return key, doc["v"]


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
    # The input door's reader: regular files only, at most the kind's size limit.
    try:
        raw = read_file(p, kind)
    except InputError as exc:
        raise ScenarioError("", str(exc)) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError("", f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"{p}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError("", f"{p}: nested too deeply to read") from None


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
