"""Independent, reproducible random streams derived from one root seed.

Every actor (the planner, each enactor, each kind of fault, the clients) draws from its own
``random.Random`` seeded by a hash of (root seed, stream name). Adding draws to one actor
therefore never shifts another actor's numbers, and the global ``random`` module is never used.
"""

from __future__ import annotations

import _random
import hashlib
import random
from typing import Any

__all__ = ["substream"]


class _UnseededStream(random.Random):
    """A ``random.Random`` that takes its seed at its first use.

    Hashing the stream's name and seeding a Mersenne Twister from it cost about 8 us,
    several streams per run, and a short exploration run leaves most of them undrawn (no
    bursts, no backoff, no repair). At its first use the object seeds itself exactly as
    ``random.Random(key)`` does (key: the hash) and becomes a plain ``random.Random``: the
    same numbers, and no cost per draw after.
    Every draw of ``random.Random`` goes through ``random()`` or ``getrandbits()`` (both
    overridden, so the class keeps ``_randbelow_with_getrandbits``, as ``random.Random``);
    the state methods wake it too.
    """

    _key: bytes

    def __init__(self, key: bytes) -> None:  # no seeding here: that is the point
        # The stream's name; hashed into the seed only at the first draw (most streams of
        # an exploration run are never drawn from).
        self._key = key
        self.gauss_next = None

    # A method bound before the first draw (``_randbelow`` binds ``getrandbits`` once) may
    # still be called after it: each one wakes the stream if needed and calls the C method.
    def random(self) -> float:
        _wake(self)
        return _random.Random.random(self)

    def getrandbits(self, k: int, /) -> int:
        _wake(self)
        return _random.Random.getrandbits(self, k)

    def getstate(self) -> Any:
        _wake(self)
        return random.Random.getstate(self)

    def setstate(self, state: Any) -> None:
        _wake(self)
        random.Random.setstate(self, state)

    def seed(self, *args: Any, **kwargs: Any) -> None:
        _wake(self)
        random.Random.seed(self, *args, **kwargs)

    def __reduce__(self) -> Any:
        _wake(self)
        return random.Random.__reduce__(self)


def _wake(stream: random.Random) -> None:
    """Seed an unseeded stream as ``random.Random(key)`` would, and make it a plain one."""
    name = stream.__dict__.pop("_key", None)
    if name is not None:
        digest = hashlib.sha256(name).digest()
        _random.Random.seed(stream, int.from_bytes(digest[:16], "big"))
        stream.__class__ = random.Random


def substream(seed: int, *names: str) -> random.Random:
    """The random stream called ``names`` under root ``seed`` (same inputs, same numbers)."""
    return _UnseededStream("\x1f".join([str(seed), *names]).encode())
