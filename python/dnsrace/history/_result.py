"""The checker's result document: one type for ``dnsrace.history.check`` and
``RecordStore.check_history(as_dict=True)`` (docs/guide/checker.md)."""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = ["Bounds", "CheckResult", "DomainViolation", "IllegalWindow"]


class IllegalWindow(TypedDict):
    endpoint: int
    window: list[int]
    reason: str


class DomainViolation(TypedDict):
    check: str
    endpoint: int
    ops: list[int]
    detail: str


class Bounds(TypedDict):
    """The bounds the check ran with: seconds, and states kept in the search's memo."""

    timeout_s: float | None
    max_states: int


class _CheckResultBase(TypedDict):
    op_base: Literal[1]
    verdict: Literal["ok", "illegal", "unknown"]
    operations: int
    endpoints: int
    elapsed_s: float | None
    illegal: IllegalWindow | None
    illegal_endpoints: list[int]
    domain_violations: list[DomainViolation]
    unknown_endpoints: list[int]
    unknown_reason: str | None
    dropped: int
    bounds: Bounds


class CheckResult(_CheckResultBase, total=False):
    """The checker's verdict. Operations are numbered from 1 (``op_base``): op N is the N-th
    operation of the history, ``dnsrace.history.read(...)[N - 1]``, in ``illegal.window``,
    ``domain_violations[].ops``, ``linearizations`` and the texts. ``unknown_reason`` says
    which bound was exceeded, or that the history is truncated (``dropped`` > 0: operations
    the recording ring dropped before it), when the verdict is ``unknown``.
    ``linearizations`` (endpoint as a string -> op numbers in linearised order) only when
    asked for."""

    linearizations: dict[str, list[int]]
