"""Assemble one self-contained HTML page: the inline style, the data as JSON, the script."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

import orjson

__all__ = ["page"]


def _asset(name: str) -> str:
    return resources.files("dnsrace.app.view").joinpath("assets", name).read_text("utf-8")


def _json_for_script(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in (``</`` and ``<!--``)."""
    text = orjson.dumps(data).decode("utf-8")
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


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
        f'<script type="application/json" id="dnsrace-data">{_json_for_script(data)}</script>\n'
        f"<script>\n{_asset('timeline.js')}</script>\n"
        "</body></html>\n"
    )
