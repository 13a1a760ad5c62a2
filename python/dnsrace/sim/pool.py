"""Worker processes that die with their parent.

A run spread over local processes (``--seeds``, several disciplines side by side) must not
outlive the command that started it. Three ways a parent ends, and what happens to the
workers of :func:`worker_pool`:

* **SIGTERM** to the parent: while a pool is open in the main thread, SIGTERM raises
  :class:`Terminated` there; the pool's exit kills every worker and the command ends with
  status 143 (128 + SIGTERM, docs/reference/exit-codes.md).
* **Ctrl-C** (SIGINT, to the parent alone or to its whole process group): workers ignore
  SIGINT, the parent's ``KeyboardInterrupt`` kills them on the pool's exit; status 130.
* **The parent killed outright** (SIGKILL, a crash): on Linux each worker asked the kernel
  for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``) and checked at start that the
  parent it was started for is still there, so none is left either.

Without this, ``concurrent.futures``' workers of a parent killed by SIGTERM wait forever for
their next job, and a parent stopped by Ctrl-C first waits for every queued job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import concurrent.futures

__all__ = ["EXIT_TERMINATED", "Terminated", "worker_pool"]

EXIT_TERMINATED = 128 + signal.SIGTERM
"""The command's exit status when SIGTERM stopped it (143)."""

_PR_SET_PDEATHSIG = 1


class Terminated(BaseException):
    """SIGTERM reached a parent with workers (a BaseException, as KeyboardInterrupt is: no
    ``except Exception`` on the way up may swallow it)."""


def _die_with_parent(parent: int) -> None:
    """In a worker: SIGKILL when the parent dies (Linux), and Ctrl-C left to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(EXIT_TERMINATED)  # the parent died before the request above took effect


def _init_worker(
    parent: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    _die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kill_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    # The executor has no public way to stop running work before Python 3.14
    # (terminate_workers): its process table is the one handle on the workers.
    processes = dict(getattr(pool, "_processes", None) or {})
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.join(5.0)


@contextlib.contextmanager
def worker_pool(
    workers: int,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """A ``spawn`` process pool of ``workers`` whose workers end with the block: normally
    after their work, on any exception (``Terminated``, ``KeyboardInterrupt``, an error)
    at once, killed, with queued work dropped."""
    # Imported here: the command line imports this module for Terminated at every start.
    import concurrent.futures
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with _sigterm_raises():
        pool = concurrent.futures.ProcessPoolExecutor(
            workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(os.getpid(), initializer, initargs),
        )
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            _kill_workers(pool)
            raise
        pool.shutdown(wait=True)
