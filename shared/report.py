"""index.html: a self-contained storyboard page. STUB: the report work fills this in."""

from __future__ import annotations

import html

from shared.contracts import Storyboard


def render_html(board: Storyboard) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(board.title)}</title></head><body></body></html>"
