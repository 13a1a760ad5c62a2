"""griffe extension for the API reference: a stub function defined only by ``@overload``s.

``python/dnsrace/_api.pyi`` (the ``Store`` protocol) and ``python/dnsrace/_core.pyi`` declare
``flip_many``, ``aliases``, ``versions``, ... as overloads only (a stub has no implementation),
and griffe keeps such functions in the class's ``overloads`` but not among its members, so the
reference would leave them out. This adds each one as a member: the last (most general)
overload's signature, the docstring written on the first overload, and every overload listed.
It runs as each class is visited, before a stub is merged into its module (``_api.pyi`` into
``_api.py``, whose class has no members of its own: the merge keeps only the stub's members).
"""

from __future__ import annotations

from typing import Any

import griffe


class StubOverloads(griffe.Extension):
    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        for name, overloads in cls.overloads.items():
            if name in cls.members or not overloads:
                continue
            general = overloads[-1]
            general.docstring = next((o.docstring for o in overloads if o.docstring), None)
            general.overloads = list(overloads[:-1])
            cls.set_member(name, general)
