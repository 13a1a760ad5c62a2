"""One module per command. Each has ``register(subparsers)``, which adds its parser and sets
its handler: ``dnsrace.app.cli`` dispatches every command the same way, through the doors."""

from __future__ import annotations

from types import ModuleType

__all__ = ["modules"]


def modules() -> list[ModuleType]:
    """The command modules, in the order ``dnsrace --help`` lists them."""
    from dnsrace.app.commands import (
        check,
        collapse,
        dist,
        explore,
        incident,
        modes,
        run,
        schema,
        view,
    )

    return [incident, collapse, view, run, explore, check, dist, modes, schema]
