"""The reference store's state: one lock, per-endpoint parallel lists indexed by id, a dict from
name to id, a dict from generation to ``{id: target set}`` and canonical target sets interned
once with a reference count; and how endpoint arguments resolve to ids."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Sequence
from typing import TypeVar

from dnsrace import _rules as rules
from dnsrace._types import Answer, Endpoints
from dnsrace.errors import InvalidArgument

__all__ = ["StoreState"]

_T = TypeVar("_T")


class StoreState:
    """The columns and counters every part of ``PyRecordStore`` works on (under ``_lock``)."""

    def __init__(self, *, history: int = 0) -> None:
        """An empty store. ``history`` must be 0 (``InvalidArgument`` otherwise): histories
        are recorded by the Rust core only."""
        if rules.as_int(history) != 0:
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

    # ---------------------------------------------------------------- endpoint arguments

    def _ep(self, endpoint: object) -> int:
        """Resolve an endpoint argument to its id (caller holds the lock)."""
        return rules.endpoint_id(endpoint, self._ids, len(self._names))

    def _eps(self, endpoints: object) -> Sequence[int]:
        """Resolve an endpoint list argument (``None``: all ids) (caller holds the lock)."""
        if endpoints is None:
            return range(len(self._names))
        items = rules.int_sequence(endpoints, InvalidArgument, "endpoints")
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

    def _column(self, column: list[_T], endpoints: Endpoints | None) -> list[_T]:
        """One per-endpoint field for many endpoints (``None``: all, in id order)."""
        with self._lock:
            if endpoints is None:
                return list(column)
            return [column[i] for i in self._eps(endpoints)]
