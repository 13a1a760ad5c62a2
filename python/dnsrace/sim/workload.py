"""Synthetic fleets for benchmarks and the mode comparison: many endpoints sharing a few
load-balancer groups, the way a regional DNS plan assigns groups of LBs to endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dnsrace.sim.scenario import REGIONAL


def endpoint_name(i: int, regional: str = REGIONAL) -> str:
    """The DNS name of endpoint number ``i``; number 0 is the regional endpoint."""
    return regional if i == 0 else f"ep{i}.cell{i % 97}.us-east-1.example.com"


def endpoint_names(count: int, regional: str = REGIONAL) -> list[str]:
    """``count`` DNS names; the first is the regional endpoint."""
    if count < 1:
        raise ValueError(f"endpoint count must be >= 1, got {count}")
    return [endpoint_name(i, regional) for i in range(count)]


def target_groups(
    generation: int, groups: int, targets_per_endpoint: int
) -> list[list[tuple[str, int]]]:
    """``groups`` weighted target sets for one generation, IPv4 and IPv6 mixed.

    Addresses depend on the generation so that a new plan really is a new tree.
    """
    out = []
    for k in range(groups):
        targets: list[tuple[str, int]] = []
        for j in range(targets_per_endpoint):
            if j % 2 == 0:
                addr = f"10.{generation % 256}.{k % 256}.{j}"
            else:
                addr = f"2600:1f18:{generation % 65536:x}:{k:x}::{j:x}"
            targets.append((addr, 1 + (generation + k + j) % 255))
        out.append(targets)
    return out


def shared_plan(
    plan_cls: Any,
    generation: int,
    endpoints: Sequence[int | str],
    *,
    groups: int = 64,
    targets_per_endpoint: int = 4,
) -> Any:
    """A plan where endpoint ``i`` gets group ``i % groups`` (built with ``from_shared``)."""
    sets = target_groups(generation, groups, targets_per_endpoint)
    index = [i % groups for i in range(len(endpoints))]
    return plan_cls.from_shared(generation, sets, endpoints, index)


def build_store(
    store_cls: Any,
    plan_cls: Any,
    endpoints: int,
    generations: int,
    *,
    groups: int = 64,
    targets_per_endpoint: int = 4,
) -> tuple[Any, list[int]]:
    """A store with ``endpoints`` endpoints and plans 1..``generations`` stored (none flipped)."""
    store = store_cls()
    ids = store.add_endpoints(endpoint_names(endpoints))
    for g in range(1, generations + 1):
        store.put_plan(
            shared_plan(plan_cls, g, ids, groups=groups, targets_per_endpoint=targets_per_endpoint)
        )
    return store, ids
