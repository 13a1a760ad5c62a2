"""The reference store's leases: a holder, a token and an expiry per endpoint, and the
highest fencing token handed out (which flips with a fence compare against)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dnsrace import _rules as rules
from dnsrace._types import Endpoint, Endpoints, Ints, Output
from dnsrace.errors import InvalidArgument, InvalidToken, LeaseHeld, LeaseLost
from dnsrace.reference._state import StoreState

__all__ = ["Leases"]


class Leases(StoreState):
    """The lease calls of ``PyRecordStore``."""

    def _grant(self, i: int, holder: str, expiry: float) -> int:
        token = self._fence[i] + 1
        self._fence[i] = token
        self._holder[i] = holder
        self._token[i] = token
        self._expiry[i] = expiry
        self._leases_granted += 1
        return token

    def _clear_lease(self, i: int) -> None:
        self._holder[i] = None
        self._token[i] = 0
        self._expiry[i] = 0.0

    def _batch_ids(self, endpoints: object, count: int, call: str) -> Sequence[int]:
        """The ids of a batch lease call's endpoints, one per token (caller holds the lock)."""
        if endpoints is None:
            raise InvalidArgument(f"{call} needs a sequence of endpoints, not None")
        ids = self._eps(endpoints)
        if len(ids) != count:
            raise InvalidArgument(f"{count} tokens for {len(ids)} endpoints")
        return ids

    def _conflict(self, i: int, holder: str, now: float) -> bool:
        current = self._holder[i]
        return current is not None and current != holder and now < self._expiry[i]

    def acquire_lease(self, endpoint: Endpoint, holder: str, ttl: float, now: float) -> int:
        """Take the endpoint's lease until ``now + ttl``; return a new fencing token."""
        who = rules.holder(holder)
        length = rules.ttl(ttl)
        at = rules.number(now, "now")
        with self._lock:
            i = self._ep(endpoint)
            if self._conflict(i, who, at):
                self._lease_conflicts += 1
                raise LeaseHeld(
                    f"endpoint {self._names[i]} is leased by {self._holder[i]!r} "
                    f"until {self._expiry[i]!r}"
                )
            if self._fence[i] >= rules.MAX_I63:
                raise InvalidToken(f"fencing tokens of endpoint {self._names[i]} are exhausted")
            return self._grant(i, who, at + length)

    def acquire_leases(
        self, endpoints: Endpoints, holder: str, ttl: float, now: float, *, output: Output = "list"
    ) -> Any:
        """``acquire_lease`` for many endpoints: the token, or ``None`` (0 in arrays) where
        refused (another holder's live lease, counted as a conflict; or exhausted fencing
        tokens, not counted)."""
        who = rules.holder(holder)
        length = rules.ttl(ttl)
        at = rules.number(now, "now")
        kind = rules.output(output)
        tokens = self._acquire_many(endpoints, who, length, at)
        if kind == "list":
            return tokens
        return rules.typed_array([t or 0 for t in tokens], "Q", "uint64", kind)

    def renew_leases(
        self,
        endpoints: Endpoints,
        holder: str,
        tokens: Ints,
        ttl: float,
        now: float,
        *,
        output: Output = "list",
    ) -> Any:
        """``renew_lease`` for many endpoints: per position the token where the lease was
        renewed to ``now + ttl``, ``None`` (0 in arrays) where it was not (lost, or a refused
        entry's ``None``/0 given back); nothing is raised for a lost lease."""
        who = rules.holder(holder)
        toks = rules.batch_tokens(tokens)
        length = rules.ttl(ttl)
        at = rules.number(now, "now")
        kind = rules.output(output)
        with self._lock:
            ids = self._batch_ids(endpoints, len(toks), "renew_leases")
            out: list[int | None] = []
            for i, tok in zip(ids, toks, strict=True):
                if (
                    tok
                    and self._holder[i] == who
                    and self._token[i] == tok
                    and at < self._expiry[i]
                ):
                    self._expiry[i] = at + length
                    out.append(tok)
                else:
                    out.append(None)
        if kind == "list":
            return out
        return rules.typed_array([t or 0 for t in out], "Q", "uint64", kind)

    def _acquire_many(
        self, endpoints: Endpoints, who: str, length: float, at: float
    ) -> list[int | None]:
        with self._lock:
            if endpoints is None:
                raise InvalidArgument("acquire_leases needs a sequence of endpoints, not None")
            ids = self._eps(endpoints)
            expiry = at + length
            out: list[int | None] = []
            for i in ids:
                if self._conflict(i, who, at):
                    self._lease_conflicts += 1
                    out.append(None)
                elif self._fence[i] >= rules.MAX_I63:
                    # An outcome of a valid element: reported (None, not counted), not raised.
                    out.append(None)
                else:
                    out.append(self._grant(i, who, expiry))
            return out

    def renew_lease(
        self, endpoint: Endpoint, holder: str, token: int, ttl: float, now: float
    ) -> float:
        """Extend a live lease to ``now + ttl`` and return the new expiry."""
        who = rules.holder(holder)
        tok = rules.token(token)
        length = rules.ttl(ttl)
        at = rules.number(now, "now")
        with self._lock:
            i = self._ep(endpoint)
            if self._holder[i] != who or self._token[i] != tok or not at < self._expiry[i]:
                raise LeaseLost(
                    f"{who!r} with token {tok} does not hold a live lease on {self._names[i]}"
                )
            expiry = at + length
            self._expiry[i] = expiry
            return expiry

    def release_lease(self, endpoint: Endpoint, holder: str, token: int) -> None:
        """Give the lease up (``LeaseLost`` unless holder and token match)."""
        who = rules.holder(holder)
        tok = rules.token(token)
        with self._lock:
            i = self._ep(endpoint)
            if self._holder[i] != who or self._token[i] != tok:
                raise LeaseLost(
                    f"{who!r} with token {tok} does not hold the lease on {self._names[i]}"
                )
            self._clear_lease(i)

    def release_leases(self, endpoints: Endpoints, holder: str, tokens: Ints) -> int:
        """``release_lease`` for many endpoints; returns how many were released."""
        who = rules.holder(holder)
        toks = rules.batch_tokens(tokens)
        with self._lock:
            ids = self._batch_ids(endpoints, len(toks), "release_leases")
            released = 0
            for i, tok in zip(ids, toks, strict=True):
                if tok and self._holder[i] == who and self._token[i] == tok:
                    self._clear_lease(i)
                    released += 1
            return released

    def live_leases(
        self, now: float, endpoints: Endpoints | None = None, *, output: Output = "list"
    ) -> Any:
        """Ids (in input order) whose lease is live at ``now`` (held, ``now < expiry``)."""
        at = rules.number(now, "now")
        kind = rules.output(output)
        with self._lock:
            holder = self._holder
            expiry = self._expiry
            out = [i for i in self._eps(endpoints) if holder[i] is not None and at < expiry[i]]
        return out if kind == "list" else rules.typed_array(out, "I", "uint32", kind)
