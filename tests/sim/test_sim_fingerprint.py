"""The bounded search's fingerprints: one state, one fingerprint, whatever came before."""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any

from dnsrace.sim.fingerprint import _frames


@types.coroutine
def _pause() -> Generator[None, None, None]:
    yield


async def _steps() -> None:
    a = 1
    await _pause()  # 1: b not bound yet
    b = 2
    del a
    await _pause()  # 2: a not bound
    a = 3
    await _pause()  # 3: a and b bound
    assert a + b


def _at_third_pause(read_on_the_way: bool) -> Coroutine[Any, Any, None]:
    coro = _steps()
    for _ in range(3):
        coro.send(None)
        if read_on_the_way:
            _frames(coro)  # reads f_locals while a local is unbound
    return coro


def test_a_frame_read_before_gives_the_same_fingerprint() -> None:
    """CPython 3.11 keeps a frame's f_locals in a dict that a read updates: a local unbound at
    an earlier read is inserted again at its end, so the items' order tells how the state was
    reached (and was read), not what it is."""
    fresh, read = _at_third_pause(False), _at_third_pause(True)
    try:
        assert _frames(read) == _frames(fresh)
        assert dict(_frames(read)[0][2]) == {"a": 3, "b": 2}  # type: ignore[index]
    finally:
        fresh.close()
        read.close()
