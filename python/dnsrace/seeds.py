"""Independent, reproducible random streams derived from one root seed.

Every actor (the planner, each enactor, each kind of fault, the clients) draws from its own
``random.Random`` seeded by a hash of (root seed, stream name). Adding draws to one actor
therefore never shifts another actor's numbers, and the global ``random`` module is never used.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["substream"]


def substream(seed: int, *names: str) -> random.Random:
    """The random stream called ``names`` under root ``seed`` (same inputs, same numbers)."""
    key = "\x1f".join([str(seed), *names]).encode()
    digest = hashlib.sha256(key).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))
