"""griffe extension for the API reference: a stub function defined only by ``@overload``s.

``python/dnsrace/_core.pyi`` declares ``flip_many``, ``aliases``, ``versions``, ... as overloads
only (a stub has no implementation), and griffe keeps such functions in the class's
``overloads`` but not among its members, so the reference would leave them out. This adds each
one as a member: the last (most general) overload's signature, the docstring written on the
first overload, and every overload listed.
"""

from __future__ import annotations

from typing import Any

import griffe


class StubOverloads(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg)

    def _walk(self, obj: Any) -> None:
        for member in list(obj.members.values()):
            if member.is_alias:
                continue
            if member.is_class or member.is_module:
                self._walk(member)
        for name, overloads in getattr(obj, "overloads", {}).items():
            if name in obj.members or not overloads:
                continue
            general = overloads[-1]
            general.docstring = next((o.docstring for o in overloads if o.docstring), None)
            general.overloads = list(overloads[:-1])
            obj.set_member(name, general)
