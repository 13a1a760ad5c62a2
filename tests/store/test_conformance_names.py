"""Conformance: errors, DNS names, endpoints, plans and target sets (store_conformance.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from store_conformance import MAX, T1, T2, T3, new_store

import dnsrace
from dnsrace import (
    DanglingAlias,
    DnsraceError,
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
