"""The store API for type checkers: :class:`Store`, every call that every store answers.

One declaration, with its documentation, of the calls that the Rust store
(:class:`dnsrace.RecordStore`), the pure-Python reference
(:class:`dnsrace.reference.PyRecordStore`) and the etcd store
(:class:`dnsrace.backends.etcd.EtcdStore`) share. The native module's stub (``_core.pyi``)
declares ``RecordStore`` as a ``Store`` and adds only the calls of its own (histories,
snapshots, pickling, ``memory()``), so the precise overloads (``output``, ``outcomes``) are
written once; stubtest checks them against the binding, and ``rust/py/sync_docs.py`` copies
these docstrings into the binding's ``help()``. The module ``_api.py`` is what runs: a
Protocol has no behaviour of its own, so it holds only the name.
"""

from array import array
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol, overload

from typing_extensions import TypeVar

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
)

__all__ = ["Store"]

_PlanT = TypeVar("_PlanT", contravariant=True, default=Any)
"""The plan class a store takes (plans are not interchangeable: ``Backend.plan_cls``)."""

class Store(Protocol[_PlanT]):
    """The store API: every call that the Rust store (:class:`dnsrace.RecordStore`), the
    reference (:class:`dnsrace.reference.PyRecordStore`) and the etcd store
    (:class:`dnsrace.backends.etcd.EtcdStore`) all answer, with the same arguments, results,
    errors and outcome rules (conventions: the module docstring of ``dnsrace._core``,
    docs/reference/api.md).

    Calls only some stores have are not part of it: snapshots, pickling, histories and
    ``memory()`` (embedded stores), ``close()``/``db_size()`` (etcd). ``mypy --strict`` checks
    that the three stores satisfy it (``dnsrace/backends/_conformance.py``), and
    ``tests/store/test_conformance_*.py`` check that they behave alike. ``Store`` alone takes
    any plan; ``Store[Plan]`` the plans of one class.
    """

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

    def put_plan(self, plan: _PlanT) -> None:
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

        Cost: O(n) for n endpoints, interpreter released from 1,024; atomic per endpoint.
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
        interpreter released from 1,024 endpoints."""

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
        O(n), interpreter released from 1,024 endpoints."""

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
        ``OutOfMemory``; then nothing was renewed. O(n), interpreter released from 1,024
        endpoints."""

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
        O(n), interpreter released from 1,024 endpoints."""

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
