"""Plain result types shared by the Rust store and the pure-Python reference."""

from __future__ import annotations

import warnings
from array import array
from collections.abc import Sequence
from enum import EnumMeta, IntEnum
from typing import Any, Generic, Literal, NamedTuple, TypeAlias, TypeVar

Endpoint: TypeAlias = int | str
"""A registered DNS name or its integer id."""
Target: TypeAlias = tuple[str, int]
"""One record: (IPv4 or IPv6 address, weight 0..255)."""
Answer: TypeAlias = tuple[Target, ...]
"""What resolving an endpoint returns: its records sorted by (IPv4 before IPv6, address)."""
Mode: TypeAlias = Literal["lww", "if_newer", "exact"]
"""Flip modes."""
Output: TypeAlias = Literal["list", "array", "numpy"]
"""Container of a batch read: a list, an ``array.array`` or a numpy array."""
Ints: TypeAlias = "Sequence[int] | range | memoryview | bytes | bytearray | array[int] | Any"
"""Many ints: a list, tuple or range, or a one-dimensional buffer of native integers
(``array.array``, ``memoryview``, numpy arrays: ``Any`` stands for those, so that accepting
them needs no numpy import)."""
Endpoints: TypeAlias = "Sequence[Endpoint] | Ints"
"""Many endpoints: names and ids, or ids as ``Ints``."""

STORE_COUNTERS: tuple[str, ...] = (
    "flips_applied",
    "stale_flips",
    "outdated_rejections",
    "fenced_rejections",
    "missing_rejections",
    "dangling_rejections",
    "empty_answers",
    "lease_conflicts",
    "leases_granted",
)
"""The counters of ``stats()`` that every store keeps (the rest of ``stats()`` are gauges), in
the order a snapshot stores them.

Words: a *stale flip* (``stale_flips``) is an applied flip that lowered the alias (the 2025
failure); an *outdated* flip (``outdated_rejections``, ``FlipCounts.outdated``,
``Outcome.OUTDATED``) is one the store refused because its condition no longer held
(``if_newer``: generation not greater than the alias; ``exact``: version changed)."""

_RENAMED: dict[str, str] = {"stale_rejections": "outdated_rejections"}
"""Old names of ``stats()`` keys, kept for one release (DeprecationWarning)."""


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old!r} is deprecated (it read as the opposite of a stale flip): use {new!r}",
        DeprecationWarning,
        stacklevel=3,
    )


class StoreStats(dict[str, int]):
    """What ``stats()`` returns: a plain ``dict`` of counters and gauges, where the old key
    ``"stale_rejections"`` still reads ``"outdated_rejections"`` for one release, with a
    ``DeprecationWarning``."""

    def __missing__(self, key: str) -> int:
        new = _RENAMED.get(key)
        if new is None or new not in self:
            raise KeyError(key)
        _deprecated(key, new)
        return self[new]

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get``, with the deprecated key names of ``__missing__``."""
        if key not in self and key in _RENAMED:
            return self[key]
        return super().get(key, default)


NONE: int = 0
"""Sentinel of generation arrays (``aliases(output="array")``, ``FlipResult.previous``):
no alias. Generations start at 1."""

_A = TypeVar("_A")


class _OutcomeMeta(EnumMeta):
    # Only reached for names that are not members: the deprecated ones.
    def __getattr__(cls, name: str) -> Any:
        if name == "STALE":
            _deprecated("Outcome.STALE", "Outcome.OUTDATED")
            return cls.OUTDATED
        raise AttributeError(name)


class Outcome(IntEnum, metaclass=_OutcomeMeta):
    """Per-endpoint outcome codes of ``flip_many(..., outcomes=True)`` (uint8 items).

    The values follow the fields of ``FlipCounts``, so counting the codes gives the counts
    (``numpy.bincount(result.outcomes, minlength=5)``). ``OUTDATED`` (1) is a flip refused by
    its mode's condition; ``Outcome.STALE``, its old name, works for one release with a
    ``DeprecationWarning``.
    """

    APPLIED = 0
    OUTDATED = 1
    FENCED = 2
    MISSING = 3
    DANGLING = 4


class FlipCounts(NamedTuple):
    """Outcome of a batch flip: how many endpoints were flipped and why the others were not.

    ``outdated`` counts flips refused by the mode's condition (``if_newer``: generation not
    greater than the alias; ``exact``: version mismatch); ``fenced`` those refused because
    the fencing token was lower than the highest seen; ``missing`` those whose tree for the
    generation does not exist; ``dangling`` those that would have recorded the rollback from
    an active tree that was deleted (refused, nothing changed). Checks run in the order
    missing, fenced, outdated, dangling. (An applied flip that lowers the alias, a *stale
    flip*, is counted in ``stats()["stale_flips"]``.) ``stale``, the old name of
    ``outdated``, works for one release with a ``DeprecationWarning``.
    """

    applied: int
    outdated: int
    fenced: int
    missing: int
    dangling: int = 0

    @property
    def stale(self) -> int:
        """Deprecated name of ``outdated``."""
        _deprecated("FlipCounts.stale", "FlipCounts.outdated")
        return self.outdated


class FlipResult(NamedTuple, Generic[_A]):
    """``flip_many(..., outcomes=True | "array" | "numpy")``: the counts and, per position of
    the batch (with ``endpoints=None``: per id), the outcome code and the alias before the
    attempt, as ``array.array`` (``"B"`` and ``"Q"``) or numpy arrays (uint8 and uint64).

    ``previous`` uses the sentinel ``NONE`` (0) for "no alias". For a flip applied with
    ``rollback=True`` it is the new rollback; for a refused one, the alias still active. A
    repeated endpoint sees the effect of its earlier positions. So a simulator needs no read
    before or after the batch to classify it.
    """

    counts: FlipCounts
    outcomes: _A
    """Outcome code per position (see ``Outcome``)."""
    previous: _A
    """Alias generation before the attempt, per position (0 = none)."""


ArrayResult = FlipResult["array[int]"]
"""What ``outcomes=True`` or ``"array"`` returns."""
NumpyResult = FlipResult[Any]
"""What ``outcomes="numpy"`` returns (numpy arrays; numpy is imported only then)."""


class DeleteResult(NamedTuple):
    """Outcome of ``delete_plans``."""

    deleted_trees: int
    """Trees (one endpoint's records of one generation) removed."""
    kept_trees: int
    """Trees kept because an alias or rollback still refers to them (safe mode only)."""
    kept_generations: list[int]
    """Generations, ascending, of which at least one tree was kept."""
    unknown_generations: list[int]
    """Requested generations that had no stored tree (never stored or already deleted)."""


class EndpointState(NamedTuple):
    """Snapshot of one endpoint's control record."""

    id: int
    name: str
    alias: int | None
    """Generation of the active tree, or None before the first flip."""
    rollback: int | None
    """Generation the alias held before the last flip."""
    version: int
    """Bumped by every applied flip (the compare value of ``mode="exact"``)."""
    lease_holder: str | None
    """Holder of the last granted lease, None if never granted or released."""
    lease_token: int
    """Fencing token of that lease (0 if none)."""
    lease_expiry: float
    """Expiry time of that lease (0.0 if none); a lease is live while now < expiry."""
    highest_fence: int
    """Highest fencing token issued or accepted for this endpoint."""
