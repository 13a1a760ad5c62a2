"""Exceptions raised by dnsrace.

Both store implementations (the Rust ``RecordStore`` and the pure-Python
``reference.PyRecordStore``) raise exactly these classes, so code can catch them
without caring which store it runs on. Every bad argument raises a subclass of
:class:`DnsraceError`; value errors also subclass :class:`ValueError` and lookup
errors :class:`KeyError`, so ordinary Python handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "DanglingAlias",
    "DnsraceError",
    "InternalError",
    "InvalidAddress",
    "InvalidArgument",
    "InvalidGeneration",
    "InvalidHistory",
    "InvalidName",
    "InvalidToken",
    "InvalidWeight",
    "LeaseError",
    "LeaseHeld",
    "LeaseLost",
    "OutOfMemory",
    "SnapshotError",
    "StoreUnavailable",
    "TooLarge",
    "UnknownEndpoint",
    "UnknownPlan",
]


class DnsraceError(Exception):
    """Base class of every error dnsrace raises on purpose."""


class InvalidArgument(DnsraceError, ValueError):
    """An argument has the wrong type or an impossible value (mode, size, ttl, time, ...)."""


class InvalidName(InvalidArgument):
    """A DNS name breaks the rules: <= 253 chars, labels 1..63 of letters, digits, hyphen."""


class InvalidAddress(InvalidArgument):
    """A target address is not a valid IPv4 or IPv6 address."""


class InvalidWeight(InvalidArgument):
    """A record weight is not an integer in 0..255 (Route 53's range)."""


class InvalidGeneration(InvalidArgument):
    """A plan generation is not an integer in 1..2**63-1."""


class InvalidToken(InvalidArgument):
    """A fencing token (or expected version) is not an integer in its range."""


class TooLarge(InvalidArgument):
    """A sequence argument has more items than its documented maximum (``MAX_BATCH``,
    2**26 items: docs/reference/bounds.md). Refused from its length alone, before anything is
    allocated or iterated past the bound; the store is unchanged."""


class OutOfMemory(DnsraceError, MemoryError):
    """Memory for a call's working copy or result could not be allocated. Nothing was
    changed; the store stays usable."""


class InvalidHistory(InvalidArgument):
    """A history file cannot be read: truncated, not JSON, a wrong type or field, an unknown
    ``op``, non-monotonic times, a return before its call. The message starts with
    ``line N:``; :attr:`line` is that number (``None`` if the message names none)."""

    @property
    def line(self) -> int | None:
        text = str(self.args[0]) if self.args else ""
        head, _, _ = text.partition(":")
        word, _, number = head.partition(" ")
        return int(number) if word == "line" and number.isdigit() else None


class _LookupMessage(DnsraceError, KeyError):
    # KeyError.__str__ quotes its argument; keep the message readable.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownEndpoint(_LookupMessage):
    """An endpoint name or id is not registered in the store."""


class UnknownPlan(_LookupMessage):
    """A plan generation (or its tree for one endpoint) is not stored."""


class DanglingAlias(DnsraceError):
    """The endpoint's active tree was deleted: a flip cannot record the rollback from it.

    The store refuses such a flip and changes nothing; only a flip with ``rollback=False`` (a
    repair) moves the alias. In 2025 the enactors could not handle this answer, so the
    endpoint took no later plan until an operator repaired it.
    """


class LeaseError(DnsraceError):
    """Base class of lease failures."""


class LeaseHeld(LeaseError):
    """A live lease on the endpoint is held by another holder."""


class LeaseLost(LeaseError):
    """The caller no longer holds the lease (expired, released, or taken over)."""


class SnapshotError(DnsraceError):
    """A snapshot could not be saved or restored: the path is a directory, its directory is
    missing or not writable, or the file is unreadable, truncated, corrupted, of another format
    version or not a dnsrace snapshot. A failed save leaves any previous file in place; a
    failed restore creates no store."""


class InternalError(DnsraceError):
    """A bug inside dnsrace (a Rust panic caught at the boundary). The store is left unchanged."""


class StoreUnavailable(DnsraceError):
    """A distributed store (etcd) cannot be reached, or refused a request, within its deadline."""
