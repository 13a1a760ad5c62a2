"""The run's timeline: the regional endpoint's flips, the enactors' passes, windows of
automation off, lock waits, pauses, crashes, clean-ups, repairs and the fleet's empty counts,
as the metrics collector records them for the report and the plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Pass", "RegionalFlip", "RegionalTimeline", "Window"]


@dataclass
class Window:
    """A time interval; ``end`` is None while it is still open."""

    start: float
    end: float | None = None


@dataclass
class RegionalFlip:
    """One flip attempt on the regional endpoint, for the timeline."""

    t: float
    actor: str
    generation: int
    published_at: float
    before: int | None
    after: int | None
    outcome: str
    """``advanced``, ``stale`` (applied, lowered the alias), ``same``, ``refused`` (generation
    check), ``fenced``, ``missing`` (tree deleted), ``stuck`` (not attempted: the alias
    dangles) or ``repair``."""


@dataclass
class Pass:
    """One enactor's pass with one plan: from pick-up to the end of its walk (or its fate)."""

    actor: str
    generation: int
    start: float
    end: float | None = None
    result: str = "open"
    """``applied`` (walked to the end), ``skipped`` (the start check refused it),
    ``abandoned`` (its tree was deleted under it), ``crashed`` or ``open`` (run ended)."""


@dataclass
class RegionalTimeline:
    """What the HTML timeline draws: the regional endpoint's story and the fleet's events.

    ``flips``, ``empty`` and ``stuck`` concern the regional endpoint only; the rest is the
    whole fleet (every enactor's passes, lock waits, pauses and crashes, every clean-up call,
    the fleet's count of empty and stuck endpoints whenever it changes)."""

    name: str
    flips: list[RegionalFlip] = field(default_factory=list)
    empty: list[Window] = field(default_factory=list)
    stuck: list[Window] = field(default_factory=list)
    publications: dict[int, float] = field(default_factory=dict)
    automation_off: list[Window] = field(default_factory=list)
    """From each alarm (the operator turns the enactors off) to the repair (back on)."""
    end: float = 0.0
    passes: list[Pass] = field(default_factory=list)
    lock_waits: list[tuple[float, str, float]] = field(default_factory=list)
    """(time, enactor, backoff seconds) of every failed batch lock attempt."""
    pauses: list[tuple[float, str, float]] = field(default_factory=list)
    """(time, enactor, seconds) of every pause that struck an enactor."""
    crashes: list[tuple[float, str]] = field(default_factory=list)
    cleanups: list[tuple[float, str, int, int, int]] = field(default_factory=list)
    """(time, enactor, generation, trees deleted, trees kept) of every clean-up delete."""
    repairs: list[tuple[float, int]] = field(default_factory=list)
    """(time, endpoints repaired) of every operator repair."""
    fleet: list[tuple[float, int, int]] = field(default_factory=list)
    """(time, empty endpoints, stuck endpoints), appended whenever either count changes."""

    def __repr__(self) -> str:
        # Short: asyncio's runner formats the finished main task's result (the run's
        # timeline among it) when it restores the SIGINT handler, and a whole timeline's
        # repr took a few percent of a run.
        return (
            f"RegionalTimeline({self.name!r}, end={self.end}, flips={len(self.flips)}, "
            f"passes={len(self.passes)}, fleet={len(self.fleet)})"
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (docs/reference/json.md: ``timelines``); times in run seconds."""

        def windows(ws: list[Window]) -> list[list[float | None]]:
            return [[w.start, w.end] for w in ws]

        return {
            "endpoint": self.name,
            "end": self.end,
            "publications": [[g, t] for g, t in sorted(self.publications.items())],
            "flips": [
                {
                    "t": f.t,
                    "actor": f.actor,
                    "generation": f.generation,
                    "published_at": f.published_at,
                    "before": f.before,
                    "after": f.after,
                    "outcome": f.outcome,
                }
                for f in self.flips
            ],
            "empty": windows(self.empty),
            "stuck": windows(self.stuck),
            "automation_off": windows(self.automation_off),
            "passes": [
                {
                    "actor": p.actor,
                    "generation": p.generation,
                    "start": p.start,
                    "end": p.end,
                    "result": p.result,
                }
                for p in self.passes
            ],
            "lock_waits": [list(x) for x in self.lock_waits],
            "pauses": [list(x) for x in self.pauses],
            "crashes": [list(x) for x in self.crashes],
            "cleanups": [list(x) for x in self.cleanups],
            "repairs": [list(x) for x in self.repairs],
            "fleet": [list(x) for x in self.fleet],
        }
