"""The store API: :class:`Store`, the Protocol every store satisfies.

Its calls are declared, once and with their documentation, in ``_api.pyi``, which type
checkers and the docs read; a Protocol has no behaviour, so at run time only the name exists
(``help(dnsrace.RecordStore)`` documents every call).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

__all__ = ["Store"]

_PlanT = TypeVar("_PlanT", contravariant=True)


class Store(Protocol[_PlanT]):
    """The store API: every call that the Rust store, the reference and the etcd store all
    answer (declared in ``dnsrace/_api.pyi``; ``Store`` alone takes plans of any class)."""
