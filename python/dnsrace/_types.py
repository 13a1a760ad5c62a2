"""Plain result types shared by the Rust store and the pure-Python reference."""

from __future__ import annotations

from typing import NamedTuple


class FlipCounts(NamedTuple):
    """Outcome of a batch flip: how many endpoints were flipped and why the others were not.

    ``stale`` counts flips refused by the mode's condition (``if_newer``: generation not
    greater than the alias; ``exact``: version mismatch); ``fenced`` those refused because
    the fencing token was lower than the highest seen; ``missing`` those whose tree for the
    generation does not exist; ``dangling`` those that would have recorded the rollback from
    an active tree that was deleted (refused, nothing changed). Checks run in the order
    missing, fenced, stale, dangling.
    """

    applied: int
    stale: int
    fenced: int
    missing: int
    dangling: int = 0


class DeleteResult(NamedTuple):
    """Outcome of ``delete_plans``."""

    deleted_trees: int
    """Trees (one endpoint's records of one generation) removed."""
    kept_trees: int
    """Trees kept because an alias or rollback still refers to them (safe mode only)."""
    kept_generations: list[int]
    """Generations, ascending, of which at least one tree was kept."""
    unknown_generations: list[int]
    """Requested generations that had no stored tree (never stored or already deleted)."""


class EndpointState(NamedTuple):
    """Snapshot of one endpoint's control record."""

    id: int
    name: str
    alias: int | None
    """Generation of the active tree, or None before the first flip."""
    rollback: int | None
    """Generation the alias held before the last flip."""
    version: int
    """Bumped by every applied flip (the compare value of ``mode="exact"``)."""
    lease_holder: str | None
    """Holder of the last granted lease, None if never granted or released."""
    lease_token: int
    """Fencing token of that lease (0 if none)."""
    lease_expiry: float
    """Expiry time of that lease (0.0 if none); a lease is live while now < expiry."""
    highest_fence: int
    """Highest fencing token issued or accepted for this endpoint."""
