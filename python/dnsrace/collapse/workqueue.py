"""A manager's work queue as parallel numpy arrays (no Python object per item).

Items carry the droplet id, the time they were queued (their deadline runs from there), whether
they re-establish an expired lease (``establish``, the dearer kind) and how many attempts came
before. Items enter at the back; they leave from the front (oldest first) or from the back
(newest first), or are filtered out (expired work).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Items", "WorkQueue"]

Array = np.ndarray[Any, Any]


@dataclass
class Items:
    """A batch of work items (parallel arrays of one length)."""

    ids: Array
    queued_at: Array
    establish: Array
    attempts: Array

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: Array | slice) -> Items:
        return Items(
            self.ids[index], self.queued_at[index], self.establish[index], self.attempts[index]
        )

    @staticmethod
    def empty() -> Items:
        return Items(
            np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, bool), np.empty(0, np.int32)
        )

    @staticmethod
    def concat(parts: list[Items]) -> Items:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Items.empty()
        if len(parts) == 1:
            return parts[0]
        return Items(
            np.concatenate([p.ids for p in parts]),
            np.concatenate([p.queued_at for p in parts]),
            np.concatenate([p.establish for p in parts]),
            np.concatenate([p.attempts for p in parts]),
        )


class WorkQueue:
    """A deque of items in arrays ``[head, tail)``; grows by doubling, compacts when the dead
    prefix is larger than the live part."""

    def __init__(self, capacity: int = 64) -> None:
        self._ids = np.empty(capacity, np.int64)
        self._queued_at = np.empty(capacity, np.float64)
        self._establish = np.empty(capacity, bool)
        self._attempts = np.empty(capacity, np.int32)
        self._head = 0
        self._tail = 0

    def __len__(self) -> int:
        return self._tail - self._head

    def _arrays(self) -> tuple[Array, Array, Array, Array]:
        return self._ids, self._queued_at, self._establish, self._attempts

    def _live(self) -> Items:
        h, t = self._head, self._tail
        return Items(
            self._ids[h:t], self._queued_at[h:t], self._establish[h:t], self._attempts[h:t]
        )

    def _reserve(self, extra: int) -> None:
        n = len(self)
        if self._tail + extra <= len(self._ids):
            return
        size = len(self._ids)
        while n + extra > size:
            size *= 2
        live = self._live()
        if size == len(self._ids):
            arrays = self._arrays()
        else:
            arrays = (
                np.empty(size, np.int64),
                np.empty(size, np.float64),
                np.empty(size, bool),
                np.empty(size, np.int32),
            )
        # numpy copies through a temporary when source and destination overlap (compaction).
        sources = (live.ids, live.queued_at, live.establish, live.attempts)
        for dst, src in zip(arrays, sources, strict=True):
            dst[:n] = src
        self._ids, self._queued_at, self._establish, self._attempts = arrays
        self._head, self._tail = 0, n

    def push(self, items: Items) -> None:
        k = len(items)
        if not k:
            return
        self._reserve(k)
        t = self._tail
        self._ids[t : t + k] = items.ids
        self._queued_at[t : t + k] = items.queued_at
        self._establish[t : t + k] = items.establish
        self._attempts[t : t + k] = items.attempts
        self._tail = t + k

    def peek(self, n: int, newest_first: bool) -> Items:
        """The next ``n`` items in service order (copies)."""
        n = min(n, len(self))
        if newest_first:
            sl = slice(self._tail - 1, self._tail - 1 - n if self._tail - 1 - n >= 0 else None, -1)
        else:
            sl = slice(self._head, self._head + n)
        return Items(
            self._ids[sl].copy(),
            self._queued_at[sl].copy(),
            self._establish[sl].copy(),
            self._attempts[sl].copy(),
        )

    def pop(self, n: int, newest_first: bool) -> None:
        """Remove the next ``n`` items in service order (after a ``peek``)."""
        if newest_first:
            self._tail -= n
        else:
            self._head += n

    def remove_where(self, queued_before: float) -> Items:
        """Take out (in queue order) every item queued before the given time; keep the rest in
        order."""
        live = self._live()
        old = live.queued_at < queued_before
        if not old.any():
            return Items.empty()
        out = live.take(old)
        keep = live.take(~old)
        self._head = self._tail = 0
        self.push(keep)
        return out

    def clear(self) -> Items:
        out = self._live().take(slice(None))
        out = Items(out.ids.copy(), out.queued_at.copy(), out.establish.copy(), out.attempts.copy())
        self._head = self._tail = 0
        return out
