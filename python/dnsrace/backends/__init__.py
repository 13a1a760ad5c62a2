"""The stores a simulation can drive, and the protocol they share.

:class:`Store` is the structural type of every call the simulator makes (the planner, the
enactors, the operator, the clients and the checker's observation reads). The embedded stores
implement it: the Rust core (``embedded`` or ``rust``, :class:`dnsrace.RecordStore`, the
default) and the pure-Python reference (``reference``, :class:`dnsrace.reference.PyRecordStore`).
The distributed store, :class:`dnsrace.backends.etcd.EtcdStore` (``etcd://HOST:PORT,...``),
implements the same protocol on an etcd v3 cluster.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, overload

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

__all__ = ["STORES", "Backend", "BackendError", "Store", "backend"]

StoreName = Literal["embedded", "rust", "reference"]
STORES: tuple[str, ...] = ("embedded", "rust", "reference", "etcd://HOST:PORT[,...][/NAMESPACE]")

Tokens: TypeAlias = "Ints | Sequence[int | None]"
"""Tokens of a batch lease call: as ``acquire_leases`` returns them (``None``/0: refused)."""


class Store(Protocol):
    """The store API: every call that the Rust store (:class:`dnsrace.RecordStore`), the
    reference (:class:`dnsrace.reference.PyRecordStore`) and the etcd store
    (:class:`dnsrace.backends.etcd.EtcdStore`) all answer, with the same arguments, results,
    errors and outcome rules (semantics: ``dnsrace/_core.pyi``, docs/reference/api.md).

    Calls only some stores have are not part of it: snapshots, pickling, histories and
    ``memory()`` (embedded stores), ``close()``/``db_size()`` (etcd). ``mypy --strict`` checks
    that the three stores satisfy it (``dnsrace/backends/_conformance.py``), and
    ``tests/store/test_conformance_*.py`` check that they behave alike.
    """

    # ---------------------------------------------------------------- endpoints
    def __len__(self) -> int: ...
    def __contains__(self, endpoint: object, /) -> bool: ...
    def add_endpoints(self, names: Iterable[str]) -> list[int]: ...
    def endpoint_id(self, name: str) -> int: ...
    def endpoint_name(self, endpoint: Endpoint) -> str: ...
    def endpoint_names(self, endpoints: Endpoints | None = None) -> list[str]: ...

    # ---------------------------------------------------------------- plans
    def put_plan(self, plan: Any) -> None:
        """Store a plan of the store's own plan class (``Backend.plan_cls``)."""

    def plan_generations(self) -> list[int]: ...
    def has_tree(self, endpoint: Endpoint, generation: int) -> bool: ...
    def delete_plans(
        self, generations: Iterable[int] | Ints, *, safe: bool = True
    ) -> DeleteResult: ...

    # ---------------------------------------------------------------- flips
    def flip(
        self,
        endpoint: Endpoint,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_version: int | None = None,
        fence: int | None = None,
        rollback: bool = True,
    ) -> bool: ...
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
    ) -> FlipCounts: ...
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

    # ---------------------------------------------------------------- reads
    def resolve(self, endpoint: Endpoint) -> Answer: ...
    def resolve_many(self, endpoints: Endpoints | None = None) -> list[Answer]: ...
    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]: ...
    @overload
    def aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int | None]: ...
    @overload
    def rollbacks(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def rollbacks(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def versions(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def versions(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def dangling_aliases(self, endpoints: Endpoints | None = None, *, output: Output) -> Any: ...
    def state(self, endpoint: Endpoint) -> EndpointState: ...

    # ---------------------------------------------------------------- leases
    def acquire_lease(self, endpoint: Endpoint, holder: str, ttl: float, now: float) -> int: ...
    @overload
    def acquire_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        ttl: float,
        now: float,
        *,
        output: Literal["list"] = "list",
    ) -> list[int | None]: ...
    @overload
    def acquire_leases(
        self, endpoints: Endpoints, holder: str, ttl: float, now: float, *, output: Output
    ) -> Any: ...
    def renew_lease(
        self, endpoint: Endpoint, holder: str, token: int, ttl: float, now: float
    ) -> float: ...
    @overload
    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Tokens,
        ttl: float,
        now: float,
        *,
        output: Literal["list"] = "list",
    ) -> list[int | None]: ...
    @overload
    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Tokens,
        ttl: float,
        now: float,
        *,
        output: Output,
    ) -> Any: ...
    def release_lease(self, endpoint: Endpoint, holder: str, token: int) -> None: ...
    def release_leases(self, endpoints: Endpoints, holder: str, tokens: Tokens) -> int: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["list"] = "list"
    ) -> list[int]: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Literal["array"]
    ) -> array[int]: ...
    @overload
    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Output
    ) -> Any: ...

    # ---------------------------------------------------------------- accounting
    def stats(self) -> StoreStats: ...


class BackendError(RuntimeError):
    """The requested store cannot be loaded."""


@dataclass(frozen=True)
class Backend:
    """A store factory and the ``Plan`` class that goes with it (plans are not interchangeable)."""

    name: str
    new_store: Callable[[], Store]
    plan_cls: Any
    #: A store that records a history of this capacity (docs/guide/checker.md); ``None`` for
    #: stores that cannot (only the Rust core records histories).
    new_recording_store: Callable[[int], Store] | None = None


def backend(name: str, *, lease_clock: str = "caller") -> Backend:
    """``embedded``/``rust`` (``dnsrace.RecordStore``), ``reference``
    (``dnsrace.reference.PyRecordStore``) or ``etcd://...`` (an :class:`EtcdStore`; each new
    store empties the URL's namespace first, so every run starts clean).

    A malformed ``etcd://`` URL raises ``InvalidArgument``; an unreachable cluster raises
    ``StoreUnavailable`` when the first store is made.
    """
    if name.startswith("etcd://"):
        from dnsrace.backends.etcd import EtcdStore, LeaseClock, parse_etcd_url
        from dnsrace.reference import Plan

        url = parse_etcd_url(name)
        clock: LeaseClock = "etcd" if lease_clock == "etcd" else "caller"

        def new_store() -> Store:
            return EtcdStore(url, reset=True, lease_clock=clock)

        return Backend(str(url), new_store, Plan)
    if name in ("rust", "embedded"):
        try:
            from dnsrace import _core
        except ImportError as exc:
            raise BackendError(
                f"the Rust store is not built ({exc}); run `make build` or use --store reference"
            ) from None

        def recording(capacity: int) -> Store:
            return _core.RecordStore(history=capacity)

        return Backend("rust", _core.RecordStore, _core.Plan, recording)
    if name == "reference":
        from dnsrace import reference

        return Backend("reference", reference.PyRecordStore, reference.Plan)
    raise BackendError(f"unknown store {name!r} (one of {', '.join(STORES)})")
