"""Type stubs for the native module ``dnsrace._core`` (hand-written; keep in sync with rust/py).

Conventions shared by every method (and by ``dnsrace.reference.PyRecordStore``):

* An *endpoint* argument is a registered DNS name (``str``, case-insensitive, one trailing dot
  allowed) or the dense integer id returned by ``add_endpoints``. Unknown ones raise
  ``UnknownEndpoint``; anything else (bool, float, None, ...) raises ``InvalidArgument``.
* Integers never accept ``bool``. Generations are ``1 <= g <= 2**63 - 1`` (``InvalidGeneration``);
  fencing tokens and lease tokens ``1 <= t <= 2**63 - 1`` and expected versions
  ``0 <= v <= 2**63 - 1`` (``InvalidToken``); weights ``0 <= w <= 255`` (``InvalidWeight``).
* Times (``now``) are finite floats in seconds on the caller's clock (virtual or real); a ``ttl``
  is a finite float > 0. Ints are accepted where floats are expected.
* Batch calls validate every element before changing anything; an invalid element raises and the
  store is unchanged. Outcomes of valid elements (outdated, fenced, missing) are reported, not
  raised.
* Batch calls of 1,024 or more items (endpoints, names, values; for ``None``, stats and
  clean-up, the store's endpoints) release the interpreter (``Python.detach``) while the Rust
  core works, so other Python threads run meanwhile; smaller ones keep it, as single-endpoint
  calls do (releasing and taking it back costs more than their work). Every single-endpoint
  operation is atomic; a batch is atomic per endpoint (another thread may observe a batch
  half-way, never an endpoint half-way).
* Buffers in (``Ints``): every sequence of endpoint ids, expected versions, fences, tokens, set
  indices or generations may be a list or tuple, a ``range``, or any one-dimensional buffer of
  native signed or unsigned 8- to 64-bit integers (``array.array``, ``memoryview``, ``bytes``,
  numpy arrays). Buffers are read without Python objects (detached, as above),
  each item read once into memory the store owns (a whole copy, or chunk by chunk for uint64
  versions and fences and for ``first, first + 1, ...`` ids) and checked there: a thread
  writing the buffer meanwhile cannot crash the process, and no unchecked value is used (a
  fence that reads invalid after the batch's check, which only such a writer causes, is
  fenced). A buffer of another item type
  (floats, bools, chars, big-endian, several dimensions) raises the same class as a wrong item
  in a list: ``InvalidArgument`` for endpoints and set indices, ``InvalidToken`` for versions,
  fences and tokens, ``InvalidGeneration`` for generations; so does a value out of range
  (a negative or too large id: ``UnknownEndpoint``). The store is then unchanged.
* Arrays out (``output="array"`` or ``"numpy"``): ``array.array`` (type code ``"Q"``: uint64
  generations and versions, ``"I"``: uint32 ids, ``"B"``: uint8 outcome codes) or numpy arrays
  of the same dtypes; numpy is imported only when asked (``pip install 'dnsrace[numpy]'``).
  Sentinel: generation 0 means none (generations start at 1).
* Bounds (docs/reference/bounds.md): every sequence argument holds at most ``MAX_BATCH``
  (2**26) items, checked from its length before anything is allocated (``TooLarge``); an
  allocation that still fails raises ``OutOfMemory``. Sets and mappings are refused where the
  order matters (everything but ``delete_plans``' generations and a plan's target sets); an
  exception raised by the caller's own iterable or ``__index__`` propagates unchanged.
* Integers: anything with ``__index__`` (numpy integer scalars) is accepted wherever an int
  is; bools (numpy's too) never are.
"""

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Self, final, overload

from dnsrace._api import Store
from dnsrace._types import (
    Answer,
    Endpoint,
    Endpoints,
    Ints,
    Target,
)
from dnsrace.history._result import CheckResult

__all__ = [
    "CHECK_DEFAULT_MAX_STATES",
    "CHECK_DEFAULT_TIMEOUT_S",
    "CHECK_MAX_MAX_STATES",
    "CHECK_MAX_TIMEOUT_S",
    "Plan",
    "RecordStore",
    "check_history",
    "parse_history",
]

@final
class Plan:
    """One plan generation: for each endpoint, a weighted set of target addresses (its *tree*).

    Immutable. Target sets are canonicalised (sorted by address, duplicates rejected) and
    identical sets are stored once, here and in the store.
    """

    def __new__(cls, generation: int, targets: Mapping[Endpoint, Iterable[Target]]) -> Self:
        """Build a plan from ``{endpoint: [(ip, weight), ...]}``.

        Raises ``InvalidGeneration``, ``InvalidName`` (for str keys), ``InvalidAddress``,
        ``InvalidWeight``, or ``InvalidArgument`` (duplicate address in one set, duplicate
        endpoint, malformed target). Endpoint ids (int keys) are checked when the plan is put.
        An empty target set is allowed: it resolves to an empty answer.
        """

    @staticmethod
    def from_shared(
        generation: int,
        target_sets: Sequence[Iterable[Target]],
        endpoints: Endpoints,
        set_index: Ints,
    ) -> Plan:
        """Fast compact constructor: endpoint ``endpoints[i]`` gets ``target_sets[set_index[i]]``.

        Each distinct set is parsed once, so a planner that assigns a few load-balancer groups to
        many endpoints builds a 500k-endpoint plan without per-endpoint parsing. ``endpoints``
        and ``set_index`` must have the same length (``InvalidArgument``); an index out of range
        raises ``InvalidArgument``. Ids and indices as buffers or ranges are converted with the
        interpreter detached from 1,024 endpoints (1M endpoints in a few milliseconds).
        """

    @property
    def generation(self) -> int:
        """The plan's generation (1..2**63-1)."""

    @property
    def records(self) -> int:
        """Total leaves over all endpoints (a shared set counts once per endpoint using it)."""

    def __len__(self) -> int:
        """Number of endpoints this plan has a tree for."""

    def endpoints(self) -> list[Endpoint]:
        """The endpoints in construction order (names lower-cased, trailing dot dropped)."""

    def targets(self, endpoint: Endpoint) -> Answer:
        """The canonical target set of one endpoint; ``UnknownEndpoint`` if not in the plan."""

@final
class RecordStore(Store[Plan]):
    """Thread-safe in-memory store of load-balancer DNS records (the Rust core).

    Per endpoint it holds the alias (generation of the active tree), the rollback (the alias
    before the last flip), a version bumped by every applied flip, a lease (holder, expiry,
    fencing token) and the highest fencing token seen. Per plan generation it holds one tree
    (weighted target set) per endpoint.
    """

    def __new__(cls, *, history: int = 0) -> Self:
        """``history``: keep the last ``history`` completed operations (0: record nothing).

        Each call that completes (an error changes nothing and is not recorded) adds one
        operation per endpoint it touched, with the call's start and return times: flips,
        reads (``state``, ``aliases``, ``rollbacks``, ``versions``), lease acquire / renew /
        release, and each endpoint's tree put by ``put_plan`` or looked at by ``delete_plans``.
        Format and clock: docs/guide/store.md.
        """

    @property
    def history_capacity(self) -> int:
        """The ``history`` the store was made with (0: none)."""

    def set_history_context(self, client: int | None = None, time_ns: int | None = None) -> None:
        """Record the next operations of the calling thread, or asyncio task, as ``client``
        (a context variable: it holds in that task and in the threads it starts with
        ``asyncio.to_thread``; ``None``: automatic, one id per task or thread in order of first
        use, never one a told client uses) and, with ``time_ns``, stamp operations on this
        virtual clock from now on (each stamp at least 1 ns after the last one: ties are
        ordered). ``InvalidArgument`` if the store records no history or a value is out of
        range."""

    def history_bytes(self, format: Literal["jsonl", "jepsen"] = "jsonl") -> bytes:
        """The recorded history, ordered by call time, as ``jsonl`` or ``jepsen`` (EDN) text."""

    def export_history(
        self, path: str | os.PathLike[str], format: Literal["jsonl", "jepsen"] = "jsonl"
    ) -> int:
        """Write the history to ``path`` atomically; returns the number of operations.
        ``InvalidArgument`` (nothing written) without a history or for a path that cannot
        become a file."""

    def set_history_endpoints(self, endpoints: Endpoints | None = None) -> None:
        """Record only the operations on ``endpoints`` from now on (``None``: all). Each
        endpoint's history is complete on its own, so a sample is still a checkable history."""

    @overload
    def check_history(
        self,
        *,
        timeout: float | None = None,
        linearizations: bool = False,
        max_states: int | None = None,
        as_dict: Literal[True] | None = None,
    ) -> CheckResult: ...
    @overload
    def check_history(
        self,
        *,
        timeout: float | None = None,
        linearizations: bool = False,
        max_states: int | None = None,
        as_dict: Literal[False],
    ) -> str:
        """Check the recorded history in place (as ``dnsrace.history.check`` checks its file,
        without writing it), within the same bounds (``timeout`` seconds, ``max_states``
        states kept; ``None``: the defaults). Returns the result dict that
        ``dnsrace.history.check`` returns (``dnsrace.history.CheckResult``);
        ``as_dict=False``: its JSON text instead, for one more release, with a
        ``DeprecationWarning``."""

    def history_dropped(self) -> int:
        """Operations the ring dropped (older than the last ``history_capacity``): > 0 marks
        the history truncated (its export starts with ``{"truncated": {"dropped": N}}`` and
        checking it gives ``unknown``)."""

    def snapshot_bytes(self) -> bytes:
        """The whole store in the snapshot format (as ``snapshot`` writes it), as bytes."""

    @classmethod
    def restore_bytes(cls, data: bytes) -> Self:
        """A new store from snapshot bytes (``snapshot_bytes`` of either store).
        ``SnapshotError`` if they are not a valid snapshot; ``InvalidArgument`` for non-bytes.
        """

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        """Pickled as its snapshot bytes: a store can be sent to a process pool. The history
        (if any) is not part of it."""

    def __copy__(self) -> Self:
        """An independent copy through the snapshot format (no history)."""

    def __deepcopy__(self, memo: object) -> Self:
        """As ``__copy__``: the store shares nothing with its copy."""

    def memory(self) -> dict[str, int]:
        """Estimated heap bytes by part: ``endpoints``, ``names``, ``plans``, ``target_sets``,
        ``total`` (capacity-based; shared target sets counted once)."""

    def snapshot(self, path: str | os.PathLike[str]) -> None:
        """Save the whole store (endpoints, plans, aliases, leases, fences, counters) to ``path``.

        Binary format version 1 (magic ``DNSRSNAP``, crc32 per section; docs/guide/store.md),
        written atomically: a temporary file in the same directory, fsync, rename, fsync of the
        directory, so ``path`` holds the old snapshot or the new one, never a torn one. Lease
        expiries are saved as they are, on the caller's clock. The interpreter is released
        meanwhile; the store is read from one consistent view. ``SnapshotError`` (nothing
        written) if ``path`` is a directory or its directory is missing or not writable;
        ``InvalidArgument`` if ``path`` is not a str or ``os.PathLike``.
        """

    @classmethod
    def restore(cls, path: str | os.PathLike[str], *, history: int = 0) -> Self:
        """A new store from a file written by ``snapshot`` (by this class or the reference),
        recording its last ``history`` operations from then on (0: none; as ``RecordStore``).

        ``SnapshotError`` if the file is missing, unreadable, truncated, corrupted, of another
        format version or not a snapshot; no store is created.
        """

def parse_history(data: bytes | bytearray | memoryview) -> int:
    """Validate a ``jsonl`` history; return its number of operations. ``InvalidHistory`` (the
    message starts with ``line N:``) for a truncated file, bad JSON, a wrong field or type, an
    unknown ``op``, non-monotonic times or a return before its call."""

def check_history(
    data: bytes | bytearray | memoryview,
    *,
    timeout: float | None = None,
    max_states: int | None = None,
    linearizations: bool = False,
    memoize: bool = True,
    threads: int = 0,
) -> CheckResult:
    """Check a ``jsonl`` history (docs/guide/checker.md); return the result document.
    The interpreter is released meanwhile. ``timeout`` (seconds) and ``max_states`` (states
    kept in the search's memo) bound the work (``None``: the defaults below); past either the
    verdict is ``unknown``. ``memoize=False`` is for tests only."""

CHECK_DEFAULT_TIMEOUT_S: float
"""The checker's default time bound in seconds."""
CHECK_MAX_TIMEOUT_S: float
"""The largest time bound a caller may give (one day)."""
CHECK_DEFAULT_MAX_STATES: int
"""The checker's default memory bound: states kept in the search's memo."""
CHECK_MAX_MAX_STATES: int
"""The largest memory bound a caller may give."""
