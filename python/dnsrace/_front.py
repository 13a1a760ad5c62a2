"""The flip calls of the pure-Python stores (the reference and the etcd store), declared once.

``flip`` and ``flip_many`` are the calls with the most arguments; both stores answer them with
the signatures that ``dnsrace._api.Store`` declares, and each decides a call in its own way.
So the public methods live here, once, and hand the call, as one value, to the store's
``_flip_call`` or ``_flip_many_call`` (the arguments are checked there: ``dnsrace._rules``).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from dnsrace._types import Endpoint, Endpoints, Ints, Mode

__all__ = ["FlipFront", "FlipMany", "FlipOne"]


class FlipOne(NamedTuple):
    """The arguments of one ``flip`` call, as given (unchecked)."""

    endpoint: Endpoint
    generation: int
    mode: Mode
    expected_version: int | None
    fence: int | None
    rollback: bool


class FlipMany(NamedTuple):
    """The arguments of one ``flip_many`` call, as given (unchecked)."""

    endpoints: Endpoints | None
    generation: int
    mode: Mode
    expected_versions: Ints | None
    fence: int | Ints | None
    rollback: bool
    outcomes: bool | Literal["array", "numpy"]


class FlipFront:
    """``flip`` and ``flip_many`` with the API's signatures (semantics: ``dnsrace._api``)."""

    def flip(
        self,
        endpoint: Endpoint,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_version: int | None = None,
        fence: int | None = None,
        rollback: bool = True,
    ) -> bool:
        """Point the endpoint's alias at ``generation``'s tree; the old alias becomes the
        rollback. True if applied, False if refused by the fence or the mode's condition."""
        return self._flip_call(
            FlipOne(endpoint, generation, mode, expected_version, fence, rollback)
        )

    def flip_many(
        self,
        endpoints: Endpoints | None,
        generation: int,
        mode: Mode = "if_newer",
        *,
        expected_versions: Ints | None = None,
        fence: int | Ints | None = None,
        rollback: bool = True,
        outcomes: bool | Literal["array", "numpy"] = False,
    ) -> Any:  # FlipCounts, or a FlipResult with ``outcomes`` (typed by dnsrace._api.Store)
        """``flip`` for many endpoints in one call (``None``: every endpoint, in id order);
        with ``outcomes``, also each position's outcome code and previous alias."""
        return self._flip_many_call(
            FlipMany(endpoints, generation, mode, expected_versions, fence, rollback, outcomes)
        )

    def _flip_call(self, call: FlipOne) -> bool:
        raise NotImplementedError

    def _flip_many_call(self, call: FlipMany) -> Any:
        raise NotImplementedError
