"""HTML building blocks for the report: one page, inline CSS, every value escaped.

The page must open offline from a single file, so nothing here links to anything outside it.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from instructmining import __version__

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2125;
       margin: 0; background: #f6f7f9; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 12px; border-top: 1px solid #dde1e6; }
h3 { font-size: 16px; margin: 18px 0 6px; }
nav ol { columns: 2; margin: 8px 0 0; padding-left: 22px; }
a { color: #1f5fbf; }
.meta { color: #5c6670; margin: 0; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 12px; margin: 8px 0; }
.explain { color: #555; font-size: 0.9em; margin: 4px 0 12px; }
.problem { background: #fde8e8; border-left-color: #c62828; }
img { max-width: 100%; height: auto; display: block; margin: 10px 0; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13.5px; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 4px 18px; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
dl.facts.grid { grid-template-columns: repeat(3, max-content minmax(110px, auto)); }
code { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
td.text { max-width: 420px; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: #1f5fbf; }
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute content."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """Format a number compactly (significant digits); missing values show as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return esc(value)
    value = float(value)
    if math.isnan(value):
        return "–"
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.{digits}g}"


def note(text_html: str, problem: bool = False) -> str:
    """A highlighted note; `text_html` must already be escaped."""
    cls = "note problem" if problem else "note"
    return f'<p class="{cls}">{text_html}</p>'


def image(data_uri: str, alt: str) -> str:
    return f'<img src="{data_uri}" alt="{esc(alt)}">'


def facts(items: Iterable[tuple[str, str]], grid: bool = False) -> str:
    """Label/value pairs, one per line or (`grid`) three per line for many short numbers;
    values must already be escaped HTML."""
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="facts{" grid" if grid else ""}">{rows}</dl>'


def table(
    rows: Sequence[Sequence[Any]], header: Sequence[str], text_cols: Sequence[int] = ()
) -> str:
    """A table of rows; numbers are formatted and right-aligned, everything else escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if value is None or (isinstance(value, numbers.Number) and not isinstance(value, bool)):
                cells.append(f'<td class="num">{fmt(value)}</td>')
            elif i in text_cols:
                cells.append(f'<td class="text">{esc(value)}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: a table of contents, then one <h2 id=...> per (id, title, body)."""
    toc = "".join(f'<li><a href="#{esc(sid)}">{esc(t)}</a></li>' for sid, t, _ in sections)
    body = "".join(
        f'<section><h2 id="{esc(sid)}">{esc(t)}</h2>{b}</section>' for sid, t, b in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{esc(title)}</h1><p class="meta">{esc(subtitle)} · instructmining {__version__}</p>'
        f"<nav><ol>{toc}</ol></nav>{body}</main></body></html>\n"
    )
