"""What every page this package writes shares: one look, no external resources (pictures are
inlined as data URIs), so a page opens the same from a laptop folder, a GCS console download
or KFP's HTML artifact viewer."""

from __future__ import annotations

import base64
import html
from typing import Any

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1100px;
       color: #222; }
table { border-collapse: collapse; }
th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
th { font-weight: normal; color: #555; } img { max-width: 100%; }
tr.bad td, tr.bad th { color: #c62828; font-weight: bold; }
.verdict { padding: .6em 1em; border-radius: 6px; color: white; display: inline-block; }
.yes { background: #2e7d32; } .no { background: #c62828; }
"""


def head(title: str) -> str:
    """The start of every page this package writes: one look, no external resources."""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
        f"<style>{STYLE}</style></head><body>"
    )


def figure_section(key: str, title: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<section id="{key}"><h2>{title}</h2><p>{html.escape(caption)}</p>'
        f'<img alt="{title}" src="data:image/png;base64,{data}"></section>'
    )


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))
