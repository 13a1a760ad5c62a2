"""Whole-batch arithmetic on the store's typed arrays, without a Python object per endpoint.

A run at 100,000 endpoints moves tens of millions of endpoint values through the simulator
(aliases before a flip, lease tokens, aliases read under a lock). The store hands them out as
``array.array`` (``output="array"``, ``outcomes=True``: ids ``"I"``, generations and tokens
``"Q"``, 0 meaning none); these helpers read them with numpy when it is installed (the
``numpy`` extra) and with plain Python otherwise. Both ways give the same values, so a run's
results do not depend on it (tests/sim/test_sim_vectors.py runs both); small batches always
take the plain way, where numpy's fixed cost per call is larger than the loop.
"""

from __future__ import annotations

import importlib
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["MIN_VECTOR", "histogram", "positions_below", "zero_positions"]

MIN_VECTOR = 64
"""Batches at least this long go through numpy (when it is installed)."""

_DTYPES = {"I": "uint32", "L": "uint64", "Q": "uint64", "B": "uint8"}
_UNLOADED: Any = object()
numpy: Any = _UNLOADED
"""The numpy module once a batch needed it, or None without it (tests set None to check the
plain way). Imported on first use, not with the simulator: ``dnsrace check`` and the other
commands that run no simulation do not pay numpy's import (nor its BLAS buffers, which a
memory-limited process may not be able to allocate)."""


def _numpy() -> Any:
    global numpy
    if numpy is _UNLOADED:
        try:
            numpy = importlib.import_module("numpy")
        except ImportError:  # pragma: no cover - the numpy extra is not installed
            numpy = None
    return numpy


def _vector(values: Sequence[int | None]) -> Any:
    """``values`` as a numpy array without a copy, or None when the plain way applies."""
    if len(values) < MIN_VECTOR or not isinstance(values, array) or _numpy() is None:
        return None
    dtype = _DTYPES.get(values.typecode)
    if dtype is None or values.itemsize != numpy.dtype(dtype).itemsize:
        return None
    return numpy.frombuffer(values, dtype=dtype)


def histogram(values: Sequence[int | None]) -> dict[int, int]:
    """Value -> how many times it occurs (``None``, an unset alias in a list, counts as 0)."""
    if len(values) == 1:  # one endpoint (the model-sized scenarios): no Counter
        one = values[0]
        return {0 if one is None else one: 1}
    vec = _vector(values)
    if vec is None:
        counts: Counter[int] = Counter(values)  # type: ignore[arg-type]
        unset = counts.pop(None, 0)  # type: ignore[call-overload]
        if unset:
            counts[0] += unset
        return counts
    low, high = vec.min(), vec.max()
    if low == high:
        return {int(low): len(vec)}
    found, times = numpy.unique(vec, return_counts=True)
    return dict(zip(found.tolist(), times.tolist(), strict=True))


def positions_below(values: Sequence[int | None], limit: int) -> list[int] | None:
    """Positions whose value is ``None``/0 or below ``limit`` (``limit`` >= 1); ``None``
    when that is every position."""
    vec = _vector(values)
    if vec is None:
        keep = [k for k, v in enumerate(values) if v is None or v < limit]
        return None if len(keep) == len(values) else keep
    if int(vec.max()) < limit:
        return None
    below: list[int] = numpy.flatnonzero(vec < limit).tolist()
    return below


def zero_positions(values: Sequence[int | None]) -> list[int]:
    """Positions whose value is ``None`` or 0 (a refused lease in ``acquire_leases``' output)."""
    vec = _vector(values)
    if vec is None:
        return [k for k, v in enumerate(values) if not v]
    if int(vec.min()) != 0:
        return []
    zeros: list[int] = numpy.flatnonzero(vec == 0).tolist()
    return zeros
