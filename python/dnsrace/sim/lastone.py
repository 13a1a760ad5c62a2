"""A one-entry cache for what many runs of one scenario share (names, walk, faults, times).

An exploration runs one scenario many times; what depends on its settings alone is made once,
for the last settings seen. The entry is one tuple, replaced whole, so that a run in another
thread (another scenario) never reads one key's value under another's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class LastOne(Generic[V]):
    """The value made for the last key: a tuple of settings (frozen, compared by value; one
    scenario's are the same objects, found equal at once)."""

    __slots__ = ("_entry",)

    def __init__(self) -> None:
        self._entry: tuple[tuple[object, ...], V] | None = None

    def get(self, key: tuple[object, ...], make: Callable[[], V]) -> V:
        entry = self._entry
        if entry is None or entry[0] != key:  # same objects: settled by identity, in C
            entry = self._entry = (key, make())
        return entry[1]
