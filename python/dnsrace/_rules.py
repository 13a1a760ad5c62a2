"""The argument rules of the store API, in one place: every store (the pure-Python reference,
the etcd store) and the pure-Python ``Plan`` check their arguments here, with the messages and
error classes of the Rust core's binding (see ``dnsrace/_core.pyi`` and docs/reference/bounds.md).

Private: the names are the stores' shared vocabulary, not an API of the package.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import operator
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any, Final, Literal, SupportsIndex, cast

from dnsrace import errors
from dnsrace._types import Answer, Endpoint, Output, Target

MAX_BATCH: Final = 1 << 26
"""Most items of one sequence argument (the Rust core's ``MAX_BATCH``; docs/reference/bounds.md)."""
MAX_I63: Final = 2**63 - 1
"""Largest generation, fencing token, lease token and expected version."""
MAX_KEY: Final = 2**32
"""Integer plan keys must be below this (endpoint ids are 32-bit in the Rust core)."""
MAX_HOLDER: Final = 128
MAX_NAME: Final = 253
_V6_OFFSET: Final = 1 << 32
"""Sort keys: an IPv4 address sorts by its integer, an IPv6 one by this offset + its integer."""

LWW: Final = 0
IF_NEWER: Final = 1
EXACT: Final = 2
_MODES: Final[dict[str, int]] = {"lww": LWW, "if_newer": IF_NEWER, "exact": EXACT}

_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME_RE: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")

EMPTY: Final[Answer] = ()


def canonical_name(name: object) -> str:
    """Validate a DNS name and return its canonical form (lower-case, no trailing dot)."""
    if not isinstance(name, str):
        raise errors.InvalidName(f"invalid name {name!r}: must be a str")
    text = name[:-1] if name.endswith(".") else name
    if not text.isascii():
        raise errors.InvalidName(f"invalid name {name!r}: must be ASCII")
    text = text.lower()
    if len(text) > MAX_NAME or _NAME_RE.fullmatch(text) is None:
        raise errors.InvalidName(
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
        raise errors.InvalidAddress(f"invalid address {address!r}: must be a str")
    try:
        return _parse_address(str(address))
    except ValueError:
        raise errors.InvalidAddress(
            f"invalid address {address!r}: not an IPv4 or IPv6 address"
        ) from None


def as_int(value: object) -> int | None:
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


def is_scalar_int(value: object) -> bool:
    """Whether a scalar-or-sequence argument (``fence``) is one int: an int, or an object with
    ``__index__`` and no ``__len__`` (a numpy integer scalar, not an array)."""
    kind = type(value)
    return isinstance(value, int) or (
        getattr(kind, "__index__", None) is not None and not hasattr(kind, "__len__")
    )


def _weight(weight: object, address: str) -> int:
    if type(weight) is int and 0 <= weight <= 255:
        return weight
    value = as_int(weight)
    if value is not None and 0 <= value <= 255:
        return value
    raise errors.InvalidWeight(f"invalid weight {weight!r} for {address}: must be 0..255")


def _first(item: tuple[int, Target]) -> int:
    return item[0]


def canonical_set(targets: object) -> Answer:
    """Validate an iterable of (address, weight) pairs and return the canonical set."""
    if isinstance(targets, str) or not isinstance(targets, Iterable):
        raise errors.InvalidArgument(
            f"invalid target set {targets!r}: must be an iterable of (address, weight) pairs"
        )
    keyed: list[tuple[int, Target]] = []
    for target in sequence(targets, "target set", ordered=False):
        if not isinstance(target, (tuple, list)) or len(target) != 2:
            raise errors.InvalidArgument(
                f"invalid target {target!r}: must be an (address, weight) pair"
            )
        address, weight = target
        key, canon = _address(address)
        keyed.append((key, (canon, _weight(weight, address))))
    if not keyed:
        return EMPTY
    if len(keyed) > 1:
        keyed.sort(key=_first)
        previous = -1
        for key, (canon, _) in keyed:
            if key == previous:
                raise errors.InvalidArgument(f"duplicate address {canon} in one target set")
            previous = key
    return tuple([item for _, item in keyed])


def _int_up_to_max(raw: object, low: int, error: type[Exception], what: str) -> int:
    """An int argument in ``low``..2**63-1 (an int, or anything with ``__index__``)."""
    if type(raw) is int and low <= raw <= MAX_I63:  # the common case, without a call
        return raw
    value = as_int(raw)
    if value is not None and low <= value <= MAX_I63:
        return value
    raise error(f"invalid {what} {raw!r}: must be an int in {low}..2**63-1")


def generation(raw: object) -> int:
    """A plan generation: an int in 1..2**63-1."""
    return _int_up_to_max(raw, 1, errors.InvalidGeneration, "generation")


def token(raw: object, what: str = "token") -> int:
    """A fencing or lease token (or a fence): an int in 1..2**63-1."""
    return _int_up_to_max(raw, 1, errors.InvalidToken, what)


def batch_tokens(tokens: object) -> list[int]:
    """The tokens of a batch lease call, as ``batch_token`` (0: a refused entry)."""
    return [batch_token(t, "token") for t in int_sequence(tokens, errors.InvalidToken, "tokens")]


def version(raw: object) -> int:
    """An expected version (``mode="exact"``): an int in 0..2**63-1."""
    return _int_up_to_max(raw, 0, errors.InvalidToken, "expected version")


def flag(value: object, what: str) -> None:
    """A keyword flag must be a bool, nothing else."""
    if not isinstance(value, bool):
        raise errors.InvalidArgument(f"invalid {what} {value!r}: must be a bool")


def batch_token(raw: object, what: str) -> int:
    """A token or fence of a batch lease call: 0 or ``None`` marks an entry whose lease
    ``acquire_leases`` refused (fenced, not renewed, not released); else as ``token``."""
    if raw is None:
        return 0
    value = as_int(raw)
    if value == 0:
        return 0
    return token(raw, what)


def mode(mode: object) -> int:
    code = _MODES.get(mode) if isinstance(mode, str) else None
    if code is None:
        raise errors.InvalidArgument(f"invalid mode {mode!r}: must be 'lww', 'if_newer' or 'exact'")
    return code


def check_expected(code: int, expected: object, what: str) -> None:
    if code == EXACT:
        if expected is None:
            raise errors.InvalidArgument(f"mode 'exact' requires {what}")
    elif expected is not None:
        raise errors.InvalidArgument(f"{what} is only allowed with mode 'exact', got {expected!r}")


def is_text(text: str) -> bool:
    """Whether ``text`` is valid Unicode text (no lone surrogates), as a Rust ``String`` is."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def holder(holder: object) -> str:
    if not isinstance(holder, str) or not 1 <= len(holder) <= MAX_HOLDER or not is_text(holder):
        raise errors.InvalidArgument(
            f"invalid lease holder {holder!r}: must be a str of 1..128 characters"
        )
    return str(holder)


def number(value: object, what: str) -> float:
    integer = None if isinstance(value, float) else as_int(value)
    if integer is not None:
        value = integer
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            result = float(value)
        except OverflowError:
            pass
        else:
            if math.isfinite(result):
                return result
    raise errors.InvalidArgument(f"invalid {what} {value!r}: must be a finite number")


def ttl(ttl: object) -> float:
    result = number(ttl, "ttl")
    if result <= 0.0:
        raise errors.InvalidArgument(f"invalid ttl {ttl!r}: must be > 0")
    return result


def check_batch_len(length: int, what: str) -> None:
    if length > MAX_BATCH:
        raise errors.TooLarge(
            f"{what} has {length} items: at most {MAX_BATCH} are accepted in one call"
        )


def bounded_list(values: Iterable[object], what: str) -> list[object]:
    """The items of an iterable, at most ``MAX_BATCH`` (``errors.TooLarge`` past it, without reading
    further). An exception the iterable raises propagates unchanged."""
    # A sized iterable (a numpy array, a dict view) is refused from its length, before any
    # item is read: iterating 2**26 items first would cost gigabytes of item objects.
    try:
        length = len(values)  # type: ignore[arg-type]
    except TypeError:
        pass
    except OverflowError:
        raise errors.TooLarge(f"{what} has more items than fit a machine word") from None
    else:
        check_batch_len(length, what)
    items = list(itertools.islice(values, MAX_BATCH + 1))
    check_batch_len(len(items), what)
    return items


def sequence(values: object, what: str, *, ordered: bool = True) -> Sequence[object]:
    """A list of the items of a non-str iterable argument, at most ``MAX_BATCH``. ``ordered``:
    the items line up with something, so a set or mapping (arbitrary order) is refused."""
    if isinstance(values, str):
        raise errors.InvalidArgument(f"{what} must be a sequence, not str")
    if isinstance(values, (list, tuple)):
        check_batch_len(len(values), what)
        return values
    if not isinstance(values, Iterable):
        raise errors.InvalidArgument(f"{what} must be a sequence, not {type(values).__name__}")
    if ordered and isinstance(values, (AbstractSet, Mapping)):
        raise errors.InvalidArgument(
            f"invalid {what}: expected an ordered sequence (list, tuple, range, array), "
            f"got {type(values).__name__}"
        )
    if isinstance(values, range):
        try:
            check_batch_len(len(values), what)
        except OverflowError:
            raise errors.TooLarge(
                f"range {values!r} has more items than fit a machine word"
            ) from None
        return values
    return bounded_list(values, what)


INT_CODES: Final = frozenset("bBhHiIlLqQnN")
"""``struct`` codes of integer items a buffer argument may hold."""


def buffer_ints(values: object, error: type[Exception], what: str) -> list[int] | None:
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
            check_batch_len(view.shape[0] if view.shape else 0, what)
        fmt = view.format
        prefix = fmt[0] if fmt[:1] in ("@", "=", "<", ">", "!") else ""
        code = fmt[len(prefix) :]
        big = prefix in (">", "!") and sys.byteorder == "little"
        if view.ndim != 1 or code not in INT_CODES or big:
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


def int_sequence(
    values: object, error: type[Exception], what: str, *, ordered: bool = True
) -> Sequence[object]:
    """A sequence-of-ints argument: a buffer's items as ints, or ``_sequence``."""
    items = buffer_ints(values, error, what)
    return sequence(values, what, ordered=ordered) if items is None else items


OUTPUTS: Final = ("list", "array", "numpy")


def output(output: object) -> Output:
    # isinstance first: a numpy array compares element-wise (and a huge one allocates).
    if isinstance(output, str) and output in OUTPUTS:
        return cast(Output, output)
    raise errors.InvalidArgument(f"invalid output {output!r}: must be 'list', 'array' or 'numpy'")


def outcomes(outcomes: object) -> Output | None:
    """The container of ``flip_many``'s outcome arrays, or None for counts only."""
    if isinstance(outcomes, bool):
        return "array" if outcomes else None
    if isinstance(outcomes, str) and outcomes in ("array", "numpy"):
        return cast(Output, outcomes)
    raise errors.InvalidArgument(
        f"invalid outcomes {outcomes!r}: must be a bool, 'array' or 'numpy'"
    )


def flip_call(
    raw_generation: object,
    raw_mode: object,
    rollback: object,
    raw_outcomes: object,
    expected_versions: object,
) -> tuple[int, int, Output | None]:
    """``flip_many``'s scalar arguments, checked in the binding's order: the generation, the
    mode's code and the outcome container (None: counts only)."""
    gen = generation(raw_generation)
    flag(rollback, "rollback")
    output = outcomes(raw_outcomes)
    code = mode(raw_mode)
    check_expected(code, expected_versions, "expected_versions")
    return gen, code, output


def flip_values(
    code: int, count: int, expected_versions: object, fence: object
) -> tuple[list[int] | None, int | None, list[int] | None]:
    """``flip_many``'s per-endpoint values for a batch of ``count`` endpoints, each list checked
    and aligned with it: the expected versions (mode ``exact`` only), and the fence, as one
    token for every endpoint or one per endpoint (0: a refused lease, never held)."""
    expected: list[int] | None = None
    if code == EXACT:
        raw = int_sequence(expected_versions, errors.InvalidToken, "expected_versions")
        if len(raw) != count:
            raise errors.InvalidArgument(
                f"expected_versions has {len(raw)} items for {count} endpoints"
            )
        expected = [version(v) for v in raw]
    if fence is None:
        return expected, None, None
    if is_scalar_int(fence):
        return expected, token(fence, "fence"), None
    raw = int_sequence(fence, errors.InvalidToken, "fence")
    if len(raw) != count:
        raise errors.InvalidArgument(f"fence has {len(raw)} items for {count} endpoints")
    return expected, None, [batch_token(f, "fence") for f in raw]


def typed_array(values: list[int], typecode: str, dtype: str, output: Output) -> Any:
    """``values`` as an ``array.array`` or, only when asked, a numpy array."""
    if output == "numpy":
        import numpy

        return numpy.array(values, dtype=dtype)
    return array(typecode, values)


def endpoint_key(endpoint: object) -> Endpoint:
    """An endpoint argument as its canonical name (a str) or its id (an int, any value)."""
    if isinstance(endpoint, str):
        return canonical_name(endpoint)
    value = as_int(endpoint)
    if value is None:
        raise errors.InvalidArgument(
            f"invalid endpoint {endpoint!r}: must be a name (str) or an id (int)"
        )
    return value


def endpoint_id(
    endpoint: object, ids: Mapping[str, int], count: int, refresh: Callable[[], int] | None = None
) -> int:
    """The id of an endpoint argument among ``count`` registered endpoints, ``ids`` their ids by
    canonical name. ``refresh`` (a store that others write to): brings ``ids`` up to date and
    returns the new count, asked before an unknown name or id is refused."""
    if isinstance(endpoint, str):
        i = ids.get(endpoint)  # a registered name as given: no canonicalisation
        if i is not None:
            return i
    key = endpoint_key(endpoint)
    if isinstance(key, str):
        i = ids.get(key)
        if i is None and refresh is not None:
            refresh()
            i = ids.get(key)
        if i is None:
            raise errors.UnknownEndpoint(f"unknown endpoint {key}")
        return i
    if 0 <= key < count or (refresh is not None and 0 <= key < refresh()):
        return key
    raise errors.UnknownEndpoint(f"unknown endpoint id {key}")


def plan_key(key: object) -> Endpoint:
    """Canonical form of a plan key: a valid name, or an int that may be an endpoint id."""
    value = endpoint_key(key)
    if isinstance(value, int) and not 0 <= value < MAX_KEY:
        raise errors.UnknownEndpoint(f"unknown endpoint id {key}")
    return value
