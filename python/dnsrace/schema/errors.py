"""The one error class of configuration input (scenario files, ``[collapse]`` tables, ``--set``)."""

from __future__ import annotations

from dnsrace.errors import DnsraceError

__all__ = ["ScenarioError"]


class ScenarioError(DnsraceError, ValueError):
    """A scenario or collapse configuration is malformed or impossible.

    ``field`` is the dotted path of the culprit (``enactors.lease_ttl_s``,
    ``planner.bursts[0].plans``; empty for the document as a whole). The message is one line:
    ``<field>: <what is wrong>, got <value>``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
