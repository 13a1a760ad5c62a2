"""Write disciplines: four orthogonal knobs and the named presets (docs/guide/incident.md).

Knobs
-----
guard (where the "is this plan newer?" check happens)
    ``none``        no check at all: every flip is last-write-wins.
    ``plan_start``  once, when the enactor picks the plan up (the 2025 enactor).
    ``under_lock``  per batch, reading the aliases while holding the leases, then writing
                    (read-then-write: safe only while the lease is really still held).
    ``fence``       ``under_lock`` plus the lease's fencing token sent with the write, so the
                    store refuses a write from a holder whose lease was taken over.
    ``store_cas``   the store flips iff plan generation > alias, atomically (``if_newer``).
    Every guard except ``none`` also does the cheap plan-start check; the knob names the check
    that decides.
lock
    ``none``        no lock.
    ``lease``       a per-endpoint lease (TXT-record lock: holder + expiry), taken for a whole
                    batch; contention aborts the batch, which is retried with exponential
                    backoff and jitter.
cleanup (after an enactor finishes a plan it deletes plans older than it minus ``trees_kept``:
    it lists the stored generations, then deletes the old ones one by one, each a store call of
    its own with scheduling points between)
    ``unsafe_age``  delete by age only, even trees some alias or rollback still points at
                    (the 2025 clean-up; ``delete_plans(safe=False)``).
    ``checked``     read every alias and rollback first, then delete the old generations no
                    endpoint uses, in later steps: check-then-act, still racy.
    ``safe``        the same selection as ``unsafe_age``, but each delete is one atomic store
                    step that keeps every tree an alias or a rollback refers to
                    (``delete_plans(safe=True)``).
trees_kept
    how many generations below the applied one survive clean-up.
on_dangling (what an enactor does when the store refuses a flip because the endpoint's active
tree is gone and the rollback cannot be recorded)
    ``stuck``       nothing: the answer is not handled, so the endpoint takes no later plan
                    until an operator repairs it (2025).
    ``repair``      flip those endpoints again without recording a rollback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final, Literal, get_args

Guard = Literal["none", "plan_start", "under_lock", "fence", "store_cas"]
Lock = Literal["none", "lease"]
Cleanup = Literal["unsafe_age", "checked", "safe"]
OnDangling = Literal["stuck", "repair"]

GUARDS: Final[tuple[str, ...]] = get_args(Guard)
LOCKS: Final[tuple[str, ...]] = get_args(Lock)
CLEANUPS: Final[tuple[str, ...]] = get_args(Cleanup)
ON_DANGLING: Final[tuple[str, ...]] = get_args(OnDangling)

DEFAULT_TREES_KEPT: Final = 3

__all__ = [
    "ABLATIONS",
    "ALL",
    "CLEANUPS",
    "DEFAULT_TREES_KEPT",
    "EXTRA",
    "GUARDS",
    "KNOWN",
    "LOCKS",
    "ON_DANGLING",
    "PRESETS",
    "Discipline",
    "DisciplineError",
    "resolve_names",
]


class DisciplineError(ValueError):
    """An impossible knob combination or an unknown preset name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Discipline:
    """One write discipline, named, built from the four knobs."""

    name: str
    guard: Guard
    lock: Lock
    cleanup: Cleanup
    trees_kept: int = DEFAULT_TREES_KEPT
    on_dangling: OnDangling = "stuck"

    def __post_init__(self) -> None:
        if self.guard not in GUARDS:
            raise DisciplineError("guard", f"unknown guard {self.guard!r} (one of {GUARDS})")
        if self.lock not in LOCKS:
            raise DisciplineError("lock", f"unknown lock {self.lock!r} (one of {LOCKS})")
        if self.cleanup not in CLEANUPS:
            raise DisciplineError(
                "cleanup", f"unknown cleanup {self.cleanup!r} (one of {CLEANUPS})"
            )
        if self.on_dangling not in ON_DANGLING:
            raise DisciplineError(
                "on_dangling", f"unknown on_dangling {self.on_dangling!r} (one of {ON_DANGLING})"
            )
        if self.guard in ("under_lock", "fence") and self.lock != "lease":
            raise DisciplineError(
                "guard", f"guard {self.guard!r} checks under the lock and needs lock = 'lease'"
            )
        if isinstance(self.trees_kept, bool) or not isinstance(self.trees_kept, int):
            raise DisciplineError("trees_kept", "must be an integer")
        if self.trees_kept < 0:
            raise DisciplineError("trees_kept", f"must be >= 0, got {self.trees_kept}")

    @property
    def flip_mode(self) -> Literal["lww", "if_newer"]:
        """The store mode of this discipline's flips."""
        return "if_newer" if self.guard == "store_cas" else "lww"

    @property
    def safe_cleanup(self) -> bool:
        return self.cleanup == "safe"

    def knobs(self) -> dict[str, str | int]:
        """The knob settings, for reports."""
        return {
            "guard": self.guard,
            "lock": self.lock,
            "cleanup": self.cleanup,
            "trees_kept": self.trees_kept,
            "on_dangling": self.on_dangling,
        }

    def with_trees_kept(self, trees_kept: int) -> Discipline:
        return dataclasses.replace(self, trees_kept=trees_kept)


PRESETS: Final[dict[str, Discipline]] = {
    d.name: d
    for d in (
        Discipline("lww", "none", "none", "unsafe_age"),
        Discipline("aws2025", "plan_start", "lease", "unsafe_age"),
        Discipline("lease", "under_lock", "lease", "unsafe_age"),
        Discipline("fenced", "fence", "lease", "safe"),
        Discipline("cas", "store_cas", "none", "safe"),
    )
}
"""The five presets of the design: lww, aws2025, lease, fenced, cas."""

ABLATIONS: Final[dict[str, Discipline]] = {
    d.name: d
    for d in (
        # The 2025 enactor with only the clean-up fixed: no more empty answers, but a stale
        # plan can still overwrite a newer one.
        Discipline("aws2025+safe_cleanup", "plan_start", "lease", "safe"),
        # ... and with a write-time generation check as well: the stale flip is gone too.
        Discipline("aws2025+safe_cleanup+store_cas", "store_cas", "lease", "safe"),
    )
}
"""The 2025 discipline with one fix at a time, so each fix's share is visible."""

EXTRA: Final[dict[str, Discipline]] = {
    d.name: d
    for d in (
        # Clean-up that looks before it deletes, in separate steps: still loses live trees.
        Discipline("aws2025+checked_cleanup", "plan_start", "lease", "checked"),
        # The dangling answer handled: flip again without a rollback instead of sticking.
        Discipline("aws2025+repair_dangling", "plan_start", "lease", "unsafe_age", 3, "repair"),
    )
}
"""More one-knob variants, run by name (``all`` leaves them out to keep the table narrow)."""

ALL: Final[tuple[str, ...]] = (*PRESETS, *ABLATIONS)
"""What ``all`` expands to, in report order."""

KNOWN: Final[dict[str, Discipline]] = {**PRESETS, **ABLATIONS, **EXTRA}


def resolve_names(names: tuple[str, ...] | list[str], field: str = "discipline") -> list[str]:
    """Expand ``all`` and check every name is a preset or ablation (order kept, no repeats)."""
    out: list[str] = []
    for name in names:
        expanded = ALL if name == "all" else (name,)
        for n in expanded:
            if n not in KNOWN:
                raise DisciplineError(
                    field, f"unknown preset {n!r} (one of {', '.join(KNOWN)} or 'all')"
                )
            if n not in out:
                out.append(n)
    return out


def lookup(name: str) -> Discipline:
    """The preset or ablation called ``name``."""
    found = KNOWN.get(name)
    if found is None:
        raise DisciplineError("discipline", f"unknown preset {name!r}")
    return found
