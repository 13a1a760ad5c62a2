"""Who calls a recording store: the context variables the binding reads at each call while a
store records (docs/guide/store.md, "Histories and dnsrace check").

asyncio runs each task in its own context, and ``asyncio.to_thread`` runs its function in a
copy of the calling task's, so a value set in a task holds in the threads it starts. A new
thread starts with an empty context: a value set in a thread holds there only.

A thread cannot find out which task's context its copy came from (contextvars keeps no such
link), so a task is known in its threads only once something has run *in the task, on the
loop* to set :data:`TASK`. Two things do: the binding, at the task's first recorded call made
on the loop; and the task factory of :func:`record_tasks`, at the task's creation. The first
of those installs the second on its loop (see :meth:`_TaskVar.set`), as does
``dnsrace.clock``'s loop when it is made, so only tasks created before any recorded call on
their loop, on a loop that is not the virtual clock, need :func:`record_tasks` to be known
in threads they start before calling on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

from dnsrace.errors import InvalidArgument

__all__ = ["TASK", "TOLD", "record_tasks"]


class _TaskVar:
    """:data:`TASK`: a context variable (``get``/``set``, which the binding calls) whose
    ``set`` also installs :func:`record_tasks`' factory on the running loop.

    The binding calls ``set`` only on a task's first recorded call made on its loop, so this
    costs one check per task. From then on every task created on that loop is a client of
    its own from its creation, threads included, with nothing for the caller to do."""

    __slots__ = ("_var",)

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "dnsrace_history_task", default=None
        )

    def get(self) -> int | None:
        return self._var.get()

    def set(self, task: int | None) -> contextvars.Token[int | None]:
        token = self._var.set(task)
        loop = asyncio._get_running_loop()
        if loop is not None:
            _install(loop)
        return token


TASK = _TaskVar()
"""The ``id()`` of the asyncio task whose context this is (set when the task is created under
:func:`record_tasks`, else at its first recorded call on its loop)."""

TOLD: contextvars.ContextVar[dict[int, tuple[int, int | None]] | None] = contextvars.ContextVar(
    "dnsrace_history_told", default=None
)
"""``{recorder id: (client, owner)}`` from ``set_history_context``: ``owner`` is the ``id()``
of the task that told (``None`` outside a task). A task does not take the values of the task
that created it."""


def task_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any] | Any, **kwargs: Any
) -> asyncio.Task[Any]:
    """A task factory (``loop.set_task_factory``): an ordinary ``asyncio.Task``, whose own
    context knows it from its creation, so the threads it starts record as that task."""
    context = kwargs.pop("context", None)
    if context is None:
        context = contextvars.copy_context()
    task = asyncio.Task(coro, loop=loop, context=context, **kwargs)
    context.run(TASK._var.set, id(task))
    return task


def _install(loop: asyncio.AbstractEventLoop) -> bool:
    """:func:`task_factory` on ``loop`` unless it has a factory: True if ours is on it."""
    factory = loop.get_task_factory()
    if factory is None:
        loop.set_task_factory(task_factory)
        return True
    return factory is task_factory


def record_tasks(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """Make every task created on ``loop`` (default: the running one) from now on a history
    client of its own from its creation, so that even a task whose only store calls go
    through ``asyncio.to_thread`` records as itself.

    Needed only for tasks created before any recorded call was made on their loop (that call
    installs the same factory), on a loop other than ``dnsrace.clock``'s (whose loop has it
    from the start). Returns False, and changes nothing, if the loop has a task factory of
    its own: threads started by a task that has not called the store on the loop then record
    as the thread, a client of its own (still a valid history)."""
    if loop is None:
        loop = asyncio._get_running_loop()
        if loop is None:
            raise InvalidArgument(
                "record_tasks() outside a running event loop: call it inside the loop"
                " (first thing in your main coroutine) or pass loop="
            )
    elif not isinstance(loop, asyncio.AbstractEventLoop):
        raise InvalidArgument(f"loop must be an asyncio event loop, got {type(loop).__name__}")
    return _install(loop)
