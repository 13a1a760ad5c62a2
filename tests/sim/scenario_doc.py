"""What the scenario-file tests share (a helper module, not a test module)."""

from __future__ import annotations

from typing import Any


def set_dotted(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set ``value`` at the dotted ``key`` of a nested document, making the tables on the way;
    where a part on the way is not a table, the document stays as it was."""
    table = doc
    parts = key.split(".")
    for part in parts[:-1]:
        nxt = table.setdefault(part, {})
        if not isinstance(nxt, dict):
            return
        table = nxt
    table[parts[-1]] = value
