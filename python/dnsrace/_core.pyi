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
* Batch calls release the interpreter (``Python.detach``) while the Rust core works, so other
  Python threads run meanwhile. Every single-endpoint operation is atomic; a batch is atomic per
  endpoint (another thread may observe a batch half-way, never an endpoint half-way).
* Buffers in (``Ints``): every sequence of endpoint ids, expected versions, fences, tokens, set
  indices or generations may be a list or tuple, a ``range``, or any one-dimensional buffer of
  native signed or unsigned 8- to 64-bit integers (``array.array``, ``memoryview``, ``bytes``,
  numpy arrays). Buffers are read with the interpreter detached and without Python objects:
  the items are **copied** first (a snapshot; a thread writing the buffer meanwhile cannot crash
  the process, and only the validated copy is used), then checked. A buffer of another item type
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
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Self, final, overload

from dnsrace._types import (
    Answer,
    ArrayResult,
    DeleteResult,
    Endpoint,
    Endpoints,
    EndpointState,
    FlipCounts,
    FlipResult,
    Ints,
    Mode,
    NumpyResult,
    Output,
    StoreStats,
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
        interpreter detached (1M endpoints in a few milliseconds).
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
class RecordStore:
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

    def __len__(self) -> int:
        """Number of registered endpoints."""

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        """Register DNS names; return their ids (dense, from 0, in registration order).

        Idempotent: an already registered name returns its existing id. Names are validated
        first (``InvalidName``); on error nothing is registered.
        """

    def endpoint_id(self, name: str) -> int:
        """The id of a registered name (``UnknownEndpoint`` otherwise)."""

    def endpoint_name(self, endpoint: Endpoint) -> str:
        """The canonical (lower-case, no trailing dot) name of an endpoint."""

    def endpoint_names(self, endpoints: Endpoints | None = None) -> list[str]:
        """The canonical names of many endpoints (``None``: all, in id order). Raises
        ``UnknownEndpoint``, ``InvalidArgument``, ``TooLarge``. O(n)."""

    def __contains__(self, endpoint: object, /) -> bool:
        """Whether ``endpoint`` (a name or an id) is registered; anything else is not (no
        error)."""

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

    def put_plan(self, plan: Plan) -> None:
        """Store a plan's trees. Every endpoint must be registered (``UnknownEndpoint``).

        ``InvalidArgument`` if the generation still has a stored tree (plans are immutable); a
        generation whose trees were all deleted may be put again (an operator's repair).
        """

    def plan_generations(self) -> list[int]:
        """Generations that still have at least one stored tree, ascending."""

    def has_tree(self, endpoint: Endpoint, generation: int) -> bool:
        """Whether the tree of ``generation`` for ``endpoint`` is stored."""

    def delete_plans(self, generations: Iterable[int] | Ints, *, safe: bool = True) -> DeleteResult:
        """Delete the trees of these generations (the enactors' clean-up).

        ``safe=True`` keeps every tree that some endpoint's alias or rollback refers to and reports
        it; ``safe=False`` deletes them anyway, as the 2025 clean-up did, leaving dangling
        aliases that resolve to an empty answer. Unknown generations are reported, not raised.
        """

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
        """Point the endpoint's alias at ``generation``'s tree; the old alias becomes the rollback.

        Modes: ``"lww"`` always applies; ``"if_newer"`` (generation CAS) applies iff
        ``generation`` > current alias (or there is none); ``"exact"`` applies iff the endpoint's
        version equals ``expected_version`` (required for, and only allowed with, this mode).
        ``fence``: refused if lower than the highest fencing token seen for the endpoint; an
        accepted fence raises that highest token. Returns True if applied, False if refused by
        the fence or the mode's condition. Raises ``UnknownPlan`` if the tree does not exist.
        An applied flip that lowers the alias (a *stale flip*) is counted in
        ``stats()["stale_flips"]``; a flip refused by the mode's condition is *outdated*
        (``stats()["outdated_rejections"]``, ``FlipCounts.outdated``, ``Outcome.OUTDATED``).
        Checks run in the order: tree missing, fence, mode condition, dangling active tree.
        The flip records the rollback from the active tree; if the alias points at a tree that
        was deleted, it raises ``DanglingAlias`` and changes nothing (the 2025 stuck endpoint).
        ``rollback=False`` flips without recording a rollback (the rollback is cleared), so it
        works on a dangling alias: the repair.
        """

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
    ) -> FlipCounts:
        """``flip`` for many endpoints in one call (``None``: every endpoint, in id order).

        Args:
            endpoints: names and/or ids (``Endpoints``: list, tuple, range or int buffer), or
                ``None`` for every endpoint. Repeated endpoints are flipped in list order.
            generation: the plan generation to point the aliases at (1..2**63-1).
            mode: ``"lww"``, ``"if_newer"`` (generation CAS) or ``"exact"`` (version CAS).
            expected_versions: mode ``"exact"`` only (required there): one version per
                endpoint, aligned with ``endpoints`` (with ``None``, with the ids).
            fence: one fencing token for all, or one per endpoint; a flip whose token is
                lower than the endpoint's highest is refused (``fenced``), and so is an
                entry of ``None`` or 0 (a lease ``acquire_leases`` refused).
            rollback: record the old alias as the rollback (``False``: the repair flip).
            outcomes: ``False`` for counts only; ``True``/``"array"``/``"numpy"`` for a
                ``FlipResult`` with per-position outcome codes (``dnsrace.Outcome``, uint8)
                and the alias before the attempt (uint64, 0 = none), written in place.

        Returns:
            ``FlipCounts`` (applied and why the others were not), or a ``FlipResult``.

        Raises:
            InvalidGeneration: bad ``generation``.
            InvalidArgument: bad mode, flag, ``outcomes``, a non-int endpoint, misaligned
                lengths, ``expected_versions`` with a mode other than ``"exact"``.
            InvalidToken: a bad version or fence. UnknownEndpoint: an unknown name or id.
            TooLarge: a sequence of more than ``MAX_BATCH`` items. OutOfMemory.
            Every element is checked before anything changes: after an error the store is
            unchanged. Missing trees and dangling aliases are counted, not raised.

        Cost: O(n) for n endpoints, interpreter released; atomic per endpoint.
        """

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
    def resolve(self, endpoint: Endpoint) -> Answer:
        """The records the alias points at; ``()`` (counted as an empty answer) if the alias is
        unset, its tree was deleted, or the tree is an empty set."""

    def resolve_many(self, endpoints: Endpoints | None = None) -> list[Answer]:
        """``resolve`` for many endpoints (``None``: all, in id order). Endpoints sharing a target
        set share one tuple object."""

    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]:
        """Alias generation of each endpoint (``None`` where unset; in arrays, 0: uint64);
        nothing is counted.

        ``endpoints``: names and/or ids, ``None`` for all in id order. ``output``: ``"list"``,
        ``"array"`` (``array.array("Q")``) or ``"numpy"`` (uint64). Raises
        ``UnknownEndpoint``, ``InvalidArgument``, ``TooLarge``, ``OutOfMemory``. O(n),
        interpreter released."""

    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]:
        """Rollback generation of each endpoint (``None`` where unset; in arrays, 0: uint64);
        nothing is counted."""

    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def rollbacks(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]:
        """Version of each endpoint (what ``mode="exact"`` compares; uint64 in arrays);
        nothing is counted."""

    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def versions(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]:
        """Ids (in input order; uint32 in arrays) of the endpoints whose alias is set but whose
        tree was deleted; nothing is counted. The enactor uses it to spot endpoints it can no
        longer update."""

    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def dangling_aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def state(self, endpoint: Endpoint) -> EndpointState:
        """A consistent snapshot of one endpoint's control record."""

    def acquire_lease(self, endpoint: Endpoint, holder: str, ttl: float, now: float) -> int:
        """Take the endpoint's lease until ``now + ttl``; return a new fencing token.

        The token is greater than every token issued or accepted for this endpoint before.
        Raises ``LeaseHeld`` (and counts a lease conflict) if another holder's lease is live
        (``now < expiry``). Re-acquiring one's own live lease issues a new token. ``holder`` is
        a non-empty string of at most 128 characters (``InvalidArgument``).
        """

    @overload
    def acquire_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        ttl: float,
        now: float,
        *,
        output: Literal["list"] = "list",
    ) -> list[int | None]:
        """``acquire_lease`` for many endpoints: per position the token, or the *refused*
        sentinel where another holder's live lease refused it (counted as a conflict, not
        raised) or the endpoint's tokens are exhausted.

        ``output``: ``"list"`` (``None`` is refused), ``"array"`` (``array.array("Q")``) or
        ``"numpy"`` (uint64), where 0 is refused (tokens start at 1). Give the result as it
        is to ``renew_leases``, ``release_leases`` or as ``flip_many``'s ``fence``: a refused
        entry is not renewed, not released, and its flip is refused as fenced.

        Raises ``InvalidArgument`` (holder, ttl, now, output, a non-int endpoint),
        ``UnknownEndpoint``, ``TooLarge``, ``OutOfMemory``; then nothing was granted.
        O(n), interpreter released."""

    @overload
    def acquire_leases(
        self, endpoints: Endpoints, holder: str, ttl: float, now: float, *, output: Output
    ) -> Any: ...
    @overload
    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Ints | Sequence[int | None],
        ttl: float,
        now: float,
        *,
        output: Literal["list"] = "list",
    ) -> list[int | None]:
        """``renew_lease`` for many endpoints: extend each live lease held by ``holder`` with
        its token to ``now + ttl``.

        Returns per position the token where renewed and the refused sentinel (``None``; 0 in
        arrays) where not: a lost lease (another holder, another token, expired) or a refused
        entry given back. Nothing is raised for a lost lease, so the result feeds the next
        ``renew_leases``, ``release_leases`` or fenced ``flip_many`` directly. ``tokens``
        align with ``endpoints`` (``InvalidArgument`` otherwise); ``output`` as for
        ``acquire_leases``.

        Raises ``InvalidArgument``, ``InvalidToken``, ``UnknownEndpoint``, ``TooLarge``,
        ``OutOfMemory``; then nothing was renewed. O(n), interpreter released."""

    @overload
    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Ints | Sequence[int | None],
        ttl: float,
        now: float,
        *,
        output: Output,
    ) -> Any: ...
    def renew_lease(
        self, endpoint: Endpoint, holder: str, token: int, ttl: float, now: float
    ) -> float:
        """Extend a live lease to ``now + ttl`` and return the new expiry. Raises ``LeaseLost``
        unless ``holder`` and ``token`` match the current lease and it has not expired."""

    def release_lease(self, endpoint: Endpoint, holder: str, token: int) -> None:
        """Give the lease up. Raises ``LeaseLost`` unless ``holder`` and ``token`` match the
        current lease (an expired but untaken lease may still be released)."""

    def release_leases(
        self, endpoints: Endpoints, holder: str, tokens: Ints | Sequence[int | None]
    ) -> int:
        """``release_lease`` for many endpoints; returns how many were released. Leases no longer
        held (token or holder mismatch) and refused entries (``None`` or 0, as
        ``acquire_leases`` returns them) are skipped, not raised.

        ``tokens`` align with ``endpoints`` (``InvalidArgument`` otherwise). Raises
        ``InvalidToken``, ``UnknownEndpoint``, ``TooLarge``; then nothing was released.
        O(n), interpreter released."""

    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]:
        """Ids (in input order, ``None``: every endpoint ascending; uint32 in arrays) whose lease
        is live at ``now``: granted, not released, and ``now < expiry``. Nothing is counted.
        A lease manager's batch view of which hosts still hold a lease."""

    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Output
    ) -> Any: ...
    def stats(self) -> StoreStats:
        """Counters and gauges (docs/guide/store.md, "Store counters"). Gauges (dangling_*) are
        computed from a consistent snapshot. ``stale_flips``: applied flips that lowered an alias;
        ``outdated_rejections``: flips refused by the mode's condition (its old key
        ``stale_rejections`` still reads, with a ``DeprecationWarning``, for one release)."""

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
