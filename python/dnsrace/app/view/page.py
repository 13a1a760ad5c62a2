"""Assemble one self-contained HTML page: the inline style, the data as JSON, the script."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

__all__ = ["json_for_script", "page"]


def _asset(name: str) -> str:
    return resources.files("dnsrace.app.view").joinpath("assets", name).read_text("utf-8")


# Every character that could end the script element, open an HTML comment inside it (``<!--``
# switches the parser to a state where ``</script>`` no longer ends it: a blank page), or end a
# JavaScript string (U+2028/2029 in older engines), written as a JSON escape: the same string
# to JSON.parse, inert to the HTML parser.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def json_for_script(data: Any) -> str:
    """JSON that no string inside can end or comment out the ``<script>`` it sits in."""
    import orjson

    return orjson.dumps(data).decode("utf-8").translate(_SCRIPT_ESCAPES)


def page(title: str, data: dict[str, Any]) -> str:
    """The whole HTML document for ``data`` (``data["kind"]``: ``run`` or ``history``)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<style>\n{_asset('style.css')}</style>\n"
        "</head><body>\n"
        f"<header><h1>{html.escape(title)}</h1>"
        '<div id="controls"></div></header>\n'
        '<main id="panels"></main>\n'
        '<div id="tip" role="tooltip"></div>\n'
        f'<script type="application/json" id="dnsrace-data">{json_for_script(data)}</script>\n'
        f"<script>\n{_asset('timeline.js')}</script>\n"
        "</body></html>\n"
    )
