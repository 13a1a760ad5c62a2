"""Runs a body in several threads at once, for the tests of thread safety in every part."""

from __future__ import annotations

import threading
from collections.abc import Callable

THREADS = 8


def run_threads(target: Callable[[int], None], n: int = THREADS) -> None:
    """Calls ``target(k)`` for k in 0..n-1, each in its own thread, all released together by a
    barrier; re-raises in the caller the first exception a thread raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(k: int) -> None:
        try:
            barrier.wait()
            target(k)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
