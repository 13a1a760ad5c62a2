"""One rule for a test whose server, tool or build is missing: skip it, unless ``make test``
said it must be there (it installs everything and sets ``DNSRACE_REQUIRE_<WHAT>``), in which
case the run fails instead of passing with the test left out."""

from __future__ import annotations

import os

import pytest


def require(present: bool, what: str, reason: str) -> None:
    """Return if ``present``; otherwise fail under ``DNSRACE_REQUIRE_{what}``, else skip."""
    if present:
        return
    variable = f"DNSRACE_REQUIRE_{what}"
    if os.environ.get(variable):
        pytest.fail(f"{reason} but {variable} is set")
    pytest.skip(reason)
