"""Differential test: the Rust ``RecordStore`` against the pure-Python ``PyRecordStore``.

A hypothesis state machine applies random operation sequences to both stores (and builds
every plan with both plan classes) and requires identical results (same values, same result
types), identical exception classes and identical ``stats()``, ``len()``, generations and
endpoint states after every step. Arguments are sometimes invalid, but at most ONE problem per
call: which of several bad arguments is reported first is not part of the contract.

``test_reference_state_machine`` runs the same machine on the reference alone (self-consistency:
only dnsrace errors, gauges matching the queries), so this file also guards the reference when
the extension is not built.
"""

from __future__ import annotations

import array
import importlib.util
import math
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from conftest import PY_IMPL, StoreImpl, examples, rust_impl
from dnsrace import DnsraceError, InternalError

MAX = 2**63 - 1

# ---------------------------------------------------------------------------------------------
# Value pools
# ---------------------------------------------------------------------------------------------

NAME_POOL = [
    "a.example",
    "b.example",
    "svc-1.us-east-1.example",
    "dynamodb.us-east-1.amazonaws.example",
    "x",
    "0",
    "c-d.e",
    "x" * 63,
    "g.h.i.j",
    "k9",
]
UNREGISTERED = ["unregistered.example", "Nobody.Example.", "zz"]
INVALID_NAMES: list[object] = [
    "",
    ".",
    "a..b",
    "a..",
    "-a",
    "a-",
    "a_b",
    "a b",
    "x" * 64,
    "é.example",
    "\u212a.example",
    "x." * 126 + "xy",
]
NON_STR_NAMES: list[object] = [None, 7, b"a.example", 1.5]
NON_ENDPOINTS: list[object] = [True, False, 0.0, 1.5, None, b"a.example", ("a.example",)]

# Each entry: textual variants of ONE address (same canonical form).
ADDRESS_POOL = [
    ["10.0.0.1"],
    ["10.0.0.2"],
    ["192.168.1.1"],
    ["0.0.0.0"],
    ["255.255.255.255"],
    ["::1", "0:0:0:0:0:0:0:1", "::0001"],
    ["2001:db8::1", "2001:DB8::1", "2001:0db8:0:0:0:0:0:1"],
    ["::ffff:10.0.0.1", "::FFFF:a00:1", "0:0:0:0:0:ffff:0a00:0001"],
    ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
    ["::1.2.3.4", "::102:304"],
    ["fe80::1", "FE80:0::1"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::", "0::0"],
]
BAD_ADDRESSES: list[object] = [
    "1.2.3",
    "01.2.3.4",
    "fe80::1%eth0",
    "[::1]",
    "256.0.0.1",
    " 10.0.0.1",
    "1::2::3",
    "12345::",
    "",
    "::ffff:1.2.3.256",
    "1.2.3.4.5",
    5,
    None,
    b"10.0.0.1",
]
BAD_WEIGHTS: list[object] = [256, -1, True, False, 1.0, "1", None, 2**70]
BAD_TARGETS: list[object] = [("10.0.0.1",), ("10.0.0.1", 1, 2), 5, None, ()]
BAD_SETS: list[object] = [5, None, 1.5]

GENERATIONS = st.one_of(st.integers(1, 8), st.just(MAX))
BAD_GENERATIONS: list[object] = [0, -1, 2**63, 2**64, True, False, 1.0, "2", None]
MODES = ["lww", "if_newer", "exact"]
BAD_MODES: list[object] = ["LWW", "newer", "", None, 1]
BAD_TOKENS: list[object] = [0, -1, 2**63, True, False, 1.0, "1", None]
BAD_VERSIONS: list[object] = [-1, 2**63, True, 1.0, "0"]
HOLDERS = ["e1", "e2", "é" * 128, "enactor-3"]
BAD_HOLDERS: list[object] = ["", "x" * 129, None, 7, b"e1"]
TTLS: list[object] = [0.5, 1, 2.5, 10, 1e-9, 100, 3]
BAD_TTLS: list[object] = [0, 0.0, -1, math.nan, math.inf, True, "1", None]
BAD_NOWS: list[object] = [math.nan, math.inf, -math.inf, True, None, "0"]
DELTAS: list[float | int] = [-25, -10, -1, -0.5, 0, 0.25, 0.5, 1, 2, 3, 10, 30]


# Kinds of int sequences (endpoint ids, versions, fences) and of outputs drawn by the machine.
_NUMPY = importlib.util.find_spec("numpy") is not None
INT_KINDS = [
    "list",
    "tuple",
    "range",
    "memoryview",
    *(f"array_{c}" for c in "bBhHiIlLqQ"),
    *(["numpy_int64", "numpy_uint32", "numpy_uint8"] if _NUMPY else []),
]
OUTCOMES: list[Any] = [False, True, "array", *(["numpy"] if _NUMPY else [])]
OUTPUTS = ["list", "array", *(["numpy"] if _NUMPY else [])]

# Contract decision (see test_conformance_plans.test_put_plan_same_endpoint_by_name_and_id): a plan
# naming one endpoint by name and by id is rejected by put_plan with InvalidArgument.
NAME_AND_ID_DUPLICATES = True


# ---------------------------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------------------------

Outcome = tuple[str, Any]


def same(a: Any, b: Any) -> bool:
    """Equal values of identical types, recursively (NamedTuples, tuples, lists, dicts,
    ``array.array`` of the same type code, numpy arrays of the same dtype)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, array.array):
        return a.typecode == b.typecode and a.tolist() == b.tolist()
    if type(a).__module__ == "numpy":
        return str(a.dtype) == str(b.dtype) and same(a.tolist(), b.tolist())
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def attempt(fn: Callable[[], Any]) -> Outcome:
    try:
        return ("ok", fn())
    except InternalError:
        raise
    except DnsraceError as exc:
        return ("err", type(exc))


def plan_summary(plan: Any, probes: list[Any]) -> Any:
    keys = plan.endpoints()
    return (
        plan.generation,
        len(plan),
        plan.records,
        keys,
        [attempt(lambda k=k: plan.targets(k)) for k in keys + probes],
    )


# ---------------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------------


class StoreMachine(RuleBasedStateMachine):
    """Random operations on every store of ``impls``; the first one is the reference."""

    impls: ClassVar[tuple[StoreImpl, ...]] = (PY_IMPL,)

    def __init__(self) -> None:
        super().__init__()
        self.stores = [impl.Store() for impl in self.impls]
        self.names: list[str] = []
        self.clock: float = 0.0

    # ----------------------------------------------------------------- plumbing

    @property
    def ref(self) -> Any:
        return self.stores[0]

    def run(self, what: str, op: Callable[[int, StoreImpl, Any], Any]) -> Outcome:
        """Apply ``op`` to every store; require identical outcomes; return the reference's."""
        outcomes = [
            attempt(lambda k=k, impl=impl, store=store: op(k, impl, store))
            for k, (impl, store) in enumerate(zip(self.impls, self.stores, strict=True))
        ]
        first = outcomes[0]
        for impl, other in zip(self.impls[1:], outcomes[1:], strict=True):
            assert same(first, other), (
                f"{what}: {impl.Store.__module__}.{impl.Store.__name__} gave {other!r}, "
                f"reference gave {first!r}"
            )
        return first

    def call(self, method: str, *args: Any, **kwargs: Any) -> Outcome:
        return self.run(
            f"{method}{args}{kwargs}",
            lambda k, impl, store: getattr(store, method)(*args, **kwargs),
        )

    @property
    def n(self) -> int:
        return len(self.names)

    def state(self, i: int) -> Any:
        return self.ref.state(i)

    # ----------------------------------------------------------------- drawing arguments

    def bad_slot(self, data: st.DataObject, slots: list[str]) -> str:
        """Which argument to break ('' for none); an endpoint ("ep") when there is none to name
        validly."""
        if "ep" in slots and self.n == 0:
            return "ep"
        if data.draw(st.integers(0, 9)) < 7:
            return ""
        return data.draw(st.sampled_from(slots))

    def valid_ep(self, data: st.DataObject, i: int | None = None) -> Any:
        if i is None:
            i = data.draw(st.integers(0, self.n - 1))
        name = self.names[i]
        return data.draw(
            st.sampled_from([i, i, name, name.upper(), name + ".", name.upper() + "."])
        )

    def bad_ep(self, data: st.DataObject) -> Any:
        n = self.n
        return data.draw(
            st.sampled_from(
                [n, n + 7, -1, 2**32, 2**64, *UNREGISTERED, *INVALID_NAMES, *NON_ENDPOINTS]
            )
        )

    def ep(self, data: st.DataObject, bad: bool) -> Any:
        return self.bad_ep(data) if bad or self.n == 0 else self.valid_ep(data)

    def ep_ids(self, data: st.DataObject, max_size: int = 5) -> list[int]:
        if self.n == 0:
            return []
        return data.draw(st.lists(st.integers(0, self.n - 1), max_size=max_size))

    def ints(self, data: st.DataObject, values: list[Any]) -> Any:
        """``values`` as one of the accepted kinds of int sequence when they are all ints in
        0..2**32-1 (list, tuple, range, ``array.array`` of a wide enough type, memoryview,
        numpy array); otherwise as a list or tuple."""
        plain = all(type(v) is int and 0 <= v < 2**32 for v in values)
        kind = data.draw(st.sampled_from(INT_KINDS if plain else ["list", "tuple"]))
        if kind == "list":
            return list(values)
        if kind == "tuple":
            return tuple(values)
        if kind == "range":
            step = values[1] - values[0] if len(values) > 1 else 1
            r = (
                range(values[0], values[-1] + (1 if step > 0 else -1), step or 1)
                if values
                else range(0)
            )
            return r if step and list(r) == values else list(values)
        if kind == "memoryview":
            return memoryview(array.array("Q", values))
        top = max(values, default=0)
        if kind.startswith("numpy"):
            np = pytest.importorskip("numpy")
            dtype = np.dtype(kind.split("_")[1])
            return np.array(values, dtype=dtype) if top <= np.iinfo(dtype).max else list(values)
        code = kind.split("_")[1]
        bits = 8 * array.array(code).itemsize - (0 if code.isupper() else 1)
        return array.array(code, values) if top < 2**bits else list(values)

    def ep_list(self, data: st.DataObject, bad: bool, allow_none: bool = True) -> Any:
        """An endpoint list argument: None, or a list/tuple or (ids only) any other kind of
        int sequence; if ``bad``, with one problem."""
        if not bad:
            if allow_none and data.draw(st.booleans()):
                return None
            eps = [self.valid_ep(data, i) for i in self.ep_ids(data)]
            return self.ints(data, eps)
        kind = data.draw(st.integers(0, 5))
        if kind == 0:
            return data.draw(st.sampled_from(["a.example", "", 5]))
        eps = [self.valid_ep(data, i) for i in self.ep_ids(data, 3)]
        eps.insert(data.draw(st.integers(0, len(eps))), self.bad_ep(data))
        return eps

    def gen(self, data: st.DataObject, bad: bool) -> Any:
        if bad:
            return data.draw(st.sampled_from(BAD_GENERATIONS))
        return data.draw(GENERATIONS)

    def fence_value(self, data: st.DataObject, i: int | None) -> int:
        hf = 0 if i is None else self.state(i).highest_fence
        choices = [1, 2, max(1, hf - 1), max(1, hf), hf + 1, hf + 3, MAX]
        return min(MAX, data.draw(st.sampled_from(choices)))

    def version_value(self, data: st.DataObject, i: int | None) -> int:
        v = 0 if i is None else self.state(i).version
        return data.draw(st.sampled_from([v, v, max(0, v - 1), v + 1, 0, MAX]))

    def holder(self, data: st.DataObject, bad: bool) -> Any:
        return data.draw(st.sampled_from(BAD_HOLDERS if bad else HOLDERS))

    def ttl(self, data: st.DataObject, bad: bool) -> Any:
        return data.draw(st.sampled_from(BAD_TTLS if bad else TTLS))

    def now(self, data: st.DataObject, bad: bool) -> Any:
        if bad:
            return data.draw(st.sampled_from(BAD_NOWS))
        value = self.clock + data.draw(st.sampled_from(DELTAS))
        if data.draw(st.integers(0, 4)) == 0:
            return int(value)
        return value

    def lease_ep(self, data: st.DataObject, bad: bool) -> Any:
        """An endpoint argument, mostly one that has a lease."""
        if bad or self.n == 0:
            return self.bad_ep(data)
        held = [i for i in range(self.n) if self.state(i).lease_holder is not None]
        if held and data.draw(st.integers(0, 3)) > 0:
            return self.valid_ep(data, data.draw(st.sampled_from(held)))
        return self.valid_ep(data)

    def token_value(self, data: st.DataObject, i: int | None) -> int:
        tok = 0 if i is None else self.state(i).lease_token
        exact = max(1, tok)
        return data.draw(st.sampled_from([exact, exact, exact, exact, tok + 1, max(1, tok - 1), 1]))

    def id_of(self, ep: Any) -> int | None:
        """The id a valid endpoint argument refers to (None if it is not valid)."""
        out = attempt(lambda: self.ref.state(ep))
        return out[1].id if out[0] == "ok" else None

    # ----------------------------------------------------------------- target sets

    def valid_set(self, data: st.DataObject) -> list[Any]:
        picks = data.draw(st.lists(st.integers(0, len(ADDRESS_POOL) - 1), unique=True, max_size=4))
        out: list[Any] = []
        for p in picks:
            text = data.draw(st.sampled_from(ADDRESS_POOL[p]))
            weight = data.draw(st.integers(0, 255))
            out.append([text, weight] if data.draw(st.integers(0, 5)) == 0 else (text, weight))
        return out

    def bad_set(self, data: st.DataObject) -> Any:
        kind = data.draw(st.integers(0, 4))
        if kind == 0:
            return data.draw(st.sampled_from(BAD_SETS))
        targets = self.valid_set(data)
        if kind == 1:
            bad: Any = (data.draw(st.sampled_from(BAD_ADDRESSES)), 1)
        elif kind == 2:
            bad = ("10.9.9.9", data.draw(st.sampled_from(BAD_WEIGHTS)))
        elif kind == 3:
            bad = data.draw(st.sampled_from(BAD_TARGETS))
        else:
            p = data.draw(st.sampled_from([5, 6, 7, 12]))
            variants = ADDRESS_POOL[p]
            targets = [t for t in targets if t[0] not in variants]
            targets.append((variants[0], 1))
            bad = (data.draw(st.sampled_from(variants)), 2)
        targets.insert(data.draw(st.integers(0, len(targets))), bad)
        return targets

    # ----------------------------------------------------------------- rules: endpoints

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        """Most runs start with a few endpoints and one plan (add_endpoints may add more)."""
        names = data.draw(st.lists(st.sampled_from(NAME_POOL), unique=True, max_size=6))
        self.call("add_endpoints", names)
        self.names = [self.ref.endpoint_name(i) for i in range(len(self.ref))]
        if names and data.draw(st.booleans()):
            plan = {name: self.valid_set(data) for name in names}
            self.run("initial plan", lambda k, impl, store: store.put_plan(impl.Plan(1, plan)))

    @rule(data=st.data())
    def add_endpoints(self, data: st.DataObject) -> None:
        names: Any = [
            data.draw(st.sampled_from([n, n.upper(), n + "."]))
            for n in data.draw(st.lists(st.sampled_from(NAME_POOL), max_size=4))
        ]
        kind = data.draw(st.integers(0, 9))
        if kind == 0:
            names = data.draw(st.sampled_from(["a.example", ""]))
        elif kind == 1:
            names.insert(
                data.draw(st.integers(0, len(names))),
                data.draw(st.sampled_from(INVALID_NAMES + NON_STR_NAMES)),
            )
        elif kind == 2:
            names = tuple(names)
        self.call("add_endpoints", names)
        self.names = [self.ref.endpoint_name(i) for i in range(len(self.ref))]

    @rule(data=st.data())
    def lookups(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["ep"])
        ep = self.ep(data, slot == "ep")
        self.call("endpoint_name", ep)
        name = ep if isinstance(ep, str) else data.draw(st.sampled_from([*NON_ENDPOINTS, 3]))
        self.call("endpoint_id", name)
        self.call("state", ep)
        self.call("has_tree", ep, self.gen(data, False))
        self.call("__len__")

    # ----------------------------------------------------------------- rules: plans

    @rule(data=st.data())
    def put_plan(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["gen", "key", "dup_key", "set", "shared", "put", "type"])
        if slot == "type":
            self.put_wrong_type(data)
            return
        shared = slot == "shared" or data.draw(st.booleans())
        stored = self.ref.plan_generations()
        gen = self.gen(data, slot == "gen")
        if slot != "gen" and gen in stored:
            gen = next(g for g in range(1, 100) if g not in stored)
        ids = (
            data.draw(st.lists(st.integers(0, self.n - 1), unique=True, max_size=8))
            if self.n
            else []
        )
        keys: list[Any] = [self.valid_ep(data, i) for i in ids]
        sets: list[Any] = [self.valid_set(data) for _ in keys]
        unused_sets: list[Any] = []
        if slot == "put":
            problems = ["unknown"]
            if stored:
                problems.append("stored")
            if keys and NAME_AND_ID_DUPLICATES:
                problems.append("name_and_id")
            problem = data.draw(st.sampled_from(problems))
            if problem == "stored":
                gen = data.draw(st.sampled_from(stored))
            elif problem == "unknown":
                pos = data.draw(st.integers(0, len(keys)))
                keys.insert(
                    pos, data.draw(st.sampled_from([*UNREGISTERED, self.n, self.n + 3, 2**32 - 1]))
                )
                sets.insert(pos, self.valid_set(data))
            else:
                j = data.draw(st.integers(0, len(keys) - 1))
                keys.append(self.names[ids[j]] if isinstance(keys[j], int) else ids[j])
                sets.append(self.valid_set(data))
        elif slot == "key":
            bad_keys = [*INVALID_NAMES, -1, 2**32, 2**64, 1.5, None, b"a.example"]
            if shared:
                bad_keys += [True, False]
            pos = data.draw(st.integers(0, len(keys)))
            keys.insert(pos, data.draw(st.sampled_from(bad_keys)))
            sets.insert(pos, self.valid_set(data))
        elif slot == "dup_key" and keys:
            j = data.draw(st.integers(0, len(keys) - 1))
            name = self.names[ids[j]]
            if shared and isinstance(keys[j], int):
                keys.append(keys[j])
            else:
                keys[j] = name
                keys.append(name.upper() + ".")
            sets.append(self.valid_set(data))
        elif slot == "set":
            if shared or not keys:
                unused_sets.append(self.bad_set(data))
                shared = True
            else:
                sets[data.draw(st.integers(0, len(sets) - 1))] = self.bad_set(data)

        build: Callable[[StoreImpl], Any]
        if shared:
            m = (len(sets) + 1) // 2
            target_sets = sets[:m] + unused_sets
            if data.draw(st.booleans()):
                target_sets.append(self.valid_set(data))
            if data.draw(st.booleans()):
                target_sets = tuple(target_sets)
            index: list[Any] = [data.draw(st.integers(0, m - 1)) for _ in keys]
            if slot == "shared":
                if data.draw(st.booleans()):
                    if index and data.draw(st.booleans()):
                        index.pop()
                    else:
                        index.append(0)
                else:
                    bad_index = data.draw(
                        st.sampled_from([len(target_sets), -1, True, 0.0, "0", None])
                    )
                    pos = data.draw(st.integers(0, len(index)))
                    index.insert(pos, bad_index)
                    keys.insert(pos, "unregistered-new.example")

            def build(impl: StoreImpl) -> Any:
                return impl.Plan.from_shared(gen, target_sets, list(keys), index)

        else:
            entries = dict(zip(keys, sets, strict=True))

            def build(impl: StoreImpl) -> Any:
                return impl.Plan(gen, entries)

        plans: dict[int, Any] = {}
        probes = [self.valid_ep(data)] if self.n else []
        probes.append(data.draw(st.sampled_from([0, 99, "nobody.example", "a..b", None])))

        def construct(k: int, impl: StoreImpl, store: Any) -> Any:
            plans[k] = build(impl)
            return plan_summary(plans[k], probes)

        outcome = self.run(f"build plan {gen} {keys} {sets}", construct)
        if outcome[0] == "ok":
            self.run(f"put_plan {gen}", lambda k, impl, store: store.put_plan(plans[k]))

    def put_wrong_type(self, data: st.DataObject) -> None:
        choice = data.draw(st.sampled_from([None, {}, 5, "plan", "other"]))
        if choice == "other":
            if len(self.impls) < 2:
                return
            gen = data.draw(GENERATIONS)

            def put_other(k: int, impl: StoreImpl, store: Any) -> Any:
                other = self.impls[(k + 1) % len(self.impls)].Plan
                return store.put_plan(other(gen, {}))

            self.run("put_plan(other implementation's Plan)", put_other)
        else:
            self.call("put_plan", choice)

    @rule(data=st.data())
    def delete_plans(self, data: st.DataObject) -> None:
        gens: Any = data.draw(st.lists(GENERATIONS, max_size=4))
        stored = self.ref.plan_generations()
        if stored and data.draw(st.booleans()):
            gens += data.draw(st.lists(st.sampled_from(stored), min_size=1, max_size=3))
        if self.bad_slot(data, ["gens"]):
            gens.insert(
                data.draw(st.integers(0, len(gens))), data.draw(st.sampled_from(BAD_GENERATIONS))
            )
        elif data.draw(st.booleans()):
            gens = tuple(gens)
        kwargs: dict[str, Any] = {}
        safe = data.draw(st.sampled_from([None, True, False]))
        if safe is not None:
            kwargs["safe"] = safe
        self.call("delete_plans", gens, **kwargs)

    # ----------------------------------------------------------------- rules: flips

    def flip_gen(self, data: st.DataObject, bad: bool, i: int | None = None) -> Any:
        """A generation to flip to: mostly one with a stored tree (for endpoint ``i``)."""
        if bad:
            return self.gen(data, True)
        stored = self.ref.plan_generations()
        if i is not None:
            with_tree = [g for g in stored if self.ref.has_tree(i, g)]
            if with_tree and data.draw(st.integers(0, 9)) > 0:
                return data.draw(st.sampled_from(with_tree))
        if stored and data.draw(st.integers(0, 4)) > 0:
            return data.draw(st.sampled_from(stored))
        return self.gen(data, False)

    @rule(data=st.data())
    def flip(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["ep", "gen", "mode", "expected", "fence"])
        ep = self.ep(data, slot == "ep")
        i = self.id_of(ep)
        gen = self.flip_gen(data, slot == "gen", i)
        kwargs: dict[str, Any] = {}
        mode: Any = data.draw(st.sampled_from([None, *MODES]))
        if slot == "mode":
            mode = data.draw(st.sampled_from(BAD_MODES))
        if mode == "exact":
            if slot == "expected":
                ev = data.draw(st.sampled_from([*BAD_VERSIONS, "missing", None]))
                if ev != "missing":
                    kwargs["expected_version"] = ev
            else:
                kwargs["expected_version"] = self.version_value(data, i)
        elif slot == "expected":
            kwargs["expected_version"] = data.draw(st.sampled_from([0, 1, MAX]))
        if slot == "fence":
            kwargs["fence"] = data.draw(st.sampled_from(BAD_TOKENS[:-1]))
        elif data.draw(st.booleans()):
            kwargs["fence"] = self.fence_value(data, i)
        elif data.draw(st.booleans()):
            kwargs["fence"] = None
        if data.draw(st.integers(0, 3)) == 0:
            kwargs["rollback"] = data.draw(st.booleans())
        args = (ep, gen) if mode is None else (ep, gen, mode)
        if mode is not None and data.draw(st.booleans()):
            kwargs["mode"] = mode
            args = (ep, gen)
        self.call("flip", *args, **kwargs)

    @rule(data=st.data())
    def flip_many(self, data: st.DataObject) -> None:
        slots = ["eps", "gen", "mode", "expected", "fence"]
        slot = self.bad_slot(data, slots)
        eps = self.ep_list(data, slot == "eps")
        if isinstance(eps, (list, tuple)):
            targets: list[int | None] = [self.id_of(e) for e in eps]
            count = len(eps)
        elif eps is None:
            targets = list(range(self.n))
            count = self.n
        else:  # a str or an int: no aligned lists
            targets = []
            count = -1
        gen = self.flip_gen(data, slot == "gen")
        mode: Any = data.draw(st.sampled_from(MODES))
        if slot == "mode":
            mode = data.draw(st.sampled_from(BAD_MODES))
        kwargs: dict[str, Any] = {}
        if count < 0:
            if mode == "exact":
                mode = "lww"
        elif mode == "exact":
            versions: Any = [self.version_value(data, i) for i in targets]
            if slot == "expected":
                kind = data.draw(st.integers(0, 3))
                if kind == 0:
                    versions = None
                elif kind == 1:
                    versions = [*versions, 0] if not versions or data.draw(st.booleans()) else []
                elif kind == 2 and versions:
                    versions[data.draw(st.integers(0, len(versions) - 1))] = data.draw(
                        st.sampled_from(BAD_VERSIONS)
                    )
                else:
                    versions = "0" * len(versions)
            if versions is not None:
                kwargs["expected_versions"] = (
                    self.ints(data, versions) if isinstance(versions, list) else versions
                )
        elif slot == "expected":
            kwargs["expected_versions"] = [0] * max(count, 0)
        if slot == "fence" and count >= 0:
            kind = data.draw(st.integers(0, 2))
            if kind == 0 or (kind == 2 and count == 0):
                kwargs["fence"] = data.draw(st.sampled_from([0, -1, 2**63, True]))
            elif kind == 1:
                kwargs["fence"] = [1] * (
                    count + 1 if count == 0 else count + data.draw(st.sampled_from([-1, 1]))
                )
            else:
                fences: list[Any] = [self.fence_value(data, i) for i in targets]
                fences[data.draw(st.integers(0, count - 1))] = data.draw(
                    st.sampled_from(BAD_TOKENS[:-1])
                )
                kwargs["fence"] = fences
        else:
            kind = data.draw(st.integers(0, 3))
            if kind == 1:
                kwargs["fence"] = self.fence_value(data, targets[0] if targets else None)
            elif kind == 2 and count >= 0:
                kwargs["fence"] = self.ints(data, [self.fence_value(data, i) for i in targets])
        if data.draw(st.integers(0, 3)) == 0:
            kwargs["rollback"] = data.draw(st.booleans())
        if data.draw(st.integers(0, 2)) == 0:
            kwargs["outcomes"] = data.draw(st.sampled_from(OUTCOMES))
        self.call("flip_many", eps, gen, mode, **kwargs)

    # ----------------------------------------------------------------- rules: reads

    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["ep"])
        self.call("resolve", self.ep(data, slot == "ep"))

    @rule(
        data=st.data(),
        method=st.sampled_from(["resolve_many", "aliases", "versions", "dangling_aliases"]),
    )
    def read_many(self, data: st.DataObject, method: str) -> None:
        slot = self.bad_slot(data, ["eps"])
        eps = self.ep_list(data, slot == "eps")
        kwargs: dict[str, Any] = {}
        if method != "resolve_many" and data.draw(st.booleans()):
            kwargs["output"] = data.draw(st.sampled_from(OUTPUTS))
        if eps is None and data.draw(st.booleans()):
            self.call(method, **kwargs)
        else:
            self.call(method, eps, **kwargs)

    # ----------------------------------------------------------------- rules: leases

    @rule(data=st.data())
    def acquire_lease(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["ep", "holder", "ttl", "now"])
        self.call(
            "acquire_lease",
            self.ep(data, slot == "ep"),
            self.holder(data, slot == "holder"),
            self.ttl(data, slot == "ttl"),
            self.now(data, slot == "now"),
        )

    @rule(data=st.data())
    def acquire_leases(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["eps", "holder", "ttl", "now"])
        self.call(
            "acquire_leases",
            self.ep_list(data, slot == "eps", allow_none=False),
            self.holder(data, slot == "holder"),
            self.ttl(data, slot == "ttl"),
            self.now(data, slot == "now"),
        )

    def current_holder(self, data: st.DataObject, i: int | None, bad: bool) -> Any:
        if bad:
            return self.holder(data, True)
        held = None if i is None else self.state(i).lease_holder
        if held is not None and data.draw(st.integers(0, 3)) > 0:
            return held
        return self.holder(data, False)

    def lease_call(
        self, data: st.DataObject, slots: list[str], bad_tokens: list[object]
    ) -> tuple[str, Any, int | None, Any, Any]:
        """What renewing or releasing one lease names: the argument to break (``bad_slot``),
        the endpoint, its id, the holder and the token (``bad_tokens`` when the token is broken)."""
        slot = self.bad_slot(data, slots)
        ep = self.lease_ep(data, slot == "ep")
        i = self.id_of(ep)
        holder = self.current_holder(data, i, slot == "holder")
        if slot == "token":
            return slot, ep, i, holder, data.draw(st.sampled_from(bad_tokens))
        return slot, ep, i, holder, self.token_value(data, i)

    @rule(data=st.data())
    def renew_lease(self, data: st.DataObject) -> None:
        slots = ["ep", "holder", "token", "ttl", "now"]
        slot, ep, i, holder, token = self.lease_call(data, slots, BAD_TOKENS)
        now = self.now(data, slot == "now")
        expiry = 0.0 if i is None else self.state(i).lease_expiry
        if slot != "now" and expiry and data.draw(st.integers(0, 2)) > 0:
            # Around the expiry: live just before it, lost at it and after it.
            now = expiry - data.draw(st.sampled_from([0.125, 0.5, 1, 3, 0, -1]))
        self.call("renew_lease", ep, holder, token, self.ttl(data, slot == "ttl"), now)

    @rule(data=st.data())
    def release_lease(self, data: st.DataObject) -> None:
        _, ep, _, holder, token = self.lease_call(data, ["ep", "holder", "token"], BAD_TOKENS[:-1])
        self.call("release_lease", ep, holder, token)

    @rule(data=st.data())
    def release_leases(self, data: st.DataObject) -> None:
        slot = self.bad_slot(data, ["eps", "holder", "tokens", "len"])
        eps = self.ep_list(data, slot == "eps", allow_none=False)
        ids = [self.id_of(e) for e in eps] if isinstance(eps, (list, tuple)) else []
        holders = [self.state(i).lease_holder for i in ids if i is not None]
        holder = self.holder(data, slot == "holder")
        if slot != "holder" and holders and data.draw(st.booleans()):
            holder = data.draw(st.sampled_from([h for h in holders if h] or HOLDERS))
        tokens: Any = [self.token_value(data, i) for i in ids]
        if not isinstance(eps, (list, tuple)):
            tokens = []
        if slot == "tokens" and tokens:
            tokens[data.draw(st.integers(0, len(tokens) - 1))] = data.draw(
                st.sampled_from(BAD_TOKENS[:-1])
            )
        elif slot == "tokens":
            tokens = "1"
        elif slot == "len":
            tokens = [*tokens, 1] if not tokens or data.draw(st.booleans()) else tokens[1:]
        self.call("release_leases", eps, holder, tokens)

    @rule(delta=st.sampled_from(DELTAS))
    def tick(self, delta: float) -> None:
        self.clock += delta

    # ----------------------------------------------------------------- invariants

    @invariant()
    def same_observable_state(self) -> None:
        self.call("stats")
        self.call("__len__")
        self.call("plan_generations")
        for i in range(self.n):
            self.call("state", i)

    @invariant()
    def gauges_match_queries(self) -> None:
        for store in self.stores:
            stats = store.stats()
            gens = store.plan_generations()
            n = len(store)
            trees = sum(store.has_tree(i, g) for g in gens for i in range(n))
            assert stats["trees"] == trees
            assert stats["plans"] == len(gens)
            assert stats["endpoints"] == n
            assert stats["dangling_aliases"] == len(store.dangling_aliases())
            states = [store.state(i) for i in range(n)]
            dangling_rollbacks = sum(
                s.rollback is not None and not store.has_tree(s.id, s.rollback) for s in states
            )
            assert stats["dangling_rollbacks"] == dangling_rollbacks
            assert stats == store.stats()  # reading the gauges counts nothing
            mem = store.memory()
            assert set(mem) == {"endpoints", "names", "plans", "target_sets", "total"}


# ---------------------------------------------------------------------------------------------
# Test classes
# ---------------------------------------------------------------------------------------------

_RUST = rust_impl()


class ReferenceOnly(StoreMachine):
    impls = (PY_IMPL,)


class Differential(StoreMachine):
    impls = (PY_IMPL,) if _RUST is None else (PY_IMPL, _RUST)


def machine_settings(max_examples: int, steps: int = 25) -> settings:
    return settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_reference_state_machine() -> None:
    """The reference alone: only dnsrace errors, and gauges that match the queries."""
    run_state_machine_as_test(ReferenceOnly, settings=machine_settings(examples(100)))


# 1,500 random call sequences under the ci profile, as one test used to run them, in shards of
# equal size that xdist can spread over the cores: the same number of independent examples.
DIFFERENTIAL_EXAMPLES = 1500
DIFFERENTIAL_SHARDS = 6


@pytest.mark.parametrize("shard", range(DIFFERENTIAL_SHARDS))
def test_differential(shard: int) -> None:
    """Rust store vs reference: identical results, exception classes and stats at every step."""
    if _RUST is None:
        pytest.skip("dnsrace._core is not built (make test builds it)")
    per_shard = examples(DIFFERENTIAL_EXAMPLES) // DIFFERENTIAL_SHARDS
    run_state_machine_as_test(Differential, settings=machine_settings(max(1, per_shard)))
