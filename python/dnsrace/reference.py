"""Pure-Python reference store: the oracle of the differential tests and the benchmark baseline.

``PyRecordStore`` and ``Plan`` implement exactly the API and semantics of the Rust classes
``dnsrace.RecordStore`` and ``dnsrace.Plan`` (see ``dnsrace/_core.pyi``) with plain Python
containers: per-endpoint parallel lists indexed by id, a dict from name to id, a dict from
generation to ``{id: target set}`` and canonical target sets interned once with a reference
count. Every public store operation runs under one ``threading.Lock``.

This module does not import ``dnsrace._core``; it works where the extension is not built.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import operator
import os
import re
import stat
import sys
import threading
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Literal,
    NoReturn,
    Self,
    SupportsIndex,
    TypeVar,
    cast,
    final,
    overload,
)

from dnsrace import _snapshot
from dnsrace._types import (
    Answer,
    DeleteResult,
    Endpoint,
    Endpoints,
    EndpointState,
    FlipCounts,
    FlipResult,
    Ints,
    Mode,
    Output,
    StoreStats,
    Target,
)
from dnsrace.atomicfile import OutputPathError, check_output_path, write_atomic
from dnsrace.errors import (
    DanglingAlias,
    InvalidAddress,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    InvalidToken,
    InvalidWeight,
    LeaseHeld,
    LeaseLost,
    SnapshotError,
    TooLarge,
    UnknownEndpoint,
    UnknownPlan,
)

if TYPE_CHECKING:
    from dnsrace._types import ArrayResult, NumpyResult

__all__ = [
    "Answer",
    "Endpoint",
    "Endpoints",
    "Ints",
    "Mode",
    "Output",
    "Plan",
    "PyRecordStore",
    "Target",
]

_T = TypeVar("_T")

MAX_BATCH: Final = 1 << 26
"""Most items of one sequence argument (the Rust core's ``MAX_BATCH``; docs/reference/bounds.md)."""
MAX_I63: Final = 2**63 - 1
"""Largest generation, fencing token, lease token and expected version."""
_MAX_KEY: Final = 2**32
"""Integer plan keys must be below this (endpoint ids are 32-bit in the Rust core)."""
_MAX_HOLDER: Final = 128
_MAX_NAME: Final = 253
_V6_OFFSET: Final = 1 << 32
"""Sort keys: an IPv4 address sorts by its integer, an IPv6 one by this offset + its integer."""

_LWW: Final = 0
_IF_NEWER: Final = 1
_EXACT: Final = 2
_MODES: Final[dict[str, int]] = {"lww": _LWW, "if_newer": _IF_NEWER, "exact": _EXACT}

# Outcome codes, as ``dnsrace._types.Outcome``.
_APPLIED: Final = 0
_OUTDATED: Final = 1
_FENCED: Final = 2
_MISSING: Final = 3
_DANGLING: Final = 4

_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME_RE: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")

_EMPTY: Final[Answer] = ()


# --------------------------------------------------------------------------------------------
# Argument validation (shared by Plan and PyRecordStore)
# --------------------------------------------------------------------------------------------


def canonical_name(name: object) -> str:
    """Validate a DNS name and return its canonical form (lower-case, no trailing dot)."""
    if not isinstance(name, str):
        raise InvalidName(f"invalid name {name!r}: must be a str")
    text = name[:-1] if name.endswith(".") else name
    if not text.isascii():
        raise InvalidName(f"invalid name {name!r}: must be ASCII")
    text = text.lower()
    if len(text) > _MAX_NAME or _NAME_RE.fullmatch(text) is None:
        raise InvalidName(
            f"invalid name {name!r}: must be 1..253 characters of dot-separated labels of "
            "1..63 letters, digits or hyphens, not starting or ending with a hyphen"
        )
    return str(text)


@lru_cache(maxsize=1 << 16)
def _parse_address(text: str) -> tuple[int, str]:
    """(sort key, canonical text) of an address; ``ValueError`` if it is not one."""
    if "%" in text:
        raise ValueError("zone ids are not accepted")
    ip = ipaddress.ip_address(text)
    if isinstance(ip, ipaddress.IPv4Address):
        return int(ip), str(ip)
    mapped = ip.ipv4_mapped
    # Rust's Display prints IPv4-mapped addresses with a dotted-quad tail.
    canon = str(ip) if mapped is None else f"::ffff:{mapped}"
    return _V6_OFFSET + int(ip), canon


def canonical_address(address: object) -> str:
    """Validate an address and return its canonical text (Rust's ``IpAddr`` Display form)."""
    return _address(address)[1]


def _address(address: object) -> tuple[int, str]:
    if not isinstance(address, str):
        raise InvalidAddress(f"invalid address {address!r}: must be a str")
    try:
        return _parse_address(str(address))
    except ValueError:
        raise InvalidAddress(f"invalid address {address!r}: not an IPv4 or IPv6 address") from None


def _as_int(value: object) -> int | None:
    """An int argument as an int: an int, or anything with ``__index__`` (numpy integer
    scalars); ``None`` for a bool (numpy's too) and for anything else. An ``__index__`` that
    raises something other than ``TypeError`` propagates unchanged."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):
        return None
    if isinstance(value, int):
        return int(value)
    if getattr(type(value), "__index__", None) is None:
        return None
    try:
        return operator.index(cast(SupportsIndex, value))
    except TypeError:
        return None


def _is_scalar_int(value: object) -> bool:
    """Whether a scalar-or-sequence argument (``fence``) is one int: an int, or an object with
    ``__index__`` and no ``__len__`` (a numpy integer scalar, not an array)."""
    kind = type(value)
    return isinstance(value, int) or (
        getattr(kind, "__index__", None) is not None and not hasattr(kind, "__len__")
    )


def _weight(weight: object, address: str) -> int:
    if type(weight) is int and 0 <= weight <= 255:
        return weight
    value = _as_int(weight)
    if value is not None and 0 <= value <= 255:
        return value
    raise InvalidWeight(f"invalid weight {weight!r} for {address}: must be 0..255")


def _first(item: tuple[int, Target]) -> int:
    return item[0]


def _canonical_set(targets: object) -> Answer:
    """Validate an iterable of (address, weight) pairs and return the canonical set."""
    if isinstance(targets, str) or not isinstance(targets, Iterable):
        raise InvalidArgument(
            f"invalid target set {targets!r}: must be an iterable of (address, weight) pairs"
        )
    keyed: list[tuple[int, Target]] = []
    for target in _sequence(targets, "target set", ordered=False):
        if not isinstance(target, (tuple, list)) or len(target) != 2:
            raise InvalidArgument(f"invalid target {target!r}: must be an (address, weight) pair")
        address, weight = target
        key, canon = _address(address)
        keyed.append((key, (canon, _weight(weight, address))))
    if not keyed:
        return _EMPTY
    if len(keyed) > 1:
        keyed.sort(key=_first)
        previous = -1
        for key, (canon, _) in keyed:
            if key == previous:
                raise InvalidArgument(f"duplicate address {canon} in one target set")
            previous = key
    return tuple([item for _, item in keyed])


def _generation(generation: object) -> int:
    if type(generation) is int and 1 <= generation <= MAX_I63:
        return generation
    value = _as_int(generation)
    if value is not None and 1 <= value <= MAX_I63:
        return value
    raise InvalidGeneration(f"invalid generation {generation!r}: must be an int in 1..2**63-1")


def _flag(value: object, what: str) -> None:
    """A keyword flag must be a bool, nothing else."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"invalid {what} {value!r}: must be a bool")


def _token(token: object, what: str = "token") -> int:
    if type(token) is int and 1 <= token <= MAX_I63:
        return token
    value = _as_int(token)
    if value is not None and 1 <= value <= MAX_I63:
        return value
    raise InvalidToken(f"invalid {what} {token!r}: must be an int in 1..2**63-1")


def _batch_token(token: object, what: str) -> int:
    """A token or fence of a batch lease call: 0 or ``None`` marks an entry whose lease
    ``acquire_leases`` refused (fenced, not renewed, not released); else as ``_token``."""
    if token is None:
        return 0
    value = _as_int(token)
    if value == 0:
        return 0
    return _token(token, what)


def _version(version: object) -> int:
    value = _as_int(version)
    if value is not None and 0 <= value <= MAX_I63:
        return value
    raise InvalidToken(f"invalid expected version {version!r}: must be an int in 0..2**63-1")


def _mode(mode: object) -> int:
    code = _MODES.get(mode) if isinstance(mode, str) else None
    if code is None:
        raise InvalidArgument(f"invalid mode {mode!r}: must be 'lww', 'if_newer' or 'exact'")
    return code


def _check_expected(code: int, expected: object, what: str) -> None:
    if code == _EXACT:
        if expected is None:
            raise InvalidArgument(f"mode 'exact' requires {what}")
    elif expected is not None:
        raise InvalidArgument(f"{what} is only allowed with mode 'exact', got {expected!r}")


def _is_text(text: str) -> bool:
    """Whether ``text`` is valid Unicode text (no lone surrogates), as a Rust ``String`` is."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _holder(holder: object) -> str:
    if not isinstance(holder, str) or not 1 <= len(holder) <= _MAX_HOLDER or not _is_text(holder):
        raise InvalidArgument(
            f"invalid lease holder {holder!r}: must be a str of 1..128 characters"
        )
    return str(holder)


def _float(value: object, what: str) -> float:
    as_int = None if isinstance(value, float) else _as_int(value)
    if as_int is not None:
        value = as_int
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:
            pass
        else:
            if math.isfinite(result):
                return result
    raise InvalidArgument(f"invalid {what} {value!r}: must be a finite number")


def _ttl(ttl: object) -> float:
    result = _float(ttl, "ttl")
    if result <= 0.0:
        raise InvalidArgument(f"invalid ttl {ttl!r}: must be > 0")
    return result


def _check_batch_len(length: int, what: str) -> None:
    if length > MAX_BATCH:
        raise TooLarge(f"{what} has {length} items: at most {MAX_BATCH} are accepted in one call")


def _bounded_list(values: Iterable[object], what: str) -> list[object]:
    """The items of an iterable, at most ``MAX_BATCH`` (``TooLarge`` past it, without reading
    further). An exception the iterable raises propagates unchanged."""
    # A sized iterable (a numpy array, a dict view) is refused from its length, before any
    # item is read: iterating 2**26 items first would cost gigabytes of item objects.
    try:
        length = len(values)  # type: ignore[arg-type]
    except TypeError:
        pass
    except OverflowError:
        raise TooLarge(f"{what} has more items than fit a machine word") from None
    else:
        _check_batch_len(length, what)
    items = list(itertools.islice(values, MAX_BATCH + 1))
    _check_batch_len(len(items), what)
    return items


def _sequence(values: object, what: str, *, ordered: bool = True) -> Sequence[object]:
    """A list of the items of a non-str iterable argument, at most ``MAX_BATCH``. ``ordered``:
    the items line up with something, so a set or mapping (arbitrary order) is refused."""
    if isinstance(values, str):
        raise InvalidArgument(f"{what} must be a sequence, not str")
    if isinstance(values, (list, tuple)):
        _check_batch_len(len(values), what)
        return values
    if not isinstance(values, Iterable):
        raise InvalidArgument(f"{what} must be a sequence, not {type(values).__name__}")
    if ordered and isinstance(values, (AbstractSet, Mapping)):
        raise InvalidArgument(
            f"invalid {what}: expected an ordered sequence (list, tuple, range, array), "
            f"got {type(values).__name__}"
        )
    if isinstance(values, range):
        try:
            _check_batch_len(len(values), what)
        except OverflowError:
            raise TooLarge(f"range {values!r} has more items than fit a machine word") from None
        return values
    return _bounded_list(values, what)


_INT_CODES: Final = frozenset("bBhHiIlLqQnN")
"""``struct`` codes of integer items a buffer argument may hold."""


def _buffer_ints(values: object, error: type[Exception], what: str) -> list[int] | None:
    """The items of a one-dimensional buffer of integers as ints (a copy), or None if
    ``values`` is not a buffer. Other buffers (floats, bools, chars, several dimensions,
    big-endian items) raise ``error``."""
    if isinstance(values, (str, list, tuple, range)):
        return None
    try:
        view = memoryview(cast(bytes, values))
    except TypeError:
        return None
    with view:
        if view.ndim == 1:
            # From the length alone: a broadcast buffer may claim 10**12 items.
            _check_batch_len(view.shape[0] if view.shape else 0, what)
        fmt = view.format
        prefix = fmt[0] if fmt[:1] in ("@", "=", "<", ">", "!") else ""
        code = fmt[len(prefix) :]
        big = prefix in (">", "!") and sys.byteorder == "little"
        if view.ndim != 1 or code not in _INT_CODES or big:
            raise error(
                f"invalid {what}: a buffer of format {fmt!r} with {view.ndim} dimension(s), "
                "expected one dimension of native integers"
            )
        if prefix in ("", "@"):
            return view.tolist()
        if not view.c_contiguous:
            raise error(f"invalid {what}: a strided buffer of format {fmt!r}")
        signed: dict[int, Literal["b", "h", "i", "q"]] = {1: "b", 2: "h", 4: "i", 8: "q"}
        unsigned: dict[int, Literal["B", "H", "I", "Q"]] = {1: "B", 2: "H", 4: "I", 8: "Q"}
        native = (unsigned if code.isupper() else signed)[view.itemsize]
        return view.cast("B").cast(native).tolist()


def _int_sequence(
    values: object, error: type[Exception], what: str, *, ordered: bool = True
) -> Sequence[object]:
    """A sequence-of-ints argument: a buffer's items as ints, or ``_sequence``."""
    items = _buffer_ints(values, error, what)
    return _sequence(values, what, ordered=ordered) if items is None else items


_OUTPUTS: Final = ("list", "array", "numpy")


def _output(output: object) -> Output:
    # isinstance first: a numpy array compares element-wise (and a huge one allocates).
    if isinstance(output, str) and output in _OUTPUTS:
        return cast(Output, output)
    raise InvalidArgument(f"invalid output {output!r}: must be 'list', 'array' or 'numpy'")


def _outcomes(outcomes: object) -> Output | None:
    """The container of ``flip_many``'s outcome arrays, or None for counts only."""
    if isinstance(outcomes, bool):
        return "array" if outcomes else None
    if isinstance(outcomes, str) and outcomes in ("array", "numpy"):
        return cast(Output, outcomes)
    raise InvalidArgument(f"invalid outcomes {outcomes!r}: must be a bool, 'array' or 'numpy'")


def _typed_array(values: list[int], typecode: str, dtype: str, output: Output) -> Any:
    """``values`` as an ``array.array`` or, only when asked, a numpy array."""
    if output == "numpy":
        import numpy

        return numpy.array(values, dtype=dtype)
    return array(typecode, values)


def _plan_key(key: object) -> Endpoint:
    """Canonical form of a plan key: a valid name, or an int that may be an endpoint id."""
    if isinstance(key, str):
        return canonical_name(key)
    value = _as_int(key)
    if value is not None:
        if 0 <= value < _MAX_KEY:
            return value
        raise UnknownEndpoint(f"unknown endpoint id {key}")
    raise InvalidArgument(f"invalid endpoint {key!r}: must be a name (str) or an id (int)")


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


@final
class Plan:
    """One plan generation: for each endpoint, a weighted set of target addresses (its *tree*).

    Immutable. Target sets are canonicalised (sorted by address, duplicates rejected) and
    identical sets are stored once, here and in the store.
    """

    __slots__ = ("_generation", "_index", "_keys", "_records", "_sets", "_slots")

    _generation: int
    _keys: list[Endpoint]
    """Endpoint keys in construction order (canonical names, or ints)."""
    _slots: dict[Endpoint, int]
    """Key -> position in ``_keys``."""
    _sets: list[Answer]
    """Distinct canonical target sets."""
    _index: list[int]
    """Per position, the index of its set in ``_sets``."""
    _records: int

    def __init__(self, generation: int, targets: Mapping[Endpoint, Iterable[Target]]) -> None:
        """Build a plan from ``{endpoint: [(ip, weight), ...]}`` (rules: ``dnsrace.Plan``)."""
        gen = _generation(generation)
        if not isinstance(targets, Mapping):
            raise InvalidArgument(
                f"plan targets must be a mapping of endpoint to target set, "
                f"not {type(targets).__name__}"
            )
        _check_batch_len(len(targets), "targets")
        keys: list[Endpoint] = []
        slots: dict[Endpoint, int] = {}
        sets: list[Answer] = []
        index: list[int] = []
        seen: dict[Answer, int] = {}
        records = 0
        for raw_key, value in targets.items():
            key = _plan_key(raw_key)
            if key in slots:
                raise InvalidArgument(f"endpoint {key!r} appears twice in plan {gen}")
            slots[key] = len(keys)
            keys.append(key)
            answer = _canonical_set(value)
            j = seen.get(answer)
            if j is None:
                j = seen[answer] = len(sets)
                sets.append(answer)
            index.append(j)
            records += len(answer)
        self._generation = gen
        self._keys = keys
        self._slots = slots
        self._sets = sets
        self._index = index
        self._records = records

    @staticmethod
    def from_shared(
        generation: int,
        target_sets: Sequence[Iterable[Target]],
        endpoints: Sequence[Endpoint] | Ints,
        set_index: Ints,
    ) -> Plan:
        """Compact constructor: endpoint ``endpoints[i]`` gets ``target_sets[set_index[i]]``."""
        gen = _generation(generation)
        raw_sets = _sequence(target_sets, "target_sets")
        keys_in = _int_sequence(endpoints, InvalidArgument, "endpoints")
        index_in = _int_sequence(set_index, InvalidArgument, "set_index")
        sets: list[Answer] = []
        remap: list[int] = []
        seen: dict[Answer, int] = {}
        for raw in raw_sets:
            answer = _canonical_set(raw)
            j = seen.get(answer)
            if j is None:
                j = seen[answer] = len(sets)
                sets.append(answer)
            remap.append(j)
        if len(keys_in) != len(index_in):
            raise InvalidArgument(
                f"endpoints and set_index differ in length ({len(keys_in)} != {len(index_in)})"
            )
        n_sets = len(remap)
        keys: list[Endpoint] = []
        slots: dict[Endpoint, int] = {}
        index: list[int] = []
        records = 0
        for raw_key, raw_index in zip(keys_in, index_in, strict=True):
            key = _plan_key(raw_key)
            if key in slots:
                raise InvalidArgument(f"endpoint {key!r} appears twice in plan {gen}")
            i = _as_int(raw_index)
            if i is None or not 0 <= i < n_sets:
                raise InvalidArgument(
                    f"invalid set index {raw_index!r}: must be an int in 0..{n_sets - 1}"
                    if n_sets
                    else f"invalid set index {raw_index!r}: there are no target sets"
                )
            slots[key] = len(keys)
            keys.append(key)
            j = remap[i]
            index.append(j)
            records += len(sets[j])
        plan = Plan.__new__(Plan)
        plan._generation = gen
        plan._keys = keys
        plan._slots = slots
        plan._sets = sets
        plan._index = index
        plan._records = records
        return plan

    @property
    def generation(self) -> int:
        """The plan's generation (1..2**63-1)."""
        return self._generation

    @property
    def records(self) -> int:
        """Total leaves over all endpoints (a shared set counts once per endpoint using it)."""
        return self._records

    def __len__(self) -> int:
        """Number of endpoints this plan has a tree for."""
        return len(self._keys)

    def endpoints(self) -> list[Endpoint]:
        """The endpoints in construction order (names lower-cased, trailing dot dropped)."""
        return list(self._keys)

    def targets(self, endpoint: Endpoint) -> Answer:
        """The canonical target set of one endpoint; ``UnknownEndpoint`` if not in the plan."""
        if isinstance(endpoint, str):
            key: Endpoint = canonical_name(endpoint)
        elif (value := _as_int(endpoint)) is not None:
            key = value
        else:
            raise InvalidArgument(
                f"invalid endpoint {endpoint!r}: must be a name (str) or an id (int)"
            )
        slot = self._slots.get(key)
        if slot is None:
            raise UnknownEndpoint(f"endpoint {key!r} is not in plan {self._generation}")
        return self._sets[self._index[slot]]


def shared_form(plan: Plan) -> tuple[list[Answer], list[Endpoint], list[int]]:
    """A plan's compact form: distinct target sets, endpoint keys, each key's set index (what
    ``Plan.from_shared`` takes; a distributed store writes it as is)."""
    return list(plan._sets), list(plan._keys), list(plan._index)


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------


@final
class PyRecordStore:
    """Thread-safe in-memory store of load-balancer DNS records (pure Python reference).

    Same API and semantics as ``dnsrace.RecordStore``; see ``dnsrace/_core.pyi``.
    """

    def __init__(self, *, history: int = 0) -> None:
        """An empty store. ``history`` must be 0 (``InvalidArgument`` otherwise): histories
        are recorded by the Rust core only."""
        if _as_int(history) != 0:
            raise InvalidArgument(
                f"invalid history {history!r}: the reference store records no history "
                "(use dnsrace.RecordStore)"
            )
        self._lock = threading.Lock()
        # Endpoints: names and parallel per-id lists.
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._alias: list[int | None] = []
        self._rollback: list[int | None] = []
        self._version: list[int] = []
        self._holder: list[str | None] = []
        self._token: list[int] = []
        self._expiry: list[float] = []
        self._fence: list[int] = []
        # Plans: generation -> {endpoint id -> interned canonical set}.
        self._trees: dict[int, dict[int, Answer]] = {}
        self._tree_count = 0
        self._records_live = 0
        # Interned canonical sets (content -> the one stored object), and their reference
        # counts and objects keyed by the object's id (no rehashing of tuples on release).
        self._interned: dict[Answer, Answer] = {}
        self._refs: dict[int, int] = {}
        self._objects: dict[int, Answer] = {}
        # Counters.
        self._flips_applied = 0
        self._stale_flips = 0
        self._outdated_rejections = 0
        self._fenced_rejections = 0
        self._missing_rejections = 0
        self._dangling_rejections = 0
        self._empty_answers = 0
        self._lease_conflicts = 0
        self._leases_granted = 0

    # ---------------------------------------------------------------- internal helpers

    def _ep(self, endpoint: object) -> int:
        """Resolve an endpoint argument to its id (caller holds the lock)."""
        if isinstance(endpoint, str):
            i = self._ids.get(endpoint)
            if i is None:
                name = canonical_name(endpoint)
                i = self._ids.get(name)
                if i is None:
                    raise UnknownEndpoint(f"unknown endpoint {name}")
            return i
        value = _as_int(endpoint)
        if value is not None:
            if 0 <= value < len(self._names):
                return value
            raise UnknownEndpoint(f"unknown endpoint id {endpoint}")
        raise InvalidArgument(f"invalid endpoint {endpoint!r}: must be a name (str) or an id (int)")

    def _eps(self, endpoints: object) -> Sequence[int]:
        """Resolve an endpoint list argument (``None``: all ids) (caller holds the lock)."""
        if endpoints is None:
            return range(len(self._names))
        items = _int_sequence(endpoints, InvalidArgument, "endpoints")
        n = len(self._names)
        ids: list[int] = []
        append = ids.append
        for e in items:
            if type(e) is int and 0 <= e < n:
                append(e)
            else:
                append(self._ep(e))
        return ids

    def _release(self, answers: Collection[Answer]) -> None:
        """Drop the trees' references to their interned sets (one update per distinct set)."""
        refs = self._refs
        for key, count in Counter(map(id, answers)).items():
            left = refs[key] - count
            if left:
                refs[key] = left
            else:
                del refs[key]
                del self._interned[self._objects.pop(key)]
        self._records_live -= sum(map(len, answers))
        self._tree_count -= len(answers)

    def _flip_one(
        self, i: int, gen: int, code: int, expected: int, fence: int | None, rollback: bool
    ) -> int:
        """Fence, mode and dangling checks then the flip; the tree is known to exist."""
        # 0: the sentinel of a refused lease (batch fences only): never held.
        if fence is not None and (fence < self._fence[i] or fence == 0):
            self._fenced_rejections += 1
            return _FENCED
        alias = self._alias[i]
        if code == _IF_NEWER:
            ok = alias is None or gen > alias
        elif code == _EXACT:
            ok = self._version[i] == expected
        else:
            ok = True
        if not ok:
            self._outdated_rejections += 1
            return _OUTDATED
        if rollback and alias is not None:
            active = self._trees.get(alias)
            if active is None or i not in active:
                self._dangling_rejections += 1
                return _DANGLING
        if fence is not None and fence > self._fence[i]:
            self._fence[i] = fence
        if alias is not None and gen < alias:
            self._stale_flips += 1
        self._rollback[i] = alias if rollback else None
        self._alias[i] = gen
        self._version[i] += 1
        self._flips_applied += 1
        return _APPLIED

    def _grant(self, i: int, holder: str, expiry: float) -> int:
        token = self._fence[i] + 1
        self._fence[i] = token
        self._holder[i] = holder
        self._token[i] = token
        self._expiry[i] = expiry
        self._leases_granted += 1
        return token

    def _conflict(self, i: int, holder: str, now: float) -> bool:
        current = self._holder[i]
        return current is not None and current != holder and now < self._expiry[i]

    # ---------------------------------------------------------------- endpoints

    def __len__(self) -> int:
        """Number of registered endpoints."""
        with self._lock:
            return len(self._names)

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        """Register DNS names; return their ids (dense, from 0, in registration order)."""
        items = _sequence(names, "names")
        canon = [canonical_name(name) for name in items]
        with self._lock:
            ids_map = self._ids
            out: list[int] = []
            for name in canon:
                i = ids_map.get(name)
                if i is None:
                    i = ids_map[name] = len(self._names)
                    self._names.append(name)
                    self._alias.append(None)
                    self._rollback.append(None)
                    self._version.append(0)
                    self._holder.append(None)
                    self._token.append(0)
                    self._expiry.append(0.0)
                    self._fence.append(0)
                out.append(i)
            return out

    def endpoint_id(self, name: str) -> int:
        """The id of a registered name (``UnknownEndpoint`` otherwise)."""
        if not isinstance(name, str):
            raise InvalidArgument(f"invalid name {name!r}: endpoint_id takes a str")
        with self._lock:
            return self._ep(name)

    def endpoint_names(self, endpoints: Endpoints | None = None) -> list[str]:
        """The canonical names of many endpoints (``None``: all, in id order)."""
        with self._lock:
            names = self._names
            return [names[i] for i in self._eps(endpoints)]

    def __contains__(self, endpoint: object) -> bool:
        """Whether ``endpoint`` (a name or an id) is registered; anything else is not."""
        if isinstance(endpoint, str):
            try:
                name = canonical_name(endpoint)
            except InvalidName:
                return False
            with self._lock:
                return name in self._ids
        value = _as_int(endpoint)
        with self._lock:
            return value is not None and 0 <= value < len(self._names)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        """Pickled as its snapshot bytes (the format of ``snapshot``)."""
        return (type(self).restore_bytes, (self.snapshot_bytes(),))

    def __copy__(self) -> Self:
        """An independent copy, through the snapshot format."""
        return self.restore_bytes(self.snapshot_bytes())

    def __deepcopy__(self, memo: object) -> Self:
        """As ``__copy__``: the store shares nothing with its copy."""
        return self.__copy__()

    def endpoint_name(self, endpoint: Endpoint) -> str:
        """The canonical (lower-case, no trailing dot) name of an endpoint."""
        with self._lock:
            return self._names[self._ep(endpoint)]

    # ---------------------------------------------------------------- plans

    def put_plan(self, plan: Plan) -> None:
        """Store a plan's trees. Every endpoint must be registered (``UnknownEndpoint``)."""
        if not isinstance(plan, Plan):
            raise InvalidArgument(
                f"put_plan takes a dnsrace.reference.Plan, not {type(plan).__name__}"
            )
        gen = plan._generation
        with self._lock:
            if gen in self._trees:
                raise InvalidArgument(f"generation {gen} is already stored (plans are immutable)")
            n = len(self._names)
            ids_map = self._ids
            ids: list[int] = []
            for key in plan._keys:
                if isinstance(key, int):
                    if key >= n:
                        raise UnknownEndpoint(f"unknown endpoint id {key}")
                    ids.append(key)
                else:
                    i = ids_map.get(key)
                    if i is None:
                        raise UnknownEndpoint(f"unknown endpoint {key}")
                    ids.append(i)
            if len(set(ids)) != len(ids):
                seen: set[int] = set()
                for i in ids:
                    if i in seen:
                        raise InvalidArgument(
                            f"endpoint {self._names[i]} (id {i}) appears twice in plan {gen}"
                        )
                    seen.add(i)
            if not ids:
                return
            interned = self._interned
            refs = self._refs
            stored: list[Answer] = list(plan._sets)
            for j, count in Counter(plan._index).items():
                answer = interned.setdefault(stored[j], stored[j])
                stored[j] = answer
                key_id = id(answer)
                if key_id in refs:
                    refs[key_id] += count
                else:
                    refs[key_id] = count
                    self._objects[key_id] = answer
            self._trees[gen] = dict(zip(ids, [stored[j] for j in plan._index], strict=True))
            self._tree_count += len(ids)
            self._records_live += plan._records

    def plan_generations(self) -> list[int]:
        """Generations that still have at least one stored tree, ascending."""
        with self._lock:
            return sorted(self._trees)

    def has_tree(self, endpoint: Endpoint, generation: int) -> bool:
        """Whether the tree of ``generation`` for ``endpoint`` is stored."""
        gen = _generation(generation)
        with self._lock:
            i = self._ep(endpoint)
            tree = self._trees.get(gen)
            return tree is not None and i in tree

    def delete_plans(self, generations: Iterable[int] | Ints, *, safe: bool = True) -> DeleteResult:
        """Delete the trees of these generations (the enactors' clean-up)."""
        raw = _int_sequence(generations, InvalidGeneration, "generations", ordered=False)
        gens = sorted({_generation(g) for g in raw})
        _flag(safe, "safe")
        with self._lock:
            deleted = kept = 0
            kept_gens: list[int] = []
            unknown: list[int] = []
            alias = self._alias
            rollback = self._rollback
            for gen in gens:
                tree = self._trees.get(gen)
                if tree is None:
                    unknown.append(gen)
                    continue
                keep = [i for i in tree if alias[i] == gen or rollback[i] == gen] if safe else []
                if keep:
                    kept += len(keep)
                    kept_gens.append(gen)
                    remaining = {i: tree[i] for i in keep}
                    self._release([a for i, a in tree.items() if i not in remaining])
                    self._trees[gen] = remaining
                else:
                    self._release(tree.values())
                    del self._trees[gen]
                deleted += len(tree) - len(keep)
            return DeleteResult(deleted, kept, kept_gens, unknown)

    # ---------------------------------------------------------------- flips

    def flip(
        self,
        endpoint: Endpoint,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_version: int | None = None,
        fence: int | None = None,
        rollback: bool = True,
    ) -> bool:
        """Point the endpoint's alias at ``generation``'s tree; the old alias becomes rollback."""
        gen = _generation(generation)
        _flag(rollback, "rollback")
        code = _mode(mode)
        _check_expected(code, expected_version, "expected_version")
        expected = _version(expected_version) if code == _EXACT else 0
        token = None if fence is None else _token(fence, "fence")
        with self._lock:
            i = self._ep(endpoint)
            tree = self._trees.get(gen)
            if tree is None or i not in tree:
                self._missing_rejections += 1
                raise UnknownPlan(f"no tree of generation {gen} for endpoint {self._names[i]}")
            outcome = self._flip_one(i, gen, code, expected, token, rollback)
            if outcome == _DANGLING:
                raise DanglingAlias(
                    f"endpoint {self._names[i]!r}: the active tree is gone, "
                    "the rollback cannot be recorded"
                )
            return outcome == _APPLIED

    @overload
    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: Literal[False] = False,
    ) -> FlipCounts: ...
    @overload
    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: Literal[True, "array"],
    ) -> ArrayResult: ...
    @overload
    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: Literal["numpy"],
    ) -> NumpyResult: ...
    @overload
    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: bool | Literal["array", "numpy"] = False,
    ) -> FlipCounts | FlipResult[Any]: ...
    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: bool | Literal["array", "numpy"] = False,
    ) -> FlipCounts | FlipResult[Any]:
        """``flip`` for many endpoints in one call (``None``: every endpoint, in id order);
        with ``outcomes``, also each position's outcome code and previous alias."""
        gen = _generation(generation)
        _flag(rollback, "rollback")
        output = _outcomes(outcomes)
        code = _mode(mode)
        _check_expected(code, expected_versions, "expected_versions")
        with self._lock:
            ids = self._eps(endpoints)
            count = len(ids)
            expected: Sequence[int] | None = None
            if code == _EXACT:
                raw = _int_sequence(expected_versions, InvalidToken, "expected_versions")
                if len(raw) != count:
                    raise InvalidArgument(
                        f"expected_versions has {len(raw)} items for {count} endpoints"
                    )
                expected = [_version(v) for v in raw]
            fences: Sequence[int] | None = None
            single: int | None = None
            if fence is None:
                pass
            elif _is_scalar_int(fence):
                single = _token(fence, "fence")
            else:
                raw = _int_sequence(fence, InvalidToken, "fence")
                if len(raw) != count:
                    raise InvalidArgument(f"fence has {len(raw)} items for {count} endpoints")
                fences = [_batch_token(f, "fence") for f in raw]
            codes: list[int] = []
            previous: list[int] = []
            tree = self._trees.get(gen)
            alias = self._alias
            for k, i in enumerate(ids):
                if output is not None:
                    previous.append(alias[i] or 0)
                if tree is None or i not in tree:
                    codes.append(_MISSING)
                    continue
                codes.append(
                    self._flip_one(
                        i,
                        gen,
                        code,
                        0 if expected is None else expected[k],
                        single if fences is None else fences[k],
                        rollback,
                    )
                )
            tally = [0] * 5
            for c in codes:
                tally[c] += 1
            self._missing_rejections += tally[_MISSING]
            counts = FlipCounts(
                tally[_APPLIED], tally[_OUTDATED], tally[_FENCED], tally[_MISSING], tally[_DANGLING]
            )
        if output is None:
            return counts
        return FlipResult(
            counts,
            _typed_array(codes, "B", "uint8", output),
            _typed_array(previous, "Q", "uint64", output),
        )

    # ---------------------------------------------------------------- reads

    def _resolve(self, i: int) -> Answer:
        alias = self._alias[i]
        if alias is not None:
            tree = self._trees.get(alias)
            if tree is not None:
                answer = tree.get(i)
                if answer:
                    return answer
        self._empty_answers += 1
        return _EMPTY

    def resolve(self, endpoint: Endpoint) -> Answer:
        """The records the alias points at; ``()`` (counted as an empty answer) otherwise."""
        with self._lock:
            return self._resolve(self._ep(endpoint))

    def resolve_many(self, endpoints: Endpoints | None = None) -> list[Answer]:
        """``resolve`` for many endpoints (``None``: all, in id order)."""
        with self._lock:
            resolve = self._resolve
            return [resolve(i) for i in self._eps(endpoints)]

    def _column(self, column: list[_T], endpoints: Endpoints | None) -> list[_T]:
        """One per-endpoint field for many endpoints (``None``: all, in id order)."""
        with self._lock:
            if endpoints is None:
                return list(column)
            return [column[i] for i in self._eps(endpoints)]

    def _generations(
        self, column: list[int | None], endpoints: Endpoints | None, output: Output
    ) -> Any:
        """A generation column (aliases, rollbacks) in the requested container; none -> 0."""
        kind = _output(output)
        values = self._column(column, endpoints)
        if kind == "list":
            return values
        return _typed_array([g or 0 for g in values], "Q", "uint64", kind)

    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]: ...
    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def aliases(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Alias generation of each endpoint (``None``, or 0 in arrays, where unset); nothing
        is counted."""
        return self._generations(self._alias, endpoints, output)

    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]: ...
    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def rollbacks(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def rollbacks(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Rollback generation of each endpoint (``None``, or 0 in arrays, where unset);
        nothing is counted."""
        return self._generations(self._rollback, endpoints, output)

    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def versions(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def versions(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Version of each endpoint (what ``mode="exact"`` compares); nothing is counted."""
        kind = _output(output)
        column = self._column(self._version, endpoints)
        return column if kind == "list" else _typed_array(column, "Q", "uint64", kind)

    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def dangling_aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Output = "list"
    ) -> Any:
        """Ids (in input order) of the endpoints whose alias is set but whose tree was deleted."""
        kind = _output(output)
        with self._lock:
            alias = self._alias
            trees = self._trees
            out: list[int] = []
            for i in self._eps(endpoints):
                a = alias[i]
                if a is not None:
                    tree = trees.get(a)
                    if tree is None or i not in tree:
                        out.append(i)
        return out if kind == "list" else _typed_array(out, "I", "uint32", kind)

    def state(self, endpoint: Endpoint) -> EndpointState:
        """A consistent snapshot of one endpoint's control record."""
        with self._lock:
            i = self._ep(endpoint)
            return EndpointState(
                i,
                self._names[i],
                self._alias[i],
                self._rollback[i],
                self._version[i],
                self._holder[i],
                self._token[i],
                self._expiry[i],
                self._fence[i],
            )

    # ---------------------------------------------------------------- leases

    def acquire_lease(self, endpoint: Endpoint, holder: str, ttl: float, now: float) -> int:
        """Take the endpoint's lease until ``now + ttl``; return a new fencing token."""
        who = _holder(holder)
        length = _ttl(ttl)
        at = _float(now, "now")
        with self._lock:
            i = self._ep(endpoint)
            if self._conflict(i, who, at):
                self._lease_conflicts += 1
                raise LeaseHeld(
                    f"endpoint {self._names[i]} is leased by {self._holder[i]!r} "
                    f"until {self._expiry[i]!r}"
                )
            if self._fence[i] >= MAX_I63:
                raise InvalidToken(f"fencing tokens of endpoint {self._names[i]} are exhausted")
            return self._grant(i, who, at + length)

    def acquire_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        ttl: float,
        now: float,
        *,
        output: Output = "list",
    ) -> Any:
        """``acquire_lease`` for many endpoints: the token, or ``None`` (0 in arrays) where
        refused (another holder's live lease, counted as a conflict; or exhausted fencing
        tokens, not counted)."""
        who = _holder(holder)
        length = _ttl(ttl)
        at = _float(now, "now")
        kind = _output(output)
        tokens = self._acquire_many(endpoints, who, length, at)
        if kind == "list":
            return tokens
        return _typed_array([t or 0 for t in tokens], "Q", "uint64", kind)

    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Ints,
        ttl: float,
        now: float,
        *,
        output: Output = "list",
    ) -> Any:
        """``renew_lease`` for many endpoints: per position the token where the lease was
        renewed to ``now + ttl``, ``None`` (0 in arrays) where it was not (lost, or a refused
        entry's ``None``/0 given back); nothing is raised for a lost lease."""
        who = _holder(holder)
        raw = _int_sequence(tokens, InvalidToken, "tokens")
        toks = [_batch_token(t, "token") for t in raw]
        length = _ttl(ttl)
        at = _float(now, "now")
        kind = _output(output)
        with self._lock:
            if endpoints is None:
                raise InvalidArgument("renew_leases needs a sequence of endpoints, not None")
            ids = self._eps(endpoints)
            if len(ids) != len(toks):
                raise InvalidArgument(f"{len(toks)} tokens for {len(ids)} endpoints")
            out: list[int | None] = []
            for i, tok in zip(ids, toks, strict=True):
                if (
                    tok
                    and self._holder[i] == who
                    and self._token[i] == tok
                    and at < self._expiry[i]
                ):
                    self._expiry[i] = at + length
                    out.append(tok)
                else:
                    out.append(None)
        if kind == "list":
            return out
        return _typed_array([t or 0 for t in out], "Q", "uint64", kind)

    def _acquire_many(
        self, endpoints: Endpoints, who: str, length: float, at: float
    ) -> list[int | None]:
        with self._lock:
            if endpoints is None:
                raise InvalidArgument("acquire_leases needs a sequence of endpoints, not None")
            ids = self._eps(endpoints)
            expiry = at + length
            out: list[int | None] = []
            for i in ids:
                if self._conflict(i, who, at):
                    self._lease_conflicts += 1
                    out.append(None)
                elif self._fence[i] >= MAX_I63:
                    # An outcome of a valid element: reported (None, not counted), not raised.
                    out.append(None)
                else:
                    out.append(self._grant(i, who, expiry))
            return out

    def renew_lease(
        self, endpoint: Endpoint, holder: str, token: int, ttl: float, now: float
    ) -> float:
        """Extend a live lease to ``now + ttl`` and return the new expiry."""
        who = _holder(holder)
        tok = _token(token)
        length = _ttl(ttl)
        at = _float(now, "now")
        with self._lock:
            i = self._ep(endpoint)
            if self._holder[i] != who or self._token[i] != tok or not at < self._expiry[i]:
                raise LeaseLost(
                    f"{who!r} with token {tok} does not hold a live lease on {self._names[i]}"
                )
            expiry = at + length
            self._expiry[i] = expiry
            return expiry

    def release_lease(self, endpoint: Endpoint, holder: str, token: int) -> None:
        """Give the lease up (``LeaseLost`` unless holder and token match)."""
        who = _holder(holder)
        tok = _token(token)
        with self._lock:
            i = self._ep(endpoint)
            if self._holder[i] != who or self._token[i] != tok:
                raise LeaseLost(
                    f"{who!r} with token {tok} does not hold the lease on {self._names[i]}"
                )
            self._holder[i] = None
            self._token[i] = 0
            self._expiry[i] = 0.0

    def release_leases(self, endpoints: Endpoints, holder: str, tokens: Ints) -> int:
        """``release_lease`` for many endpoints; returns how many were released."""
        who = _holder(holder)
        raw = _int_sequence(tokens, InvalidToken, "tokens")
        toks = [_batch_token(t, "token") for t in raw]
        with self._lock:
            if endpoints is None:
                raise InvalidArgument("release_leases needs a sequence of endpoints, not None")
            ids = self._eps(endpoints)
            if len(ids) != len(toks):
                raise InvalidArgument(f"{len(toks)} tokens for {len(ids)} endpoints")
            released = 0
            for i, tok in zip(ids, toks, strict=True):
                if tok and self._holder[i] == who and self._token[i] == tok:
                    self._holder[i] = None
                    self._token[i] = 0
                    self._expiry[i] = 0.0
                    released += 1
            return released

    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Output
    ) -> Any: ...
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Output = "list"
    ) -> Any:
        """Ids (in input order) whose lease is live at ``now`` (held, ``now < expiry``)."""
        at = _float(now, "now")
        kind = _output(output)
        with self._lock:
            holder = self._holder
            expiry = self._expiry
            out = [i for i in self._eps(endpoints) if holder[i] is not None and at < expiry[i]]
        return out if kind == "list" else _typed_array(out, "I", "uint32", kind)

    # ---------------------------------------------------------------- accounting

    def stats(self) -> StoreStats:
        """Counters and gauges, computed under the lock (a consistent snapshot)."""
        with self._lock:
            trees = self._trees
            dangling_aliases = dangling_rollbacks = 0
            for i, a in enumerate(self._alias):
                if a is not None:
                    tree = trees.get(a)
                    if tree is None or i not in tree:
                        dangling_aliases += 1
            for i, r in enumerate(self._rollback):
                if r is not None:
                    tree = trees.get(r)
                    if tree is None or i not in tree:
                        dangling_rollbacks += 1
            return StoreStats(
                {
                    "endpoints": len(self._names),
                    "plans": len(trees),
                    "trees": self._tree_count,
                    "target_sets": len(self._interned),
                    "records_live": self._records_live,
                    "flips_applied": self._flips_applied,
                    "stale_flips": self._stale_flips,
                    "outdated_rejections": self._outdated_rejections,
                    "fenced_rejections": self._fenced_rejections,
                    "missing_rejections": self._missing_rejections,
                    "dangling_rejections": self._dangling_rejections,
                    "empty_answers": self._empty_answers,
                    "dangling_aliases": dangling_aliases,
                    "dangling_rollbacks": dangling_rollbacks,
                    "lease_conflicts": self._lease_conflicts,
                    "leases_granted": self._leases_granted,
                }
            )

    def memory(self) -> dict[str, int]:
        """Estimated heap bytes by part (``sys.getsizeof`` approximations)."""
        size = sys.getsizeof
        with self._lock:
            per_endpoint = (
                self._alias,
                self._rollback,
                self._version,
                self._holder,
                self._token,
                self._expiry,
                self._fence,
            )
            endpoints = sum(size(column) for column in per_endpoint)
            # Small ints and None are shared singletons; count the objects that are not.
            endpoints += sum(size(v) for v in self._version if v > 256)
            endpoints += sum(size(v) for v in self._expiry if v)
            endpoints += sum(size(v) for v in self._fence if v > 256)
            names = size(self._names) + size(self._ids) + sum(size(n) for n in self._names)
            plans = size(self._trees) + sum(size(tree) for tree in self._trees.values())
            target_sets = size(self._interned) + size(self._refs) + size(self._objects)
            for answer in self._interned:
                target_sets += size(answer)
                for target in answer:
                    target_sets += size(target) + size(target[0])
        return {
            "endpoints": endpoints,
            "names": names,
            "plans": plans,
            "target_sets": target_sets,
            "total": endpoints + names + plans + target_sets,
        }

    # ---------------------------------------------------------------- histories

    @property
    def history_capacity(self) -> int:
        """Always 0: the reference store records no history."""
        return 0

    def _no_history(self) -> NoReturn:
        raise InvalidArgument("the reference store records no history (use dnsrace.RecordStore)")

    def set_history_context(self, client: int | None = None, time_ns: int | None = None) -> None:
        """Raises ``InvalidArgument``: the reference store records no history."""
        self._no_history()

    def history_bytes(self, format: str = "jsonl") -> bytes:
        """Raises ``InvalidArgument``: the reference store records no history."""
        self._no_history()

    def export_history(self, path: str | os.PathLike[str], format: str = "jsonl") -> int:
        """Raises ``InvalidArgument``: the reference store records no history."""
        self._no_history()

    def set_history_endpoints(self, endpoints: Endpoints | None = None) -> None:
        """Raises ``InvalidArgument``: the reference store records no history."""
        self._no_history()

    def check_history(
        self,
        *,
        timeout: float | None = None,
        linearizations: bool = False,
        max_states: int | None = None,
        as_dict: bool | None = None,
    ) -> str:
        """Raises ``InvalidArgument``: the reference store records no history."""
        self._no_history()

    def history_dropped(self) -> int:
        """Always 0: the reference store records no history."""
        return 0

    # ---------------------------------------------------------------- snapshots

    def snapshot(self, path: str | os.PathLike[str]) -> None:
        """Save the whole store to ``path`` atomically (the Rust core's format version 1)."""
        target = _snapshot_path(path)
        try:
            check_output_path(target)
            _refuse_special_output(target)
        except OutputPathError as exc:
            raise SnapshotError(f"cannot write snapshot {os.fspath(target)!r}: {exc}") from None
        blob = self.snapshot_bytes()
        try:
            write_atomic(target, blob)
        except OSError as exc:
            raise SnapshotError(f"cannot write snapshot {os.fspath(target)!r}: {exc}") from None

    def snapshot_bytes(self) -> bytes:
        """The whole store in the snapshot format, as bytes."""
        with self._lock:
            data = _snapshot.StoreData(names=list(self._names))
            holder_index: dict[str, int] = {}
            for h in self._holder:
                if h is not None and h not in holder_index:
                    holder_index[h] = len(holder_index) + 1
            data.holders = list(holder_index)
            set_index: dict[int, int] = {}
            for generation in sorted(self._trees):
                tree = self._trees[generation]
                trees: list[int | None] = [None] * (max(tree) + 1)
                for i, answer in tree.items():
                    key = id(answer)
                    if key not in set_index:
                        set_index[key] = len(data.sets)
                        data.sets.append(answer)
                    trees[i] = set_index[key]
                data.plans[generation] = trees
            for i in range(len(self._names)):
                holder = self._holder[i]
                data.slots.append(
                    _snapshot.SlotData(
                        alias=self._alias[i] or 0,
                        rollback=self._rollback[i] or 0,
                        version=self._version[i],
                        lease_token=self._token[i],
                        highest_fence=self._fence[i],
                        holder=0 if holder is None else holder_index[holder],
                        lease_expiry=self._expiry[i],
                    )
                )
            data.counters = {name: getattr(self, f"_{name}") for name in _snapshot.COUNTER_NAMES}
        return _snapshot.encode(data)

    @classmethod
    def restore(cls, path: str | os.PathLike[str], *, history: int = 0) -> Self:
        """A new store from a snapshot file (of this class or of the Rust core)."""
        cls(history=history)  # refuses a history as the constructor does, before reading
        target = _snapshot_path(path)
        try:
            blob = _read_regular_file(target)
        except OSError as exc:
            raise SnapshotError(f"cannot read snapshot {os.fspath(target)!r}: {exc}") from None
        return cls.restore_bytes(blob)

    @classmethod
    def restore_bytes(cls, data: bytes) -> Self:
        """A new store from snapshot bytes (``snapshot_bytes``, of either store)."""
        if not isinstance(data, bytes):
            raise InvalidArgument(f"invalid data {data!r}: must be bytes")
        snap = _snapshot.decode(data, canonical_name, _canonical_set)
        store = cls()
        store._names = snap.names
        store._ids = {name: i for i, name in enumerate(snap.names)}
        objects = [store._interned.setdefault(s, s) for s in snap.sets]
        for generation, trees in snap.plans.items():
            tree = {i: objects[t] for i, t in enumerate(trees) if t is not None}
            store._trees[generation] = tree
            store._tree_count += len(tree)
            store._records_live += sum(map(len, tree.values()))
            for answer in tree.values():
                store._refs[id(answer)] = store._refs.get(id(answer), 0) + 1
                store._objects[id(answer)] = answer
        for s in snap.slots:
            store._alias.append(s.alias or None)
            store._rollback.append(s.rollback or None)
            store._version.append(s.version)
            store._holder.append(snap.holders[s.holder - 1] if s.holder else None)
            store._token.append(s.lease_token)
            store._expiry.append(s.lease_expiry)
            store._fence.append(s.highest_fence)
        for name, value in snap.counters.items():
            setattr(store, f"_{name}", value)
        return store


def _refuse_special_output(path: str) -> None:
    """Refuse an output that exists and is not a regular file: the rename would replace a
    device, FIFO or socket by a regular file, and a symlink rather than its target."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise OutputPathError("is a symbolic link")
    if not stat.S_ISREG(mode):
        raise OutputPathError("exists and is not a regular file")


def _read_regular_file(path: str) -> bytes:
    """The bytes of a regular file; anything else is refused without reading and without
    blocking (opened with ``O_NONBLOCK``, so a FIFO does not wait for a writer; checked with
    ``fstat`` on that descriptor)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file (a FIFO, device, directory or socket)")
        return file.read()


def _snapshot_path(path: object) -> str:
    if isinstance(path, str) or hasattr(path, "__fspath__"):
        try:
            text = os.fspath(path)
        except TypeError:
            text = None
        if isinstance(text, str):
            return text
    raise InvalidArgument(f"invalid path {path!r}: must be a str or os.PathLike")
