"""The reference store as bytes and files: snapshots (the Rust core's format), pickling and
copies through them, the memory estimate, and the history calls it refuses (only the Rust core
records histories)."""

from __future__ import annotations

import os
import stat
import sys
from typing import Any, NoReturn, Self

from dnsrace import _rules as rules
from dnsrace import _snapshot
from dnsrace._types import Endpoints
from dnsrace.atomicfile import OutputPathError, check_output_path, write_atomic
from dnsrace.errors import InvalidArgument, SnapshotError
from dnsrace.reference._state import StoreState

__all__ = ["Persistence"]


class Persistence(StoreState):
    """Snapshots, pickling, memory and histories of ``PyRecordStore``."""

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        """Pickled as its snapshot bytes (the format of ``snapshot``)."""
        return (type(self).restore_bytes, (self.snapshot_bytes(),))

    def __copy__(self) -> Self:
        """An independent copy, through the snapshot format."""
        return self.restore_bytes(self.snapshot_bytes())

    def __deepcopy__(self, memo: object) -> Self:
        """As ``__copy__``: the store shares nothing with its copy."""
        return self.__copy__()

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
        snap = _snapshot.decode(data, rules.canonical_name, rules.canonical_set)
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
