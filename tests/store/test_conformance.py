"""Every store operation and error path, against the Rust store and the Python reference.

Written from the contract (``dnsrace/_core.pyi`` and the design brief), not from either
implementation. ``any_store`` (see conftest) is a (StoreClass, PlanClass) pair.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import dnsrace
from conftest import versions_count_flips
from dnsrace import (
    DanglingAlias,
    DeleteResult,
    DnsraceError,
    EndpointState,
    FlipCounts,
    InternalError,
    InvalidAddress,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    InvalidToken,
    InvalidWeight,
    LeaseError,
    LeaseHeld,
    LeaseLost,
    UnknownEndpoint,
    UnknownPlan,
)

MAX = 2**63 - 1
NAMES = ["a.example", "b.example", "c.example"]
T1 = [("10.0.0.1", 10), ("10.0.0.2", 20)]
T2 = [("10.0.1.1", 1)]
T3 = [("2001:db8::1", 5), ("192.0.2.1", 7), ("10.9.9.9", 0)]

STATS_KEYS = {
    "endpoints",
    "plans",
    "trees",
    "target_sets",
    "records_live",
    "flips_applied",
    "stale_flips",
    "outdated_rejections",
    "fenced_rejections",
    "missing_rejections",
    "dangling_rejections",
    "empty_answers",
    "dangling_aliases",
    "dangling_rollbacks",
    "lease_conflicts",
    "leases_granted",
}


def new_store(any_store: Any, n: int = 3, gens: tuple[int, ...] = ()) -> Any:
    """A store with ``n`` endpoints and, for each of ``gens``, a plan giving every endpoint T1."""
    store = any_store.Store()
    store.add_endpoints(NAMES[:n])
    for g in gens:
        store.put_plan(any_store.Plan(g, dict.fromkeys(NAMES[:n], T1)))
    return store


def stats_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


# ============================================================================================
# errors module
# ============================================================================================


def test_error_hierarchy() -> None:
    for cls in (InvalidName, InvalidAddress, InvalidWeight, InvalidGeneration, InvalidToken):
        assert issubclass(cls, InvalidArgument)
    assert issubclass(InvalidArgument, ValueError)
    assert issubclass(InvalidArgument, DnsraceError)
    for cls in (UnknownEndpoint, UnknownPlan):
        assert issubclass(cls, KeyError)
        assert issubclass(cls, DnsraceError)
        assert not issubclass(cls, ValueError)
    assert issubclass(DanglingAlias, DnsraceError)
    assert not issubclass(DanglingAlias, (ValueError, KeyError, LeaseError))
    for cls in (LeaseHeld, LeaseLost):
        assert issubclass(cls, LeaseError)
        assert issubclass(cls, DnsraceError)
        assert not issubclass(cls, (ValueError, KeyError))
    assert issubclass(InternalError, DnsraceError)
    assert issubclass(DnsraceError, Exception)


def test_lookup_errors_have_unquoted_messages() -> None:
    assert str(UnknownEndpoint("x")) == "x"
    assert str(UnknownPlan("no tree of generation 3")) == "no tree of generation 3"
    assert str(UnknownEndpoint()) == ""
    assert str(KeyError("x")) == "'x'"  # what the override avoids


def test_package_exports() -> None:
    for name in dnsrace.__all__:
        if name not in ("RecordStore", "Plan"):
            assert getattr(dnsrace, name) is not None
    with pytest.raises(AttributeError):
        _ = dnsrace.NoSuchThing  # type: ignore[attr-defined]


def test_lookup_errors_raised_by_store_have_unquoted_messages(any_store: Any) -> None:
    store = new_store(any_store)
    with pytest.raises(UnknownEndpoint) as info:
        store.endpoint_id("zz.example")
    assert "zz.example" in str(info.value)
    assert not str(info.value).startswith(("'", '"'))


# ============================================================================================
# names and endpoints
# ============================================================================================

VALID_NAMES = [
    ("a", "a"),
    ("A", "a"),
    ("a.", "a"),
    ("Example.COM.", "example.com"),
    ("api-1.us-east-1.example", "api-1.us-east-1.example"),
    ("0-0.x", "0-0.x"),
    ("123", "123"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("x" * 63, "x" * 63),
    ("a-b-c.d", "a-b-c.d"),
    (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
    (".".join(["A" * 63] * 3) + "." + "b" * 61 + ".", ".".join(["a" * 63] * 3) + "." + "b" * 61),
]

INVALID_NAMES = [
    "",
    ".",
    "..",
    "a..",
    "a..b",
    ".a",
    "-a",
    "a-",
    "a.-b",
    "a.b-",
    "a_b",
    "a b",
    " a",
    "a\n",
    "a/b",
    "a*",
    "x" * 64,
    "x" * 64 + ".example",
    ".".join(["a" * 63] * 3) + "." + "b" * 62,  # 254 characters
    "é.example",
    "\uff41.example",  # fullwidth a
    "bücher.example",
    "\u212a.example",  # Kelvin sign: lower-cases to ASCII k in Python
]


@pytest.mark.parametrize(("name", "canonical"), VALID_NAMES)
def test_valid_names(any_store: Any, name: str, canonical: str) -> None:
    assert len(canonical) <= 253
    store = any_store.Store()
    assert store.add_endpoints([name]) == [0]
    assert store.endpoint_name(0) == canonical
    assert store.endpoint_id(canonical) == 0
    assert store.endpoint_id(name) == 0
    assert store.endpoint_name(name.upper()) == canonical


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names(any_store: Any, name: str) -> None:
    store = any_store.Store()
    with pytest.raises(InvalidName):
        store.add_endpoints([name])
    with pytest.raises(InvalidName):
        store.endpoint_id(name)
    with pytest.raises(InvalidName):
        store.endpoint_name(name)
    with pytest.raises(InvalidName):
        any_store.Plan(1, {name: T1})
    assert len(store) == 0


@pytest.mark.parametrize("name", [None, 1, 1.0, b"a.example", True, ["a"]])
def test_non_str_names_are_invalid_names(any_store: Any, name: object) -> None:
    store = any_store.Store()
    with pytest.raises(InvalidName):
        store.add_endpoints([name])
    assert len(store) == 0


def test_invalid_name_message_names_the_value(any_store: Any) -> None:
    with pytest.raises(InvalidName, match="bad_name"):
        any_store.Store().add_endpoints(["bad_name.example"])


def test_add_endpoints_dense_and_idempotent(any_store: Any) -> None:
    store = any_store.Store()
    assert len(store) == 0
    assert store.add_endpoints(["a.example", "B.example."]) == [0, 1]
    assert store.add_endpoints(["c.example", "A.EXAMPLE", "c.example.", "b.example"]) == [
        2,
        0,
        2,
        1,
    ]
    assert len(store) == 3
    assert store.add_endpoints([]) == []
    assert store.add_endpoints(("d.example",)) == [3]
    assert store.add_endpoints(n for n in ["e.example", "a.example"]) == [4, 0]
    assert [store.endpoint_name(i) for i in range(5)] == [
        "a.example",
        "b.example",
        "c.example",
        "d.example",
        "e.example",
    ]
    assert store.stats()["endpoints"] == 5


def test_add_endpoints_all_or_nothing(any_store: Any) -> None:
    store = any_store.Store()
    store.add_endpoints(["a.example"])
    with pytest.raises(InvalidName):
        store.add_endpoints(["new1.example", "new2.example", "-bad"])
    assert len(store) == 1
    with pytest.raises(UnknownEndpoint):
        store.endpoint_id("new1.example")
    assert store.add_endpoints(["new1.example"]) == [1]


def test_add_endpoints_rejects_a_str(any_store: Any) -> None:
    store = any_store.Store()
    with pytest.raises(InvalidArgument) as info:
        store.add_endpoints("a.example")
    assert type(info.value) is InvalidArgument
    assert len(store) == 0


def test_endpoint_id(any_store: Any) -> None:
    store = new_store(any_store)
    assert store.endpoint_id("b.example") == 1
    assert store.endpoint_id("C.Example.") == 2
    with pytest.raises(UnknownEndpoint, match=r"zz\.example"):
        store.endpoint_id("zz.example")
    with pytest.raises(InvalidName):
        store.endpoint_id("a..example")
    for bad in (0, 1, True, None, 1.0, b"a.example"):
        with pytest.raises(InvalidArgument) as info:
            store.endpoint_id(bad)
        assert type(info.value) is InvalidArgument


def test_endpoint_arguments(any_store: Any) -> None:
    store = new_store(any_store)
    assert store.endpoint_name(0) == "a.example"
    assert store.endpoint_name(2) == "c.example"
    assert store.endpoint_name("B.EXAMPLE.") == "b.example"
    for bad in (3, -1, 2**32, 2**64, -(2**70)):
        with pytest.raises(UnknownEndpoint):
            store.endpoint_name(bad)
    with pytest.raises(UnknownEndpoint, match=r"zz\.example"):
        store.endpoint_name("zz.example")
    with pytest.raises(InvalidName):
        store.endpoint_name("-x")
    for bad in (True, False, 0.0, 1.5, None, b"a.example", ["a.example"], ("a.example",)):
        with pytest.raises(InvalidArgument) as info:
            store.endpoint_name(bad)
        assert type(info.value) is InvalidArgument


def test_unknown_endpoint_id_message_names_the_id(any_store: Any) -> None:
    store = new_store(any_store)
    with pytest.raises(UnknownEndpoint, match="17"):
        store.state(17)


# ============================================================================================
# Plan
# ============================================================================================


def test_plan_basics(any_store: Any) -> None:
    plan = any_store.Plan(7, {"A.example.": T3, 1: T1, "c.example": []})
    assert plan.generation == 7
    assert len(plan) == 3
    assert plan.records == 5
    assert plan.endpoints() == ["a.example", 1, "c.example"]
    assert plan.targets("a.example") == (("10.9.9.9", 0), ("192.0.2.1", 7), ("2001:db8::1", 5))
    assert plan.targets("A.EXAMPLE.") == plan.targets("a.example")
    assert plan.targets(1) == (("10.0.0.1", 10), ("10.0.0.2", 20))
    assert plan.targets("c.example") == ()
    for bad in ("b.example", 0, 2, -1, 2**40):
        with pytest.raises(UnknownEndpoint):
            plan.targets(bad)
    with pytest.raises(InvalidName):
        plan.targets("bad..name")
    for bad in (None, 1.0, True):
        with pytest.raises(InvalidArgument):
            plan.targets(bad)


def test_plan_is_immutable(any_store: Any) -> None:
    plan = any_store.Plan(1, {"a.example": T1})
    with pytest.raises(AttributeError):
        plan.generation = 2
    with pytest.raises(AttributeError):
        plan.records = 0
    assert plan.generation == 1
    eps = plan.endpoints()
    eps.append("x")
    assert plan.endpoints() == ["a.example"]


def test_plan_accepts_any_mapping_and_iterables(any_store: Any) -> None:
    import types

    mapping = types.MappingProxyType({"a.example": iter([("10.0.0.1", 1)]), "b.example": ()})
    plan = any_store.Plan(1, mapping)
    assert plan.targets("a.example") == (("10.0.0.1", 1),)
    assert plan.targets("b.example") == ()
    plan = any_store.Plan(2, {"a.example": [["10.0.0.2", 3], ["10.0.0.1", 4]]})
    assert plan.targets("a.example") == (("10.0.0.1", 4), ("10.0.0.2", 3))
    assert len(any_store.Plan(3, {})) == 0
    assert any_store.Plan(3, {}).records == 0


@pytest.mark.parametrize("targets", [[("a.example", T1)], None, 5, "a.example", {"a.example"}])
def test_plan_targets_must_be_a_mapping(any_store: Any, targets: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        any_store.Plan(1, targets)
    assert type(info.value) is InvalidArgument


@pytest.mark.parametrize("gen", [0, -1, 2**63, 2**64, True, False, 1.0, "1", None])
def test_plan_invalid_generation(any_store: Any, gen: object) -> None:
    with pytest.raises(InvalidGeneration):
        any_store.Plan(gen, {"a.example": T1})
    with pytest.raises(InvalidGeneration):
        any_store.Plan.from_shared(gen, [T1], ["a.example"], [0])


def test_plan_generation_bounds(any_store: Any) -> None:
    assert any_store.Plan(1, {}).generation == 1
    assert any_store.Plan(MAX, {}).generation == MAX
    assert any_store.Plan.from_shared(MAX, [], [], []).generation == MAX


def test_plan_invalid_generation_message(any_store: Any) -> None:
    with pytest.raises(InvalidGeneration, match="0"):
        any_store.Plan(0, {})


def test_plan_int_keys(any_store: Any) -> None:
    plan = any_store.Plan(1, {0: T1, 2**32 - 1: T2})
    assert plan.endpoints() == [0, 2**32 - 1]
    for bad in (2**32, -1, 2**63):
        with pytest.raises(UnknownEndpoint):
            any_store.Plan(1, {bad: T1})
        with pytest.raises(UnknownEndpoint):
            any_store.Plan.from_shared(1, [T1], [bad], [0])


def test_plan_non_endpoint_keys(any_store: Any) -> None:
    # Contract decision: a key that is neither str nor int is an invalid argument, as for
    # every other endpoint argument.
    for bad in (True, 1.0, None, b"a.example", ("a.example",)):
        with pytest.raises(InvalidArgument) as info:
            any_store.Plan(1, {bad: T1})
        assert type(info.value) is InvalidArgument


def test_plan_duplicate_endpoint(any_store: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        any_store.Plan(1, {"a.example": T1, "A.EXAMPLE.": T2})
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        any_store.Plan.from_shared(1, [T1], ["a.example", "a.example."], [0, 0])
    with pytest.raises(InvalidArgument):
        any_store.Plan.from_shared(1, [T1], [3, 3], [0, 0])
    # A name and an int are different keys until the plan is put.
    assert len(any_store.Plan(1, {"a.example": T1, 0: T2})) == 2


ADDRESSES = [
    ("10.0.0.1", "10.0.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"),
    ("::", "::"),
    ("::1", "::1"),
    ("0:0:0:0:0:0:0:1", "::1"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
    ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
    ("fe80::1", "fe80::1"),
    ("FE80:0:0:0:0:0:0:ABCD", "fe80::abcd"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
    ("::FFFF:0102:0304", "::ffff:1.2.3.4"),
    ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
    ("::1.2.3.4", "::102:304"),
    ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::ffff:0:0", "::ffff:0.0.0.0"),
]


@pytest.mark.parametrize(("text", "canonical"), ADDRESSES)
def test_address_canonical_form(any_store: Any, text: str, canonical: str) -> None:
    plan = any_store.Plan(1, {"a.example": [(text, 9)]})
    assert plan.targets("a.example") == ((canonical, 9),)


INVALID_ADDRESSES = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.04",
    "1.2.3.00",
    "256.1.1.1",
    "1.2.3.-1",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "1.2.3.4/32",
    "0x1.2.3.4",
    "1.2.3.4:53",
    "١.٢.٣.٤",  # Arabic-Indic digits
    "fe80::1%eth0",
    "fe80::1%1",
    "[::1]",
    ":::",
    "::g",
    "1::2::3",
    "12345::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "1:2:3:4:5:6::1.2.3.4",
    "::01.2.3.4",
    "::1.2.3.256",
    "1.2.3.4::",
    "localhost",
]


@pytest.mark.parametrize("text", INVALID_ADDRESSES)
def test_invalid_addresses(any_store: Any, text: str) -> None:
    with pytest.raises(InvalidAddress):
        any_store.Plan(1, {"a.example": [(text, 1)]})
    with pytest.raises(InvalidAddress):
        any_store.Plan.from_shared(1, [[(text, 1)]], ["a.example"], [0])


@pytest.mark.parametrize("address", [None, 167772161, b"10.0.0.1", 1.5, ["10.0.0.1"]])
def test_non_str_addresses(any_store: Any, address: object) -> None:
    with pytest.raises(InvalidAddress):
        any_store.Plan(1, {"a.example": [(address, 1)]})


def test_invalid_address_message_names_the_value(any_store: Any) -> None:
    with pytest.raises(InvalidAddress, match=re.escape("01.2.3.4")):
        any_store.Plan(1, {"a.example": [("01.2.3.4", 1)]})


@pytest.mark.parametrize("weight", [0, 1, 128, 255])
def test_valid_weights(any_store: Any, weight: int) -> None:
    plan = any_store.Plan(1, {"a.example": [("10.0.0.1", weight)]})
    assert plan.targets("a.example") == (("10.0.0.1", weight),)
    assert type(plan.targets("a.example")[0][1]) is int


@pytest.mark.parametrize("weight", [256, -1, 2**64, True, False, 1.0, "1", None])
def test_invalid_weights(any_store: Any, weight: object) -> None:
    with pytest.raises(InvalidWeight):
        any_store.Plan(1, {"a.example": [("10.0.0.1", weight)]})
    with pytest.raises(InvalidWeight):
        any_store.Plan.from_shared(1, [[("10.0.0.1", weight)]], ["a.example"], [0])


def test_invalid_weight_message(any_store: Any) -> None:
    with pytest.raises(InvalidWeight, match=r"256.*10\.0\.0\.1|10\.0\.0\.1.*256"):
        any_store.Plan(1, {"a.example": [("10.0.0.1", 256)]})


@pytest.mark.parametrize(
    "target", [("10.0.0.1",), ("10.0.0.1", 1, 2), (), 5, None, "10.0.0.1", ["10.0.0.1"]]
)
def test_malformed_targets(any_store: Any, target: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        any_store.Plan(1, {"a.example": [target]})
    assert type(info.value) is InvalidArgument


def test_target_set_must_be_iterable(any_store: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        any_store.Plan(1, {"a.example": 5})
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": None})
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": ""})


@pytest.mark.parametrize(
    "pair",
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:db8::1", "2001:DB8:0::1"),
        ("::ffff:1.2.3.4", "::FFFF:102:304"),
        ("::", "0:0:0:0:0:0:0:0"),
    ],
)
def test_duplicate_addresses(any_store: Any, pair: tuple[str, str]) -> None:
    a, b = pair
    with pytest.raises(InvalidArgument) as info:
        any_store.Plan(1, {"a.example": [(a, 1), ("10.1.1.1", 2), (b, 3)]})
    assert type(info.value) is InvalidArgument


def test_ipv4_and_its_mapped_form_are_different_addresses(any_store: Any) -> None:
    plan = any_store.Plan(1, {"a.example": [("::ffff:10.0.0.1", 1), ("10.0.0.1", 2)]})
    assert plan.targets("a.example") == (("10.0.0.1", 2), ("::ffff:10.0.0.1", 1))


def test_target_set_order(any_store: Any) -> None:
    targets = [
        ("::1", 1),
        ("10.0.0.10", 2),
        ("10.0.0.9", 3),
        ("::ffff:0.0.0.1", 4),
        ("9.255.255.255", 5),
        ("fe80::", 6),
        ("::", 7),
        ("255.255.255.255", 8),
        ("0.0.0.0", 9),
        ("2001:db8::", 10),
    ]
    plan = any_store.Plan(1, {"a.example": targets})
    assert plan.targets("a.example") == (
        ("0.0.0.0", 9),
        ("9.255.255.255", 5),
        ("10.0.0.9", 3),
        ("10.0.0.10", 2),
        ("255.255.255.255", 8),
        ("::", 7),
        ("::1", 1),
        ("::ffff:0.0.0.1", 4),
        ("2001:db8::", 10),
        ("fe80::", 6),
    )
    assert plan.records == 10


def test_from_shared(any_store: Any) -> None:
    plan = any_store.Plan.from_shared(
        4, [T1, T3, []], ["a.example", "B.example.", 2, 7], [1, 0, 1, 2]
    )
    assert plan.generation == 4
    assert len(plan) == 4
    assert plan.endpoints() == ["a.example", "b.example", 2, 7]
    assert plan.records == 3 + 2 + 3 + 0
    assert plan.targets("b.example") == (("10.0.0.1", 10), ("10.0.0.2", 20))
    assert plan.targets(2) == plan.targets("a.example")
    assert plan.targets(7) == ()
    assert plan.targets(2) == (("10.9.9.9", 0), ("192.0.2.1", 7), ("2001:db8::1", 5))
    # Tuples and unused sets are fine.
    plan = any_store.Plan.from_shared(5, (T1, T2), ("a.example",), (1,))
    assert plan.records == 1
    empty = any_store.Plan.from_shared(6, [], [], [])
    assert len(empty) == 0
    assert empty.records == 0


def test_from_shared_errors(any_store: Any) -> None:
    P = any_store.Plan
    with pytest.raises(InvalidArgument) as info:
        P.from_shared(1, [T1], ["a.example", "b.example"], [0])
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        P.from_shared(1, [T1], ["a.example"], [0, 0])
    for index in (1, -1, 2**64, True, 0.0, "0", None):
        with pytest.raises(InvalidArgument) as info:
            P.from_shared(1, [T1], ["a.example"], [index])
        assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        P.from_shared(1, [], ["a.example"], [0])
    # Every set is validated, even an unused one.
    with pytest.raises(InvalidAddress):
        P.from_shared(1, [T1, [("1.2.3", 1)]], ["a.example"], [0])
    with pytest.raises(InvalidWeight):
        P.from_shared(1, [T1, [("1.2.3.4", 256)]], [], [])
    with pytest.raises(InvalidArgument):
        P.from_shared(1, [T1, [("1.2.3.4", 1), ("1.2.3.4", 2)]], [], [])
    with pytest.raises(InvalidName):
        P.from_shared(1, [T1], ["a..example"], [0])


# ============================================================================================
# put_plan, plan_generations, has_tree
# ============================================================================================


def test_put_plan(any_store: Any) -> None:
    store = new_store(any_store)
    assert store.plan_generations() == []
    plan = any_store.Plan(3, {"a.example": T1, 1: T1, "C.EXAMPLE.": T3})
    assert store.put_plan(plan) is None
    assert store.plan_generations() == [3]
    for ep in (0, 1, 2, "a.example", "B.example."):
        assert store.has_tree(ep, 3) is True
        assert store.has_tree(ep, 4) is False
    stats = store.stats()
    assert stats["plans"] == 1
    assert stats["trees"] == 3
    assert stats["target_sets"] == 2
    assert stats["records_live"] == 2 + 2 + 3
    store.put_plan(any_store.Plan(1, {"a.example": T1}))
    store.put_plan(any_store.Plan.from_shared(MAX, [T2, T1], ["b.example"], [1]))
    assert store.plan_generations() == [1, 3, MAX]
    assert store.has_tree("a.example", 1)
    assert not store.has_tree("b.example", 1)
    stats = store.stats()
    assert (stats["plans"], stats["trees"], stats["target_sets"], stats["records_live"]) == (
        3,
        5,
        2,
        11,
    )


def test_put_plan_empty_sets_count_as_trees(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": [], "b.example": []}))
    assert store.plan_generations() == [1]
    assert store.has_tree("a.example", 1)
    stats = store.stats()
    assert stats["trees"] == 2
    assert stats["records_live"] == 0
    assert store.flip(0, 1) is True
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == []


def test_put_empty_plan_stores_nothing(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {}))
    assert store.plan_generations() == []
    store.put_plan(any_store.Plan(1, {"a.example": T1}))
    assert store.plan_generations() == [1]


@pytest.mark.parametrize("plan", [None, {}, {"a.example": T1}, 1, "plan"])
def test_put_plan_wrong_type(any_store: Any, plan: object) -> None:
    store = new_store(any_store)
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(plan)
    assert type(info.value) is InvalidArgument


def test_put_plan_rejects_the_other_implementations_plan(any_store: Any) -> None:
    from conftest import PY_IMPL, rust_impl

    others = [
        impl.Plan for impl in (PY_IMPL, rust_impl()) if impl and impl.Plan is not any_store.Plan
    ]
    store = new_store(any_store)
    for other in others:
        with pytest.raises(InvalidArgument):
            store.put_plan(other(1, {"a.example": T1}))


def test_put_plan_same_generation_twice(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.stats()
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(any_store.Plan(1, {"a.example": T2}))
    assert type(info.value) is InvalidArgument
    assert store.stats() == before
    assert store.put_plan(any_store.Plan(2, {"a.example": T2})) is None


def test_put_plan_again_after_all_trees_deleted(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    # Generation 1 is every endpoint's rollback: safe clean-up keeps it, so it is still stored.
    assert store.delete_plans([1]) == DeleteResult(0, 3, [1], [])
    with pytest.raises(InvalidArgument):
        store.put_plan(any_store.Plan(1, {"a.example": T2}))
    # Some trees remain after a partial delete: still stored.
    store.put_plan(any_store.Plan(5, {"a.example": T1, "b.example": T2}))
    store.flip("a.example", 5)
    assert store.delete_plans([5]) == DeleteResult(1, 1, [5], [])
    with pytest.raises(InvalidArgument):
        store.put_plan(any_store.Plan(5, {"b.example": T2}))
    # Unsafe clean-up removes everything: the generation may be put again (repair).
    assert store.delete_plans([1, 5], safe=False) == DeleteResult(4, 0, [], [])
    assert store.plan_generations() == [2]
    store.put_plan(any_store.Plan(1, {"a.example": T3}))
    assert store.plan_generations() == [1, 2]
    assert store.has_tree(0, 1)
    assert not store.has_tree(1, 1)


def test_put_plan_unknown_endpoints_store_nothing(any_store: Any) -> None:
    store = new_store(any_store)
    before = store.stats()
    with pytest.raises(UnknownEndpoint, match=r"zz\.example"):
        store.put_plan(any_store.Plan(1, {"a.example": T1, "zz.example": T1}))
    with pytest.raises(UnknownEndpoint):
        store.put_plan(any_store.Plan(1, {"a.example": T1, 3: T1}))
    with pytest.raises(UnknownEndpoint):
        store.put_plan(any_store.Plan.from_shared(1, [T1], [0, 2**32 - 1], [0, 0]))
    assert store.stats() == before
    assert store.plan_generations() == []
    assert not store.has_tree(0, 1)
    store.add_endpoints(["zz.example"])
    store.put_plan(any_store.Plan(1, {"a.example": T1, "zz.example": T1}))
    assert store.has_tree("zz.example", 1)


def test_put_plan_same_endpoint_by_name_and_id(any_store: Any) -> None:
    # Contract decision: a plan naming one endpoint twice (by name and by id) is rejected when
    # it is put, like a duplicate key, and nothing is stored.
    store = new_store(any_store)
    before = store.stats()
    with pytest.raises(InvalidArgument) as info:
        store.put_plan(any_store.Plan(1, {"a.example": T1, 0: T2}))
    assert type(info.value) is InvalidArgument
    assert store.stats() == before


def test_has_tree_errors(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(UnknownEndpoint):
        store.has_tree(3, 1)
    with pytest.raises(UnknownEndpoint):
        store.has_tree("zz.example", 1)
    with pytest.raises(InvalidArgument):
        store.has_tree(None, 1)
    for gen in (0, -1, 2**63, True, 1.0, None):
        with pytest.raises(InvalidGeneration):
            store.has_tree(0, gen)
    assert store.has_tree(0, MAX) is False


def test_target_sets_are_shared(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1, "b.example": list(T1), "c.example": T2}))
    store.put_plan(any_store.Plan(2, {"a.example": list(reversed(T1)), "b.example": T2}))
    stats = store.stats()
    assert stats["target_sets"] == 2
    assert stats["trees"] == 5
    assert stats["records_live"] == 2 + 2 + 1 + 2 + 1
    store.flip_many(None, 1)
    answers = store.resolve_many()
    assert answers[0] == (("10.0.0.1", 10), ("10.0.0.2", 20))
    assert answers[0] is answers[1]
    store.delete_plans([1], safe=False)
    assert store.stats()["target_sets"] == 2
    store.delete_plans([2], safe=False)
    assert store.stats()["target_sets"] == 0
    assert store.stats()["records_live"] == 0


# ============================================================================================
# delete_plans
# ============================================================================================


def test_delete_plans_unsafe(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    result = store.delete_plans([2, 1, 9, 2, 9], safe=False)
    assert result == DeleteResult(6, 0, [], [9])
    assert isinstance(result, DeleteResult)
    assert store.plan_generations() == [3]
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == [0, 1, 2]
    stats = store.stats()
    assert stats["dangling_aliases"] == 3
    assert stats["dangling_rollbacks"] == 3
    assert stats["trees"] == 3
    assert stats["plans"] == 1


def test_delete_plans_safe_keeps_alias_and_rollback(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3, 4))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    store.flip(0, 3)  # endpoint 0: alias 3, rollback 2
    result = store.delete_plans([4, 3, 2, 1])
    # gen 1: rollback of b, c -> kept twice, a's deleted
    # gen 2: alias of b, c and rollback of a -> kept three times
    # gen 3: alias of a -> kept; b, c deleted
    # gen 4: nobody -> all deleted
    assert result == DeleteResult(1 + 0 + 2 + 3, 2 + 3 + 1, [1, 2, 3], [])
    assert store.plan_generations() == [1, 2, 3]
    assert not store.has_tree(0, 1)
    assert store.has_tree(1, 1)
    assert store.has_tree(0, 3)
    assert not store.has_tree(1, 3)
    assert store.dangling_aliases() == []
    stats = store.stats()
    assert stats["dangling_aliases"] == 0
    assert stats["dangling_rollbacks"] == 0
    assert stats["trees"] == 6
    assert store.resolve(0) == tuple(sorted(T1))


def test_delete_plans_safe_default_and_explicit(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.flip(0, 1)
    assert store.delete_plans([1], safe=True) == DeleteResult(2, 1, [1], [])
    assert store.delete_plans([1]) == DeleteResult(0, 1, [1], [])
    assert store.delete_plans([]) == DeleteResult(0, 0, [], [])
    assert store.delete_plans((1,), safe=False) == DeleteResult(1, 0, [], [])
    assert store.delete_plans([1]) == DeleteResult(0, 0, [], [1])


def test_delete_plans_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    before = store.stats()
    for bad in (0, -1, 2**63, True, 1.5, None, "1"):
        with pytest.raises(InvalidGeneration):
            store.delete_plans([1, 2, bad], safe=False)
    assert store.stats() == before
    assert store.plan_generations() == [1, 2]
    for bad_list in ("12", 5, None):
        with pytest.raises(InvalidArgument) as info:
            store.delete_plans(bad_list)
        assert type(info.value) is InvalidArgument


@pytest.mark.parametrize("safe", [1, 0, None, "yes"])
def test_delete_plans_safe_must_be_a_bool(any_store: Any, safe: object) -> None:
    # errors.py: every bad argument raises a DnsraceError (not a bare TypeError).
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument):
        store.delete_plans([1], safe=safe)
    assert store.plan_generations() == [1]


def test_delete_then_repair_by_reput(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.flip_many(None, 1)
    store.delete_plans([1], safe=False)
    assert store.resolve_many() == [(), (), ()]
    store.put_plan(any_store.Plan(1, {"b.example": T2}))
    assert store.resolve_many() == [(), (("10.0.1.1", 1),), ()]
    assert store.dangling_aliases() == [0, 2]
    assert store.stats()["dangling_aliases"] == 2


# ============================================================================================
# flip
# ============================================================================================


def test_flip_if_newer(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip(0, 2) is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (2, None)
    version = st.version
    assert store.flip(0, 1) is False
    assert store.flip(0, 2) is False
    assert store.flip(0, 2, "if_newer") is False
    assert store.state(0).version == version  # refused: unchanged
    assert store.flip(0, 3, "if_newer") is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (3, 2)
    assert st.version > version
    if versions_count_flips(any_store):
        assert (version, st.version) == (1, 2)
    stats = store.stats()
    assert stats["flips_applied"] == 2
    assert stats["outdated_rejections"] == 3
    assert stats["stale_flips"] == 0


def test_flip_lww_counts_stale_flips(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip("a.example", 3, "lww") is True
    assert store.flip("a.example", 1, "lww") is True
    assert store.flip("a.example", 1, "lww") is True  # same generation: not lower
    assert store.flip("a.example", 2, mode="lww") is True
    st = store.state("a.example")
    assert (st.alias, st.rollback) == (2, 1)
    if versions_count_flips(any_store):
        assert st.version == 4
    stats = store.stats()
    assert stats["flips_applied"] == 4
    assert stats["stale_flips"] == 1
    assert stats["outdated_rejections"] == 0


def test_flip_exact(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    v0 = store.state(0).version
    assert store.flip(0, 2, "exact", expected_version=v0 + 1) is False
    assert store.flip(0, 2, "exact", expected_version=v0) is True
    v1 = store.state(0).version
    assert store.flip(0, 1, "exact", expected_version=v1) is True  # lower: allowed, stale flip
    v2 = store.state(0).version
    assert store.flip(0, 3, "exact", expected_version=v1) is False
    assert store.flip(0, 3, "exact", expected_version=v2) is True
    st = store.state(0)
    assert (st.alias, st.rollback) == (3, 1)
    assert v0 < v1 < v2 < st.version
    if versions_count_flips(any_store):
        assert (v0, v1, v2, st.version) == (0, 1, 2, 3)
    stats = store.stats()
    assert stats["flips_applied"] == 3
    assert stats["stale_flips"] == 1
    assert stats["outdated_rejections"] == 2
    assert store.flip(1, 1, "exact", expected_version=MAX) is False


def test_flip_fence(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3, 4, 5))
    assert store.flip(0, 1, fence=5) is True
    assert store.state(0).highest_fence == 5
    assert store.flip(0, 2, fence=4) is False  # fenced
    assert store.flip(0, 2, fence=5) is True  # equal is accepted
    assert store.flip(0, 3, "lww", fence=9) is True
    assert store.state(0).highest_fence == 9
    assert store.flip(0, 4) is True  # no fence: not checked
    assert store.state(0).highest_fence == 9
    assert store.flip(0, 5, "lww", fence=1) is False
    stats = store.stats()
    assert stats["fenced_rejections"] == 2
    assert stats["flips_applied"] == 4
    assert stats["outdated_rejections"] == 0
    # A fence accepted by the fence check but refused by the mode does not raise the token.
    assert store.flip(0, 1, "if_newer", fence=20) is False
    assert store.state(0).highest_fence == 9
    assert store.stats()["outdated_rejections"] == 1
    # The fence check comes before the mode check.
    assert store.flip(0, 1, "if_newer", fence=2) is False
    assert store.stats()["fenced_rejections"] == 3
    assert store.stats()["outdated_rejections"] == 1
    assert store.flip(1, 1, fence=MAX) is True
    assert store.state(1).highest_fence == MAX
    assert store.flip(1, 2, fence=MAX) is True


def test_flip_other_endpoints_unaffected(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.state(0)
    store.flip(1, 1, fence=3)
    assert store.state(0) == before
    assert before == EndpointState(0, "a.example", None, None, before.version, None, 0, 0.0, 0)
    if versions_count_flips(any_store):
        assert before.version == 0
    assert store.state(2).highest_fence == 0


def test_flip_missing_tree(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    store.put_plan(any_store.Plan(2, {"a.example": T1}))
    with pytest.raises(UnknownPlan):
        store.flip("b.example", 2)
    with pytest.raises(UnknownPlan, match="7"):
        store.flip(0, 7, "lww")
    with pytest.raises(UnknownPlan):
        store.flip(0, 7, "exact", expected_version=0, fence=1)
    assert store.stats()["missing_rejections"] == 3
    assert store.state(0).version == store.state(1).version  # nothing changed
    if versions_count_flips(any_store):
        assert store.state(0).version == 0
    assert store.state(0).highest_fence == 0
    # Missing is checked before the fence.
    store.flip(0, 1, fence=10)
    with pytest.raises(UnknownPlan):
        store.flip(0, 7, fence=1)
    stats = store.stats()
    assert stats["missing_rejections"] == 4
    assert stats["fenced_rejections"] == 0
    # A deleted tree is missing too.
    store.delete_plans([2], safe=False)
    with pytest.raises(UnknownPlan):
        store.flip(0, 2)


@pytest.mark.parametrize("mode", ["LWW", "newer", "", "if-newer", None, 0, b"lww", ["lww"]])
def test_flip_bad_mode(any_store: Any, mode: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, mode)
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument) as info:
        store.flip_many(None, 1, mode)
    assert type(info.value) is InvalidArgument
    assert store.stats()["flips_applied"] == 0


def test_flip_expected_version_rules(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, "exact")
    assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument) as info:
        store.flip(0, 1, "exact", expected_version=None)
    assert type(info.value) is InvalidArgument
    for mode in ("lww", "if_newer"):
        with pytest.raises(InvalidArgument) as info:
            store.flip(0, 1, mode, expected_version=0)
        assert type(info.value) is InvalidArgument
    with pytest.raises(InvalidArgument):
        store.flip(0, 1, expected_version=0)
    for bad in (-1, 2**63, True, False, 0.0, "0"):
        with pytest.raises(InvalidToken):
            store.flip(0, 1, "exact", expected_version=bad)
    assert store.stats()["flips_applied"] == 0
    assert store.state(0).version == store.state(1).version  # nothing changed
    if versions_count_flips(any_store):
        assert store.state(0).version == 0


@pytest.mark.parametrize("fence", [0, -1, 2**63, True, False, 1.0, "1"])
def test_flip_bad_fence(any_store: Any, fence: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidToken):
        store.flip(0, 1, fence=fence)
    assert store.stats()["flips_applied"] == 0


@pytest.mark.parametrize("gen", [0, -1, 2**63, True, 1.0, None, "1"])
def test_flip_bad_generation(any_store: Any, gen: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidGeneration):
        store.flip(0, gen)
    with pytest.raises(InvalidGeneration):
        store.flip_many(None, gen)
    assert store.stats()["missing_rejections"] == 0


def test_flip_bad_endpoint(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(UnknownEndpoint):
        store.flip(3, 1)
    with pytest.raises(UnknownEndpoint):
        store.flip("zz.example", 1)
    with pytest.raises(InvalidName):
        store.flip("zz..example", 1)
    with pytest.raises(InvalidArgument):
        store.flip(True, 1)
    stats = store.stats()
    assert stats["missing_rejections"] == 0
    assert stats["flips_applied"] == 0


# ============================================================================================
# flip_many
# ============================================================================================


def test_flip_many_all(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    counts = store.flip_many(None, 1)
    assert counts == FlipCounts(3, 0, 0, 0)
    assert isinstance(counts, FlipCounts)
    assert store.aliases() == [1, 1, 1]
    assert store.flip_many(None, 1) == FlipCounts(0, 3, 0, 0)
    assert store.flip_many(None, 2, "lww") == FlipCounts(3, 0, 0, 0)
    assert store.flip_many(None, 1, "lww") == FlipCounts(3, 0, 0, 0)
    stats = store.stats()
    assert stats["stale_flips"] == 3
    assert stats["flips_applied"] == 9
    assert stats["outdated_rejections"] == 3


def test_flip_many_list_with_duplicates(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    counts = store.flip_many([2, "a.example", 2, "C.EXAMPLE."], 1)
    assert counts == FlipCounts(2, 2, 0, 0)
    assert store.aliases() == [1, None, 1]
    version = store.state(0).version
    assert store.flip_many([0, 0, 0], 2, "lww") == FlipCounts(3, 0, 0, 0)
    assert store.state(0).version > version
    if versions_count_flips(any_store):
        assert store.state(0).version == 4
    assert store.state(0).rollback == 2
    assert store.flip_many([], 1) == FlipCounts(0, 0, 0, 0)
    assert store.flip_many((1,), 2) == FlipCounts(1, 0, 0, 0)


def test_flip_many_missing(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"b.example": T1}))
    assert store.flip_many(None, 1) == FlipCounts(1, 0, 0, 2)
    assert store.flip_many([0, 1, 0], 9, "lww") == FlipCounts(0, 0, 0, 3)
    assert store.stats()["missing_rejections"] == 5
    assert store.aliases() == [None, 1, None]


def test_flip_many_exact(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    store.flip(1, 1)
    v = store.versions()
    counts = store.flip_many(None, 2, "exact", expected_versions=[v[0], v[0], v[2]])
    assert counts == FlipCounts(2, 1, 0, 0)
    w = store.versions()
    assert w[0] > v[0] and w[1] == v[1] and w[2] > v[2]
    if versions_count_flips(any_store):
        assert (v, w) == ([0, 1, 0], [1, 1, 1])
        # Repeated endpoint: the second sees the version bumped by the first.
        counts = store.flip_many([0, 0, 0], 1, "exact", expected_versions=(1, 2, 2))
        assert counts == FlipCounts(2, 1, 0, 0)
        assert store.state(0).version == 3


def test_flip_many_fences(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    assert store.flip_many(None, 1, fence=5) == FlipCounts(3, 0, 0, 0)
    assert [store.state(i).highest_fence for i in range(3)] == [5, 5, 5]
    assert store.flip_many(None, 2, fence=[4, 5, 6]) == FlipCounts(2, 0, 1, 0)
    assert [store.state(i).highest_fence for i in range(3)] == [5, 5, 6]
    assert store.aliases() == [1, 2, 2]
    # Per-endpoint fences with repeated endpoints apply in order.
    assert store.flip_many([0, 0], 3, "lww", fence=(9, 8)) == FlipCounts(1, 0, 1, 0)
    assert store.state(0).highest_fence == 9
    stats = store.stats()
    assert stats["fenced_rejections"] == 2


def test_refused_lease_entries_are_fenced_where_no_token_was_issued(any_store: Any) -> None:
    # 0 and None (what acquire_leases gives for a refused lease) never held a lease: fenced even
    # on an endpoint whose highest token is still 0.
    store = new_store(any_store, gens=(1,))
    assert store.flip_many([0, 1, 2], 1, fence=[0, None, 1]) == FlipCounts(1, 0, 2, 0)
    assert store.aliases() == [None, None, 1]
    assert [store.state(i).highest_fence for i in range(3)] == [0, 0, 1]


def test_flip_many_check_order(any_store: Any) -> None:
    # missing, then fenced, then stale.
    store = new_store(any_store, gens=(1,))
    store.put_plan(any_store.Plan(2, {"a.example": T1, "b.example": T1}))
    store.flip_many(None, 1, fence=10)
    store.flip(0, 2, fence=10)
    counts = store.flip_many(None, 2, fence=3)
    assert counts == FlipCounts(0, 0, 2, 1)
    counts = store.flip_many(None, 2, fence=10)
    assert counts == FlipCounts(1, 1, 0, 1)


# The 2025 stuck endpoint comes from the store: a flip records the rollback from the active
# tree, so once that tree is deleted the flip is refused (and changes nothing).


def test_flip_on_dangling_alias_is_refused(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.delete_plans([1], safe=False)
    before = store.state(0)
    with pytest.raises(DanglingAlias, match="active tree is gone"):
        store.flip(0, 2, "lww")
    with pytest.raises(DanglingAlias):
        store.flip(0, 2, "if_newer")
    assert store.state(0) == before
    counts = store.flip_many(None, 3, "lww")
    assert counts == FlipCounts(0, 0, 0, 0, 3)
    assert store.stats()["dangling_rejections"] == 5
    assert store.stats()["flips_applied"] == 3
    assert store.aliases() == [1, 1, 1]
    assert store.resolve_many() == [(), (), ()]


def test_dangling_checked_after_mode_condition(any_store: Any) -> None:
    # missing, fenced, stale, then dangling: a refused stale flip stays "stale".
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 2, fence=5)
    store.delete_plans([2], safe=False)
    assert store.flip_many(None, 1, "if_newer") == FlipCounts(0, 3, 0, 0, 0)
    assert store.flip_many(None, 3, fence=4) == FlipCounts(0, 0, 3, 0, 0)
    assert store.flip_many(None, 9) == FlipCounts(0, 0, 0, 3, 0)
    assert store.flip_many(None, 3, "if_newer") == FlipCounts(0, 0, 0, 0, 3)
    assert store.flip(0, 1, "if_newer") is False


def test_flip_without_rollback_repairs_dangling_alias(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2, 3))
    store.flip_many(None, 1)
    store.flip_many(None, 2)
    store.delete_plans([2], safe=False)
    assert store.flip(0, 3, "lww", rollback=False) is True
    state = store.state(0)
    assert (state.alias, state.rollback) == (3, None)
    assert store.flip_many([1, 2], 3, "if_newer", rollback=False) == FlipCounts(2, 0, 0, 0, 0)
    assert store.dangling_aliases() == []
    assert store.resolve(1) == tuple(sorted(T1))
    # With the active tree present, rollback=False still leaves no rollback behind.
    store.put_plan(any_store.Plan(4, dict.fromkeys(NAMES, T2)))
    store.flip(0, 4, rollback=False)
    assert store.state(0).rollback is None
    store.flip(1, 4)
    assert store.state(1).rollback == 3


@pytest.mark.parametrize("rollback", [0, 1, None, "yes"])
def test_flip_rollback_must_be_a_bool(any_store: Any, rollback: object) -> None:
    store = new_store(any_store, gens=(1,))
    with pytest.raises(InvalidArgument, match="rollback"):
        store.flip(0, 1, rollback=rollback)
    with pytest.raises(InvalidArgument, match="rollback"):
        store.flip_many(None, 1, rollback=rollback)
    assert store.aliases() == [None, None, None]


def test_flip_many_validates_everything_first(any_store: Any) -> None:
    store = new_store(any_store, gens=(1,))
    before = store.stats()
    cases: list[tuple[type[Exception], dict[str, Any]]] = [
        (UnknownEndpoint, {"endpoints": [0, 1, 9]}),
        (UnknownEndpoint, {"endpoints": [0, "zz.example"]}),
        (InvalidName, {"endpoints": [0, "-bad"]}),
        (InvalidArgument, {"endpoints": [0, None]}),
        (InvalidArgument, {"endpoints": "a.example"}),
        # (A 0 in a fence list is a refused lease's sentinel: fenced, not an error.)
        (InvalidToken, {"endpoints": [0, 1], "fence": [1, -1]}),
        (InvalidToken, {"endpoints": None, "fence": 0}),
        (InvalidToken, {"endpoints": None, "fence": [1, 1, True]}),
        (InvalidArgument, {"endpoints": [0, 1], "fence": [1, 1, 1]}),
        (InvalidArgument, {"endpoints": None, "fence": [1, 1]}),
        (InvalidArgument, {"endpoints": None, "fence": "111"}),
        (InvalidArgument, {"endpoints": None, "fence": 1.5}),
        (InvalidArgument, {"endpoints": None, "fence": object()}),
        (InvalidArgument, {"endpoints": 5}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact"}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact", "expected_versions": [0, 0]}),
        (InvalidArgument, {"endpoints": None, "mode": "exact", "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "mode": "lww", "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "expected_versions": [0]}),
        (InvalidArgument, {"endpoints": [0], "mode": "exact", "expected_versions": "0"}),
        (InvalidToken, {"endpoints": [0, 1], "mode": "exact", "expected_versions": [0, -1]}),
        (InvalidToken, {"endpoints": [0, 1], "mode": "exact", "expected_versions": [0, True]}),
    ]
    for exc, kwargs in cases:
        endpoints = kwargs.pop("endpoints")
        with pytest.raises(exc) as info:
            store.flip_many(endpoints, 1, **kwargs)
        if exc is InvalidArgument:
            assert type(info.value) is InvalidArgument, (kwargs, info.value)
        assert store.stats() == before, kwargs
        assert store.aliases() == [None, None, None]


def test_flip_many_none_uses_current_size(any_store: Any) -> None:
    store = new_store(any_store, n=2, gens=(1,))
    assert store.flip_many(None, 1, fence=[1, 2]) == FlipCounts(2, 0, 0, 0)
    store.add_endpoints(["c.example"])
    with pytest.raises(InvalidArgument):
        store.flip_many(None, 1, fence=[1, 2])
    assert store.flip_many(None, 1, "lww", fence=[1, 2, 3]) == FlipCounts(2, 0, 0, 1)


# ============================================================================================
# reads
# ============================================================================================


def test_resolve(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T3, "b.example": []}))
    assert store.resolve(0) == ()  # no alias yet
    assert store.stats()["empty_answers"] == 1
    store.flip_many(["a.example", "b.example"], 1)
    answer = store.resolve("A.example.")
    assert answer == (("10.9.9.9", 0), ("192.0.2.1", 7), ("2001:db8::1", 5))
    assert type(answer) is tuple
    assert all(type(t) is tuple and type(t[0]) is str and type(t[1]) is int for t in answer)
    assert store.resolve(1) == ()  # empty set
    assert store.stats()["empty_answers"] == 2
    store.delete_plans([1], safe=False)
    assert store.resolve(0) == ()  # deleted tree
    assert store.stats()["empty_answers"] == 3
    with pytest.raises(UnknownEndpoint):
        store.resolve(3)
    with pytest.raises(InvalidArgument):
        store.resolve(None)
    assert store.stats()["empty_answers"] == 3


def test_resolve_many(any_store: Any) -> None:
    store = new_store(any_store)
    store.put_plan(any_store.Plan(1, {"a.example": T1, "b.example": T2, "c.example": T1}))
    assert store.resolve_many() == [(), (), ()]
    assert store.stats()["empty_answers"] == 3
    store.flip_many([0, 1], 1)
    answers = store.resolve_many()
    assert answers == [tuple(T1), tuple(T2), ()]
    assert store.stats()["empty_answers"] == 4
    assert store.resolve_many([2, "b.example", 2, 0]) == [(), tuple(T2), (), tuple(T1)]
    assert store.stats()["empty_answers"] == 6
    assert store.resolve_many([]) == []
    store.flip(2, 1)
    answers = store.resolve_many([0, 2])
    assert answers[0] is answers[1]
    before = store.stats()
    for bad in ([0, 7], [0, "zz.example"], [0, None], "a.example"):
        with pytest.raises((UnknownEndpoint, InvalidArgument)):
            store.resolve_many(bad)
    assert store.stats() == before


def test_aliases(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.aliases() == [None, None, None]
    store.flip(1, 2)
    store.flip(2, 1)
    assert store.aliases() == [None, 2, 1]
    assert store.aliases([2, 2, "b.example"]) == [1, 1, 2]
    assert store.aliases(()) == []
    with pytest.raises(UnknownEndpoint):
        store.aliases([3])
    with pytest.raises(InvalidArgument):
        store.aliases("abc")
    assert store.stats()["empty_answers"] == 0


def test_rollbacks(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.rollbacks() == [None, None, None]
    store.flip(1, 1)
    store.flip(1, 2)
    store.flip(2, 2, rollback=False)
    assert store.rollbacks() == [None, 1, None]
    assert store.rollbacks([1, "b.example", 0]) == [1, 1, None]
    assert store.rollbacks(()) == []
    with pytest.raises(UnknownEndpoint):
        store.rollbacks([3])
    with pytest.raises(InvalidArgument):
        store.rollbacks("abc")


def test_versions(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    v = store.versions()
    store.flip(1, 1)
    store.flip(1, 2)
    store.flip(2, 1, "exact", expected_version=v[2])
    store.flip(0, 1, "exact", expected_version=v[0] + 5)  # refused: no bump
    w = store.versions()
    assert w[0] == v[0] and w[1] > v[1] and w[2] > v[2]
    if versions_count_flips(any_store):
        assert (v, w) == ([0, 0, 0], [0, 2, 1])
    assert store.versions([1, "C.example.", 1]) == [w[1], w[2], w[1]]
    assert store.versions(()) == []
    with pytest.raises(UnknownEndpoint):
        store.versions([0, 3])
    with pytest.raises(InvalidArgument):
        store.versions("a.example")
    with pytest.raises(InvalidArgument):
        store.versions([None])
    assert store.stats()["empty_answers"] == 0


def test_dangling_aliases(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    assert store.dangling_aliases() == []
    store.flip_many(None, 1)
    store.flip(2, 2)
    store.delete_plans([1], safe=False)
    assert store.dangling_aliases() == [0, 1]
    assert store.dangling_aliases([1, 2, 1, "a.example"]) == [1, 1, 0]
    assert store.dangling_aliases([2]) == []
    stats = store.stats()
    assert stats["dangling_aliases"] == 2
    assert stats["dangling_rollbacks"] == 1  # endpoint 2's rollback is generation 1
    assert stats["empty_answers"] == 0
    with pytest.raises(UnknownEndpoint):
        store.dangling_aliases([0, 5])
    with pytest.raises(InvalidArgument):
        store.dangling_aliases([0.0])


def test_state(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    st = store.state("b.example")
    version = st.version
    assert st == EndpointState(1, "b.example", None, None, version, None, 0, 0.0, 0)
    assert isinstance(st, EndpointState)
    assert type(st.lease_expiry) is float
    store.flip(1, 1)
    store.flip(1, 2, fence=4)
    token = store.acquire_lease(1, "enactor-1", 10, 100)
    assert token == 5
    st = store.state(1)
    assert st == EndpointState(1, "b.example", 2, 1, st.version, "enactor-1", 5, 110.0, 5)
    assert st.version == store.versions([1])[0] > version
    if versions_count_flips(any_store):
        assert (version, st.version) == (0, 2)
    assert type(st.lease_expiry) is float
    with pytest.raises(UnknownEndpoint):
        store.state(-1)
    with pytest.raises(InvalidArgument):
        store.state(1.0)


# ============================================================================================
# stats and memory
# ============================================================================================


def test_stats_fresh(any_store: Any) -> None:
    stats = any_store.Store().stats()
    assert set(stats) == STATS_KEYS
    assert all(type(v) is int and v == 0 for v in stats.values())


def test_stats_scenario(any_store: Any) -> None:
    """The incident in miniature: a stale flip plus an unsafe clean-up empties the endpoint."""
    store = new_store(any_store, n=1)
    for g in range(1, 6):
        store.put_plan(any_store.Plan(g, {"a.example": [(f"10.0.0.{g}", 1)]}))
    store.flip(0, 5, "lww")  # the fast enactor
    store.flip(0, 1, "lww")  # the delayed enactor: stale flip
    result = store.delete_plans([1, 2, 3], safe=False)
    assert result == DeleteResult(3, 0, [], [])
    assert store.resolve(0) == ()
    assert store.dangling_aliases() == [0]
    stats = store.stats()
    assert (stats["dangling_aliases"], stats["dangling_rollbacks"]) == (1, 0)
    # The stuck endpoint: a later plan cannot record the rollback from the deleted tree.
    with pytest.raises(DanglingAlias):
        store.flip(0, 4)
    # Only a flip without rollback (the repair) moves it.
    assert store.flip(0, 4, rollback=False) is True
    assert store.resolve(0) == (("10.0.0.4", 1),)
    stats = store.stats()
    assert set(stats) == STATS_KEYS
    assert stats == {
        "endpoints": 1,
        "plans": 2,
        "trees": 2,
        "target_sets": 2,
        "records_live": 2,
        "flips_applied": 3,
        "stale_flips": 1,
        "outdated_rejections": 0,
        "fenced_rejections": 0,
        "missing_rejections": 0,
        "dangling_rejections": 1,
        "empty_answers": 1,
        "dangling_aliases": 0,
        "dangling_rollbacks": 0,
        "lease_conflicts": 0,
        "leases_granted": 0,
    }


def test_memory(any_store: Any) -> None:
    store = new_store(any_store, gens=(1, 2))
    mem = store.memory()
    assert set(mem) == {"endpoints", "names", "plans", "target_sets", "total"}
    assert all(type(v) is int and v >= 0 for v in mem.values())
    assert mem["total"] >= max(mem["endpoints"], mem["names"], mem["plans"], mem["target_sets"])
    store.add_endpoints([f"e{i}.example" for i in range(1000)])
    assert store.memory()["names"] > mem["names"]
    assert store.memory()["endpoints"] > mem["endpoints"]


def test_len(any_store: Any) -> None:
    store = any_store.Store()
    assert len(store) == 0
    store.add_endpoints(NAMES)
    assert len(store) == 3


def _api(cls: Any) -> dict[str, Any]:
    """Public names of a class, with parameter names/kinds/has-default of its methods."""
    out: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("_") and name != "__len__":
            continue
        attr = getattr(cls, name)
        if not callable(attr):
            out[name] = "attribute"
            continue
        params = list(inspect.signature(attr).parameters.values())
        out[name] = [
            (p.name, p.kind == p.KEYWORD_ONLY, p.default is not p.empty)
            for p in params
            if p.name != "self"
        ]
    return out


def test_reference_has_the_same_api() -> None:
    from conftest import PY_IMPL, rust_impl

    rust = rust_impl()
    if rust is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    assert _api(PY_IMPL.Store) == _api(rust.Store)
    assert _api(PY_IMPL.Plan) == _api(rust.Plan)


def test_rust_panic_surfaces_as_internal_error_not_a_crash() -> None:
    """A panic inside the Rust binding becomes dnsrace.InternalError; the interpreter and the
    store keep working afterwards."""
    import dnsrace._core as core

    store = core.RecordStore()
    store.add_endpoints(["a.example"])
    with pytest.raises(InternalError, match="deliberate panic"):
        core._testing.panic()
    assert store.add_endpoints(["b.example"]) == [1]
    assert len(store) == 2


def test_a_target_must_be_a_tuple_or_list(any_store: Any) -> None:
    # A two-key dict iterates to two items but is not an (address, weight) pair.
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": [{"10.0.0.1": 1, "x": 2}]})
    with pytest.raises(InvalidArgument):
        any_store.Plan(1, {"a.example": [iter(("10.0.0.1", 1))]})
    assert any_store.Plan(1, {"a.example": [["10.0.0.1", 1]]}).records == 1
