"""The pure-Python ``Plan``: one generation's target sets, checked and canonicalised as the Rust
``dnsrace.Plan`` does. The plan class of the pure-Python stores (the reference and the etcd
store); exported as ``dnsrace.reference.Plan``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import final

from dnsrace import _rules as rules
from dnsrace._types import Answer, Endpoint, Ints, Target
from dnsrace.errors import InvalidArgument, UnknownEndpoint

__all__ = ["Plan", "shared_form"]


@final
class Plan:
    """One plan generation: for each endpoint, a weighted set of target addresses (its *tree*).

    Immutable. Target sets are canonicalised (sorted by address, duplicates rejected) and
    identical sets are stored once, here and in the store.
    """

    __slots__ = ("_generation", "_index", "_keys", "_records", "_sets", "_slots")

    _generation: int
    _keys: list[Endpoint]
    """Endpoint keys in construction order (canonical names, or ints)."""
    _slots: dict[Endpoint, int]
    """Key -> position in ``_keys``."""
    _sets: list[Answer]
    """Distinct canonical target sets."""
    _index: list[int]
    """Per position, the index of its set in ``_sets``."""
    _records: int

    def __init__(self, generation: int, targets: Mapping[Endpoint, Iterable[Target]]) -> None:
        """Build a plan from ``{endpoint: [(ip, weight), ...]}`` (rules: ``dnsrace.Plan``)."""
        gen = rules.generation(generation)
        if not isinstance(targets, Mapping):
            raise InvalidArgument(
                f"plan targets must be a mapping of endpoint to target set, "
                f"not {type(targets).__name__}"
            )
        rules.check_batch_len(len(targets), "targets")
        keys: list[Endpoint] = []
        slots: dict[Endpoint, int] = {}
        sets: list[Answer] = []
        index: list[int] = []
        seen: dict[Answer, int] = {}
        records = 0
        for raw_key, value in targets.items():
            key = rules.plan_key(raw_key)
            if key in slots:
                raise InvalidArgument(f"endpoint {key!r} appears twice in plan {gen}")
            slots[key] = len(keys)
            keys.append(key)
            j = _intern(rules.canonical_set(value), seen, sets)
            index.append(j)
            records += len(sets[j])
        self._generation = gen
        self._keys = keys
        self._slots = slots
        self._sets = sets
        self._index = index
        self._records = records

    @staticmethod
    def from_shared(
        generation: int,
        target_sets: Sequence[Iterable[Target]],
        endpoints: Sequence[Endpoint] | Ints,
        set_index: Ints,
    ) -> Plan:
        """Compact constructor: endpoint ``endpoints[i]`` gets ``target_sets[set_index[i]]``."""
        gen = rules.generation(generation)
        raw_sets = rules.sequence(target_sets, "target_sets")
        keys_in = rules.int_sequence(endpoints, InvalidArgument, "endpoints")
        index_in = rules.int_sequence(set_index, InvalidArgument, "set_index")
        sets: list[Answer] = []
        remap: list[int] = []
        seen: dict[Answer, int] = {}
        for raw in raw_sets:
            remap.append(_intern(rules.canonical_set(raw), seen, sets))
        if len(keys_in) != len(index_in):
            raise InvalidArgument(
                f"endpoints and set_index differ in length ({len(keys_in)} != {len(index_in)})"
            )
        n_sets = len(remap)
        keys: list[Endpoint] = []
        slots: dict[Endpoint, int] = {}
        index: list[int] = []
        records = 0
        for raw_key, raw_index in zip(keys_in, index_in, strict=True):
            key = rules.plan_key(raw_key)
            if key in slots:
                raise InvalidArgument(f"endpoint {key!r} appears twice in plan {gen}")
            i = rules.as_int(raw_index)
            if i is None or not 0 <= i < n_sets:
                raise InvalidArgument(
                    f"invalid set index {raw_index!r}: must be an int in 0..{n_sets - 1}"
                    if n_sets
                    else f"invalid set index {raw_index!r}: there are no target sets"
                )
            slots[key] = len(keys)
            keys.append(key)
            j = remap[i]
            index.append(j)
            records += len(sets[j])
        plan = Plan.__new__(Plan)
        plan._generation = gen
        plan._keys = keys
        plan._slots = slots
        plan._sets = sets
        plan._index = index
        plan._records = records
        return plan

    @property
    def generation(self) -> int:
        """The plan's generation (1..2**63-1)."""
        return self._generation

    @property
    def records(self) -> int:
        """Total leaves over all endpoints (a shared set counts once per endpoint using it)."""
        return self._records

    def __len__(self) -> int:
        """Number of endpoints this plan has a tree for."""
        return len(self._keys)

    def endpoints(self) -> list[Endpoint]:
        """The endpoints in construction order (names lower-cased, trailing dot dropped)."""
        return list(self._keys)

    def targets(self, endpoint: Endpoint) -> Answer:
        """The canonical target set of one endpoint; ``UnknownEndpoint`` if not in the plan."""
        key = rules.endpoint_key(endpoint)
        slot = self._slots.get(key)
        if slot is None:
            raise UnknownEndpoint(f"endpoint {key!r} is not in plan {self._generation}")
        return self._sets[self._index[slot]]


def _intern(answer: Answer, seen: dict[Answer, int], sets: list[Answer]) -> int:
    """The index of ``answer`` in ``sets`` (``seen``: index by set), appended if new."""
    j = seen.get(answer)
    if j is None:
        j = seen[answer] = len(sets)
        sets.append(answer)
    return j


def shared_form(plan: Plan) -> tuple[list[Answer], list[Endpoint], list[int]]:
    """A plan's compact form: distinct target sets, endpoint keys, each key's set index (what
    ``Plan.from_shared`` takes; a distributed store writes it as is)."""
    return list(plan._sets), list(plan._keys), list(plan._index)
