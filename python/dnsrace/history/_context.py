"""Who calls a recording store: the context variables the binding reads at each call while a
store records (docs/guide/histories.md, "Clients").

asyncio runs each task in its own context, and ``asyncio.to_thread`` runs its function in a
copy of the calling task's, so a value set in a task holds in the threads it starts. A new
thread starts with an empty context: a value set in a thread holds there only.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

__all__ = ["TASK", "TOLD", "record_tasks"]

TASK: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "dnsrace_history_task", default=None
)
"""The ``id()`` of the asyncio task whose context this is (set when the task is created under
:func:`record_tasks`, else at its first recorded call on its loop)."""

TOLD: contextvars.ContextVar[dict[int, tuple[int, int | None]] | None] = contextvars.ContextVar(
    "dnsrace_history_told", default=None
)
"""``{recorder id: (client, owner)}`` from ``set_history_context``: ``owner`` is the ``id()``
of the task that told (``None`` outside a task). A task does not take the values of the task
that created it."""


def _factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any] | Any, **kwargs: Any
) -> asyncio.Task[Any]:
    context = kwargs.pop("context", None)
    if context is None:
        context = contextvars.copy_context()
    task = asyncio.Task(coro, loop=loop, context=context, **kwargs)
    context.run(TASK.set, id(task))
    return task


def record_tasks(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Make every task created on ``loop`` (default: the running one) from now on a history
    client of its own from its creation, so that even a task whose only store calls go
    through ``asyncio.to_thread`` records as itself. Without it a task is its own client from
    its first store call made on the loop. Does nothing if the loop has another task factory
    (``InvalidArgument`` is not raised: the thread then stays the client)."""
    loop = loop if loop is not None else asyncio.get_running_loop()
    if loop.get_task_factory() is None:
        loop.set_task_factory(_factory)
