"""``PyRecordStore``: endpoints, plans, flips, reads and counters of the reference store; its
leases and persistence come from ``_leases`` and ``_persist``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Final, final

from dnsrace import _rules as rules
from dnsrace._front import FlipFront, FlipMany, FlipOne
from dnsrace._plan import Plan
from dnsrace._types import (
    Answer,
    DeleteResult,
    Endpoint,
    Endpoints,
    EndpointState,
    FlipCounts,
    FlipResult,
    Ints,
    Output,
    StoreStats,
)
from dnsrace.errors import (
    DanglingAlias,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    UnknownEndpoint,
    UnknownPlan,
)
from dnsrace.reference._leases import Leases
from dnsrace.reference._persist import Persistence

__all__ = ["PyRecordStore"]

# Outcome codes, as ``dnsrace._types.Outcome``.
_APPLIED: Final = 0
_OUTDATED: Final = 1
_FENCED: Final = 2
_MISSING: Final = 3
_DANGLING: Final = 4


@final
class PyRecordStore(FlipFront, Leases, Persistence):
    """Thread-safe in-memory store of load-balancer DNS records (pure Python reference).

    Same API and semantics as ``dnsrace.RecordStore``; see ``dnsrace/_core.pyi``. Its typed
    face is :class:`dnsrace.backends.Store` (the calls whose result depends on ``output`` or
    ``outcomes`` return ``Any`` here).
    """

    def _flip_one(
        self, i: int, gen: int, code: int, expected: int, fence: int | None, rollback: bool
    ) -> int:
        """Fence, mode and dangling checks then the flip; the tree is known to exist."""
        # 0: the sentinel of a refused lease (batch fences only): never held.
        if fence is not None and (fence < self._fence[i] or fence == 0):
            self._fenced_rejections += 1
            return _FENCED
        alias = self._alias[i]
        if code == rules.IF_NEWER:
            ok = alias is None or gen > alias
        elif code == rules.EXACT:
            ok = self._version[i] == expected
        else:
            ok = True
        if not ok:
            self._outdated_rejections += 1
            return _OUTDATED
        if rollback and alias is not None:
            active = self._trees.get(alias)
            if active is None or i not in active:
                self._dangling_rejections += 1
                return _DANGLING
        if fence is not None and fence > self._fence[i]:
            self._fence[i] = fence
        if alias is not None and gen < alias:
            self._stale_flips += 1
        self._rollback[i] = alias if rollback else None
        self._alias[i] = gen
        self._version[i] += 1
        self._flips_applied += 1
        return _APPLIED

    # ---------------------------------------------------------------- endpoints

    def __len__(self) -> int:
        """Number of registered endpoints."""
        with self._lock:
            return len(self._names)

    def add_endpoints(self, names: Iterable[str]) -> list[int]:
        """Register DNS names; return their ids (dense, from 0, in registration order)."""
        items = rules.sequence(names, "names")
        canon = [rules.canonical_name(name) for name in items]
        with self._lock:
            ids_map = self._ids
            out: list[int] = []
            for name in canon:
                i = ids_map.get(name)
                if i is None:
                    i = ids_map[name] = len(self._names)
                    self._names.append(name)
                    self._alias.append(None)
                    self._rollback.append(None)
                    self._version.append(0)
                    self._holder.append(None)
                    self._token.append(0)
                    self._expiry.append(0.0)
                    self._fence.append(0)
                out.append(i)
            return out

    def endpoint_id(self, name: str) -> int:
        """The id of a registered name (``UnknownEndpoint`` otherwise)."""
        if not isinstance(name, str):
            raise InvalidArgument(f"invalid name {name!r}: endpoint_id takes a str")
        with self._lock:
            return self._ep(name)

    def endpoint_names(self, endpoints: Endpoints | None = None) -> list[str]:
        """The canonical names of many endpoints (``None``: all, in id order)."""
        with self._lock:
            names = self._names
            return [names[i] for i in self._eps(endpoints)]

    def __contains__(self, endpoint: object) -> bool:
        """Whether ``endpoint`` (a name or an id) is registered; anything else is not."""
        if isinstance(endpoint, str):
            try:
                name = rules.canonical_name(endpoint)
            except InvalidName:
                return False
            with self._lock:
                return name in self._ids
        value = rules.as_int(endpoint)
        with self._lock:
            return value is not None and 0 <= value < len(self._names)

    def endpoint_name(self, endpoint: Endpoint) -> str:
        """The canonical (lower-case, no trailing dot) name of an endpoint."""
        with self._lock:
            return self._names[self._ep(endpoint)]

    # ---------------------------------------------------------------- plans

    def put_plan(self, plan: Plan) -> None:
        """Store a plan's trees. Every endpoint must be registered (``UnknownEndpoint``)."""
        if not isinstance(plan, Plan):
            raise InvalidArgument(
                f"put_plan takes a dnsrace.reference.Plan, not {type(plan).__name__}"
            )
        gen = plan._generation
        with self._lock:
            if gen in self._trees:
                raise InvalidArgument(f"generation {gen} is already stored (plans are immutable)")
            n = len(self._names)
            ids_map = self._ids
            ids: list[int] = []
            for key in plan._keys:
                if isinstance(key, int):
                    if key >= n:
                        raise UnknownEndpoint(f"unknown endpoint id {key}")
                    ids.append(key)
                else:
                    i = ids_map.get(key)
                    if i is None:
                        raise UnknownEndpoint(f"unknown endpoint {key}")
                    ids.append(i)
            if len(set(ids)) != len(ids):
                seen: set[int] = set()
                for i in ids:
                    if i in seen:
                        raise InvalidArgument(
                            f"endpoint {self._names[i]} (id {i}) appears twice in plan {gen}"
                        )
                    seen.add(i)
            if not ids:
                return
            interned = self._interned
            refs = self._refs
            stored: list[Answer] = list(plan._sets)
            for j, count in Counter(plan._index).items():
                answer = interned.setdefault(stored[j], stored[j])
                stored[j] = answer
                key_id = id(answer)
                if key_id in refs:
                    refs[key_id] += count
                else:
                    refs[key_id] = count
                    self._objects[key_id] = answer
            self._trees[gen] = dict(zip(ids, [stored[j] for j in plan._index], strict=True))
            self._tree_count += len(ids)
            self._records_live += plan._records

    def plan_generations(self) -> list[int]:
        """Generations that still have at least one stored tree, ascending."""
        with self._lock:
            return sorted(self._trees)

    def has_tree(self, endpoint: Endpoint, generation: int) -> bool:
        """Whether the tree of ``generation`` for ``endpoint`` is stored."""
        gen = rules.generation(generation)
        with self._lock:
            i = self._ep(endpoint)
            tree = self._trees.get(gen)
            return tree is not None and i in tree

    def delete_plans(self, generations: Iterable[int] | Ints, *, safe: bool = True) -> DeleteResult:
        """Delete the trees of these generations (the enactors' clean-up)."""
        raw = rules.int_sequence(generations, InvalidGeneration, "generations", ordered=False)
        gens = sorted({rules.generation(g) for g in raw})
        rules.flag(safe, "safe")
        with self._lock:
            deleted = kept = 0
            kept_gens: list[int] = []
            unknown: list[int] = []
            alias = self._alias
            rollback = self._rollback
            for gen in gens:
                tree = self._trees.get(gen)
                if tree is None:
                    unknown.append(gen)
                    continue
                keep = [i for i in tree if alias[i] == gen or rollback[i] == gen] if safe else []
                if keep:
                    kept += len(keep)
                    kept_gens.append(gen)
                    remaining = {i: tree[i] for i in keep}
                    self._release([a for i, a in tree.items() if i not in remaining])
                    self._trees[gen] = remaining
                else:
                    self._release(tree.values())
                    del self._trees[gen]
                deleted += len(tree) - len(keep)
            return DeleteResult(deleted, kept, kept_gens, unknown)

    # ---------------------------------------------------------------- flips

    def _flip_call(self, call: FlipOne) -> bool:
        """``flip``: the old alias becomes the rollback."""
        endpoint, generation, mode, expected_version, fence, rollback = call
        gen = rules.generation(generation)
        rules.flag(rollback, "rollback")
        code = rules.mode(mode)
        rules.check_expected(code, expected_version, "expected_version")
        expected = rules.version(expected_version) if code == rules.EXACT else 0
        token = None if fence is None else rules.token(fence, "fence")
        with self._lock:
            i = self._ep(endpoint)
            tree = self._trees.get(gen)
            if tree is None or i not in tree:
                self._missing_rejections += 1
                raise UnknownPlan(f"no tree of generation {gen} for endpoint {self._names[i]}")
            outcome = self._flip_one(i, gen, code, expected, token, rollback)
            if outcome == _DANGLING:
                raise DanglingAlias(
                    f"endpoint {self._names[i]!r}: the active tree is gone, "
                    "the rollback cannot be recorded"
                )
            return outcome == _APPLIED

    def _flip_many_call(self, call: FlipMany) -> Any:
        """``flip_many``: with ``outcomes``, also each position's outcome code and previous
        alias."""
        endpoints, generation, mode, expected_versions, fence, rollback, outcomes = call
        gen, code, output = rules.flip_call(generation, mode, rollback, outcomes, expected_versions)
        with self._lock:
            ids = self._eps(endpoints)
            expected, single, fences = rules.flip_values(code, len(ids), expected_versions, fence)
            codes: list[int] = []
            previous: list[int] = []
            tree = self._trees.get(gen)
            alias = self._alias
            for k, i in enumerate(ids):
                if output is not None:
                    previous.append(alias[i] or 0)
                if tree is None or i not in tree:
                    codes.append(_MISSING)
                    continue
                codes.append(
                    self._flip_one(
                        i,
                        gen,
                        code,
                        0 if expected is None else expected[k],
                        single if fences is None else fences[k],
                        rollback,
                    )
                )
            tally = [0] * 5
            for c in codes:
                tally[c] += 1
            self._missing_rejections += tally[_MISSING]
            counts = FlipCounts(
                tally[_APPLIED], tally[_OUTDATED], tally[_FENCED], tally[_MISSING], tally[_DANGLING]
            )
        if output is None:
            return counts
        return FlipResult(
            counts,
            rules.typed_array(codes, "B", "uint8", output),
            rules.typed_array(previous, "Q", "uint64", output),
        )

    # ---------------------------------------------------------------- reads

    def _resolve(self, i: int) -> Answer:
        alias = self._alias[i]
        if alias is not None:
            tree = self._trees.get(alias)
            if tree is not None:
                answer = tree.get(i)
                if answer:
                    return answer
        self._empty_answers += 1
        return rules.EMPTY

    def resolve(self, endpoint: Endpoint) -> Answer:
        """The records the alias points at; ``()`` (counted as an empty answer) otherwise."""
        with self._lock:
            return self._resolve(self._ep(endpoint))

    def resolve_many(self, endpoints: Endpoints | None = None) -> list[Answer]:
        """``resolve`` for many endpoints (``None``: all, in id order)."""
        with self._lock:
            resolve = self._resolve
            return [resolve(i) for i in self._eps(endpoints)]

    def _generations(
        self, column: list[int | None], endpoints: Endpoints | None, output: Output
    ) -> Any:
        """A generation column (aliases, rollbacks) in the requested container; none -> 0."""
        kind = rules.output(output)
        values = self._column(column, endpoints)
        if kind == "list":
            return values
        return rules.typed_array([g or 0 for g in values], "Q", "uint64", kind)

    def aliases(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Alias generation of each endpoint (``None``, or 0 in arrays, where unset); nothing
        is counted."""
        return self._generations(self._alias, endpoints, output)

    def rollbacks(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Rollback generation of each endpoint (``None``, or 0 in arrays, where unset);
        nothing is counted."""
        return self._generations(self._rollback, endpoints, output)

    def versions(self, endpoints: Endpoints | None = None, *, output: Output = "list") -> Any:
        """Version of each endpoint (what ``mode="exact"`` compares); nothing is counted."""
        kind = rules.output(output)
        column = self._column(self._version, endpoints)
        return column if kind == "list" else rules.typed_array(column, "Q", "uint64", kind)

    def dangling_aliases(
        self, endpoints: Endpoints | None = None, *, output: Output = "list"
    ) -> Any:
        """Ids (in input order) of the endpoints whose alias is set but whose tree was deleted."""
        kind = rules.output(output)
        with self._lock:
            alias = self._alias
            trees = self._trees
            out: list[int] = []
            for i in self._eps(endpoints):
                a = alias[i]
                if a is not None:
                    tree = trees.get(a)
                    if tree is None or i not in tree:
                        out.append(i)
        return out if kind == "list" else rules.typed_array(out, "I", "uint32", kind)

    def state(self, endpoint: Endpoint) -> EndpointState:
        """A consistent snapshot of one endpoint's control record."""
        with self._lock:
            i = self._ep(endpoint)
            return EndpointState(
                i,
                self._names[i],
                self._alias[i],
                self._rollback[i],
                self._version[i],
                self._holder[i],
                self._token[i],
                self._expiry[i],
                self._fence[i],
            )

    # ---------------------------------------------------------------- accounting

    def stats(self) -> StoreStats:
        """Counters and gauges, computed under the lock (a consistent snapshot)."""
        with self._lock:
            trees = self._trees
            dangling_aliases = dangling_rollbacks = 0
            for i, a in enumerate(self._alias):
                if a is not None:
                    tree = trees.get(a)
                    if tree is None or i not in tree:
                        dangling_aliases += 1
            for i, r in enumerate(self._rollback):
                if r is not None:
                    tree = trees.get(r)
                    if tree is None or i not in tree:
                        dangling_rollbacks += 1
            return StoreStats(
                {
                    "endpoints": len(self._names),
                    "plans": len(trees),
                    "trees": self._tree_count,
                    "target_sets": len(self._interned),
                    "records_live": self._records_live,
                    "flips_applied": self._flips_applied,
                    "stale_flips": self._stale_flips,
                    "outdated_rejections": self._outdated_rejections,
                    "fenced_rejections": self._fenced_rejections,
                    "missing_rejections": self._missing_rejections,
                    "dangling_rejections": self._dangling_rejections,
                    "empty_answers": self._empty_answers,
                    "dangling_aliases": dangling_aliases,
                    "dangling_rollbacks": dangling_rollbacks,
                    "lease_conflicts": self._lease_conflicts,
                    "leases_granted": self._leases_granted,
                }
            )
