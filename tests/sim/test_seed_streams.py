"""Seeded streams seed themselves at their first use, with the numbers random.Random(key)
gives; the random schedule draws its picks as randrange would."""

from __future__ import annotations

import copy
import hashlib
import pickle
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from dnsrace.clock import RandomSchedule
from dnsrace.seeds import substream


def _eager(seed: int, *names: str) -> random.Random:
    key = "\x1f".join([str(seed), *names]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:16], "big"))


FIRST_USES: list[Callable[[random.Random], Any]] = [
    lambda r: r.random(),
    lambda r: r.randrange(1000),
    lambda r: r.randint(40, 200),
    lambda r: r.uniform(0.0, 2.0),
    lambda r: r.sample(range(50), 5),
    lambda r: r.choice("abc"),
    lambda r: r.lognormvariate(0.0, 1.0),
    lambda r: r.expovariate(2.0),
    lambda r: r.gauss(0.0, 1.0),
    lambda r: r.getrandbits(64),
    lambda r: r.getstate(),
    lambda r: pickle.loads(pickle.dumps(r)).random(),
    lambda r: copy.deepcopy(r).random(),
    lambda r: r.sample([], 0),  # draws nothing: the stream stays unseeded
]


@pytest.mark.parametrize("first", range(len(FIRST_USES)))
def test_a_stream_draws_what_an_eagerly_seeded_one_draws(first: int) -> None:
    lazy, eager = substream(7, "x", str(first)), _eager(7, "x", str(first))
    assert FIRST_USES[first](lazy) == FIRST_USES[first](eager)
    assert [lazy.randrange(1000) for _ in range(100)] == [eager.randrange(1000) for _ in range(100)]
    assert lazy.getstate() == eager.getstate()
    assert type(lazy) is random.Random  # a plain stream once used: no cost per draw


def test_an_unused_stream_is_not_seeded() -> None:
    stream = substream(7, "never")
    assert type(stream) is not random.Random
    assert isinstance(stream, random.Random)


def test_random_schedule_picks_as_randrange_does() -> None:
    schedule, reference = RandomSchedule(11), substream(11, "schedule", "random")
    for n in [1, 2, 3, 5, 7, 2, 9, 16, 17, 1, 4] * 20:
        ready: deque[Any] = deque(range(n))
        assert schedule.pick(ready) == (0 if n == 1 else reference.randrange(n))
