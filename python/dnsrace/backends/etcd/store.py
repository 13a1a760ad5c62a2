"""``EtcdStore``: the record store's semantics on an etcd v3 cluster.

The same calls, arguments, errors and outcome rules as ``dnsrace.RecordStore`` (see
``dnsrace/_core.pyi``), so the simulator, its checker and its reports run unchanged.

How a write stays one atomic step: every per-endpoint decision is taken on values read
before, then made by a Txn whose compares say "what I read is still so", carrying the mode's
condition: ``value(a/<id>) == the bytes read`` (a fixed-width big-endian generation below
``generation`` for ``if_newer``, and the rollback the write records), or for ``exact``
``mod_revision(a/<id>) == expected``; and the ``mod_revision`` of the fence key and of the
tree chunks involved. If any of it changed, the Txn writes nothing and that
endpoint is read and decided again. Refusals go through the same kind of Txn (with no write),
so every outcome, applied or not, is linearised at a Txn of its own. Batches are outer Txns
of up to ``txn_ops`` operations (1000 where the cluster allows, else 100), pipelined.

Differences from the embedded store, all documented in docs/guide/etcd.md:

- ``versions()`` are etcd ``mod_revision``\\ s of the control record: they grow with every flip
  of the endpoint (and jump by other writes in between); ``mode="exact"`` compares them.
- Fencing tokens grow by one per endpoint, as embedded.
- Leases: ``lease_clock="caller"`` (default) keeps the expiry in the caller's time, as the
  embedded store does (virtual-clock runs need it); ``lease_clock="etcd"`` attaches the lease
  key to a real etcd lease (granted with ``ceil(ttl)`` seconds, kept alive by
  ``renew_lease``, revoked once its last key is released), so etcd's clock expires it.
- Counters (``stats()``) are this client's own; processes of one run add theirs up.

This module is the public front. What every call shares (client, endpoint names, reads) is in
``namespace``; ``flips``, ``leases``, ``plans`` and ``queries`` hold one kind of call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dnsrace._front import FlipFront, FlipMany, FlipOne
from dnsrace._plan import Plan
from dnsrace._types import (
    Answer,
    DeleteResult,
    EndpointState,
    Output,
    StoreStats,
)
from dnsrace.backends.etcd import flips, leases, plans, queries
from dnsrace.backends.etcd.client import EtcdClient
from dnsrace.backends.etcd.namespace import EtcdNamespace, LeaseClock
from dnsrace.backends.etcd.url import EtcdUrl, parse_etcd_url
from dnsrace.errors import InvalidArgument, InvalidName, UnknownEndpoint

__all__ = ["EtcdStore", "LeaseClock"]


class EtcdStore(FlipFront, EtcdNamespace):
    """The record store on an etcd cluster (see the module docstring for the mapping).

    ``EtcdStore("etcd://127.0.0.1:2379/ns")`` attaches to namespace ``ns`` (creating it empty
    if new); ``reset=True`` empties it first. ``timeout_s`` bounds every request; an
    unreachable cluster raises :class:`~dnsrace.errors.StoreUnavailable` within
    ``connect_timeout_s`` per member.
    """

    def __init__(
        self,
        url: str | EtcdUrl,
        *,
        reset: bool = False,
        lease_clock: LeaseClock = "caller",
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        inflight: int = 32,
        txn_ops: int = 1000,
    ) -> None:
        parsed = url if isinstance(url, EtcdUrl) else parse_etcd_url(url)
        if lease_clock not in ("caller", "etcd"):
            raise InvalidArgument(f"invalid lease_clock {lease_clock!r}: 'caller' or 'etcd'")
        if not 1 <= txn_ops <= 10_000:
            raise InvalidArgument(f"invalid txn_ops {txn_ops!r}: must be in 1..10000")
        client = EtcdClient(
            parsed.endpoints,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            inflight=inflight,
        )
        super().__init__(parsed, client, lease_clock=lease_clock, txn_ops=txn_ops, reset=reset)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> EtcdStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================== endpoints

    def __len__(self) -> int:
        return self._sync_names()[0]

    def __iter__(self) -> Iterator[str]:
        self._sync_names()
        return iter(list(self._names))

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        """Register DNS names; their ids (dense from 0, in registration order, shared by every
        client of the namespace). Registering is one Txn on the count at the end; the records
        written before it are guarded by that count, so concurrent registrations never mix."""
        return self._add_names(names)

    def endpoint_id(self, name: str) -> int:
        if not isinstance(name, str):
            raise InvalidArgument(f"invalid name {name!r}: endpoint_id takes a str")
        return self._id_of(name)

    def endpoint_name(self, endpoint: int | str) -> str:
        return self._names[self._id_of(endpoint)]

    def endpoint_names(self, endpoints: object = None) -> list[str]:
        return [self._names[i] for i in self._ids_of(endpoints)]

    def __contains__(self, endpoint: object) -> bool:
        """Whether ``endpoint`` (a name or an id) is registered; anything else is not."""
        try:
            self._id_of(endpoint)
        except (InvalidArgument, InvalidName, UnknownEndpoint):
            return False
        return True

    # ================================================================== reads

    def aliases(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """Generation each endpoint points at (None: never flipped)."""
        return queries.column(self, endpoints, queries.ALIAS, output)

    def rollbacks(self, endpoints: object = None, *, output: Output = "list") -> Any:
        return queries.column(self, endpoints, queries.ROLLBACK, output)

    def versions(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """The control records' ``mod_revision``\\ s (what ``mode="exact"`` compares)."""
        return queries.column(self, endpoints, queries.VERSION, output)

    def dangling_aliases(self, endpoints: object = None, *, output: Output = "list") -> Any:
        """Endpoints whose alias names a tree that is gone (they resolve to nothing)."""
        return queries.dangling_aliases(self, endpoints, output)

    def state(self, endpoint: int | str) -> EndpointState:
        """One endpoint's control record and lease, each read in one step (``version``: the
        control record's ``mod_revision``)."""
        i = self._id_of(endpoint)
        alias, rollback, version = self._alias_of(self._control([i]), i)
        holder, token, expiry, fence = leases.lease_of(self, i)
        name = self._names[i]
        return EndpointState(
            i, name, alias or None, rollback or None, version, holder, token, expiry, fence
        )

    def has_tree(self, endpoint: int | str, generation: int) -> bool:
        return queries.has_tree(self, endpoint, generation)

    def resolve_many(self, endpoints: object = None) -> list[Answer]:
        """Each endpoint's answer: the target set of its alias's tree, or ``()``."""
        return queries.resolve_many(self, endpoints)

    def resolve(self, endpoint: int | str) -> Answer:
        return self.resolve_many([endpoint])[0]

    # ================================================================== plans

    def plan_generations(self) -> list[int]:
        """Generations with a stored plan header (at least one tree left), ascending."""
        return plans.plan_generations(self)

    def put_plan(self, plan: Plan) -> None:
        """Store a plan (a ``dnsrace.reference.Plan``): its sets once, its trees in chunks, its
        header last. Fails if the generation is stored (plans are immutable)."""
        plans.put_plan(self, plan)

    def delete_plans(self, generations: Iterable[int], *, safe: bool = True) -> DeleteResult:
        """Delete the trees of ``generations``; ``safe`` keeps every tree that an alias or
        rollback refers to, in a Txn per chunk that compares those records unchanged."""
        return plans.delete_plans(self, generations, safe)

    # ================================================================== flips

    def _flip_many_call(self, call: FlipMany) -> Any:
        """``flip_many``: each endpoint one atomic etcd step."""
        return flips.flip_many(self, call)

    def _flip_call(self, call: FlipOne) -> bool:
        """``flip``: True if applied (``UnknownPlan``, ``DanglingAlias`` as embedded)."""
        return flips.flip(self, call)

    # ================================================================== leases

    def acquire_leases(
        self, endpoints: object, holder: str, ttl: float, now: float, *, output: Output = "list"
    ) -> Any:
        """Lease each endpoint until ``now + ttl`` (caller clock) or for ``ceil(ttl)`` seconds of
        etcd's clock; a fresh fencing token each, or None where another holder's lease lives."""
        return leases.acquire_leases(self, endpoints, holder, ttl, now, output)

    def acquire_lease(self, endpoint: int | str, holder: str, ttl: float, now: float) -> int:
        return leases.acquire_lease(self, endpoint, holder, ttl, now)

    def renew_lease(
        self, endpoint: int | str, holder: str, token: int, ttl: float, now: float
    ) -> float:
        """Extend a live lease; ``LeaseLost`` unless holder and token match and it lives."""
        return leases.renew_lease(self, endpoint, holder, token, ttl, now)

    def renew_leases(
        self,
        endpoints: object,
        holder: str,
        tokens: object,
        ttl: float,
        now: float,
        *,
        output: Output = "list",
    ) -> Any:
        """``renew_lease`` for many endpoints: the token where renewed, None where not."""
        return leases.renew_leases(self, endpoints, holder, tokens, ttl, now, output)

    def live_leases(self, now: float, endpoints: object = None, *, output: Output = "list") -> Any:
        """Ids (in input order) whose lease is live at ``now``."""
        return leases.live_leases(self, now, endpoints, output)

    def release_leases(self, endpoints: object, holder: str, tokens: object) -> int:
        """Give up the leases whose holder and token match; how many were released."""
        return leases.release_leases(self, endpoints, holder, tokens)

    def release_lease(self, endpoint: int | str, holder: str, token: int) -> None:
        leases.release_lease(self, endpoint, holder, token)

    # ================================================================== accounting

    def stats(self) -> StoreStats:
        """Gauges read from etcd (one scan) and this client's counters (see the module doc)."""
        return queries.stats(self)

    def counters(self) -> dict[str, int]:
        """This client's counters only (no scan)."""
        return dict(self._counters)

    def db_size(self) -> int:
        """Bytes of the current member's database file."""
        return int(self.client.status().dbSize)
