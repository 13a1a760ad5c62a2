"""The simulator's two clocks: the virtual loop of :mod:`dnsrace.clock`, or real time.

The simulator's coroutines only ever use ``asyncio.sleep`` and ``loop.time()``, so the same
planner, enactor and metrics code runs on both clocks:

* ``virtual``: :class:`dnsrace.clock.VirtualEventLoop` (deterministic, virtual time; the public
  module documents it for other simulations).
* ``real``: a uvloop loop (asyncio's own loop on Windows, which uvloop does not support); time
  is ``loop.time()`` (monotonic seconds).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from dnsrace.clock import Schedule, VirtualDeadlock, VirtualEventLoop

ClockKind = Literal["virtual", "real"]
T = TypeVar("T")

__all__ = ["ClockKind", "VirtualDeadlock", "VirtualEventLoop", "new_loop", "run"]


def new_loop(kind: ClockKind, schedule: Schedule | None = None) -> asyncio.AbstractEventLoop:
    """A fresh event loop of the given kind (``real`` needs uvloop and takes no schedule)."""
    if kind == "virtual":
        return VirtualEventLoop(schedule=schedule)
    if schedule is not None:
        raise ValueError("a schedule needs the virtual clock")
    if kind == "real":
        if sys.platform == "win32":
            return asyncio.new_event_loop()
        import uvloop

        return uvloop.new_event_loop()
    raise ValueError(f"unknown clock {kind!r}: expected 'virtual' or 'real'")


def run(
    main: Callable[[], Coroutine[Any, Any, T]],
    kind: ClockKind,
    schedule: Schedule | None = None,
) -> T:
    """Run ``main()`` to completion on a new loop of the given kind and close the loop."""
    loop = new_loop(kind, schedule)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        return runner.run(main())
