"""Every public function of ``dnsrace.history``, given arguments of any type, returns or raises
a typed ``dnsrace.errors.DnsraceError`` (issue 18): never a bare ``TypeError``,
``OverflowError`` or ``ValueError`` from a conversion underneath."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pathlib
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dnsrace
from dnsrace import history
from dnsrace.errors import DnsraceError, InvalidArgument, InvalidHistory

GOOD = (
    b'{"client":0,"endpoint":0,"op":"put_tree","call":1,"return":2,'
    b'"input":{"generation":1},"output":{}}\n'
)


class BadPath(os.PathLike[str]):
    """A path-like whose ``__fspath__`` returns no text."""

    def __fspath__(self) -> Any:
        return 5


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _places() -> dict[str, pathlib.Path]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="dnsrace-history-fuzz-"))
    (root / "good.jsonl").write_bytes(GOOD)
    (root / "bad.jsonl").write_bytes(b"not json\n")
    (root / "dir").mkdir()
    os.mkfifo(root / "fifo")
    return {p.name: p for p in root.iterdir()} | {"missing": root / "missing.jsonl"}


PLACES = _places()
SCALARS: list[Any] = [
    None, True, False, 0, 1, -1, 2**63, 2**64, -(2**63), 10**400, 10**5000, 0.0, 0.5, -1.0,
    1e300, math.nan, math.inf, -math.inf, "", "0", "1", "2.5", "-1", "nan", "inf", "1e9",
    "1" * 30, "x" * 5000, "\udcff", "a\x00b", ".", "/", "/dev/zero", "/dev/null",
    b"", GOOD, GOOD * 3, b"\xff\n", b"{}\n", b'{"truncated":{"dropped":1}}\n' + GOOD,
    bytearray(GOOD), memoryview(GOOD), memoryview(GOOD)[::2], [], [GOOD], (), {}, set(),
    object(), BadPath(), BadRepr(), 1j, asyncio, str, b"good.jsonl",
]  # fmt: skip


def _pick(values: list[Any]) -> st.SearchStrategy[Any]:
    # By index: some values (memoryviews) cannot be hashed for sampled_from.
    return st.integers(0, len(values) - 1).map(values.__getitem__)


def hostile() -> st.SearchStrategy[Any]:
    return st.one_of(
        _pick(SCALARS),
        st.sampled_from(sorted(PLACES)).map(lambda name: str(PLACES[name])),
        st.sampled_from(sorted(PLACES)).map(PLACES.__getitem__),
        st.integers(),
        st.floats(),
        st.text(max_size=20),
        st.binary(max_size=200),
    )


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "check": history.check,
    "read": history.read,
    "dropped": history.dropped,
    "load": history.load,
    "history_hash": history.history_hash,
    "timeout_option": history.timeout_option,
    "max_states_option": history.max_states_option,
    "record_tasks": history.record_tasks,
}


def test_every_public_function_of_the_module_is_fuzzed() -> None:
    public = {name for name in history.__all__ if callable(getattr(history, name))}
    types = {"Bounds", "CheckResult", "DomainViolation", "IllegalWindow", "Operation"}
    assert public - types - {"OptionError"} == set(FUNCTIONS)


def _shown(value: Any) -> str:
    try:
        return repr(value)[:100]
    except Exception:  # a huge int, a repr that raises
        return f"<{type(value).__name__}>"


def _call(name: str, args: list[Any], keywords: dict[str, Any]) -> None:
    try:
        FUNCTIONS[name](*args, **keywords)
    except DnsraceError:
        pass
    except BaseException as exc:
        given = [_shown(a) for a in args] + [f"{k}={_shown(v)}" for k, v in keywords.items()]
        raise AssertionError(f"{name}({', '.join(given)}): {exc!r}") from exc


@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    source=hostile(),
    keywords=st.dictionaries(
        st.sampled_from(["timeout", "max_states", "linearizations"]), hostile(), max_size=3
    ),
)
def test_any_argument_gives_a_result_or_a_typed_error(
    name: str, source: Any, keywords: dict[str, Any]
) -> None:
    _call(name, [source], keywords if name == "check" else {})


@given(
    timeout=st.one_of(st.none(), hostile()),
    max_states=st.one_of(st.none(), hostile()),
    linearizations=st.one_of(st.booleans(), hostile()),
)
def test_the_checks_keywords_of_any_type_are_typed_errors(
    timeout: Any, max_states: Any, linearizations: Any
) -> None:
    _call(
        "check",
        [GOOD],
        {"timeout": timeout, "max_states": max_states, "linearizations": linearizations},
    )


def test_the_named_cases_of_each_kind() -> None:
    for source in (5, None, 1.5, ["a"], object(), BadPath()):
        for name in ("check", "read", "dropped", "load", "history_hash"):
            with pytest.raises(InvalidArgument, match="history"):
                FUNCTIONS[name](source)
    assert history.read(bytearray(GOOD)) == history.read(GOOD) == history.read(PLACES["good.jsonl"])
    with pytest.raises(InvalidHistory, match="FIFO"):
        history.check(str(PLACES["fifo"]))
    for keywords in (
        {"timeout": "1"},
        {"timeout": True},
        {"timeout": 10**400},
        {"max_states": 2.0},
        {"max_states": -1},
        {"max_states": 10**5000},
        {"linearizations": 1},
    ):
        with pytest.raises(InvalidArgument):
            history.check(GOOD, **keywords)
    assert history.check(GOOD, timeout=5, max_states=10)["verdict"] == "ok"
    with pytest.raises(InvalidArgument) as info:
        history.timeout_option(None)  # type: ignore[arg-type]
    assert isinstance(info.value, history.OptionError)
    with pytest.raises(InvalidArgument, match="running event loop"):
        history.record_tasks()
    with pytest.raises(InvalidArgument, match="event loop"):
        history.record_tasks(dnsrace)  # type: ignore[arg-type]


@given(
    data=hostile(),
    keywords=st.dictionaries(
        st.sampled_from(["timeout", "max_states", "linearizations", "memoize", "threads"]),
        hostile(),
        max_size=5,
    ),
)
def test_the_native_functions_answer_any_argument_with_a_typed_error(
    data: Any, keywords: dict[str, Any]
) -> None:
    # dnsrace._core's own entry points (bytes only): a bare TypeError from PyO3's conversions
    # was what they raised before.
    for call in (
        lambda: dnsrace._core.parse_history(data),
        lambda: dnsrace._core.check_history(data, **keywords),
        lambda: dnsrace._core.check_history(GOOD, **keywords),
    ):
        with contextlib.suppress(DnsraceError):
            call()


@given(
    keywords=st.dictionaries(
        st.sampled_from(["timeout", "max_states", "linearizations", "as_dict"]),
        hostile(),
        max_size=4,
    )
)
def test_the_stores_check_keywords_of_any_type_are_typed_errors(keywords: dict[str, Any]) -> None:
    store = dnsrace.RecordStore(history=64)
    with contextlib.suppress(DnsraceError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # as_dict=False's text form
        store.check_history(**keywords)
