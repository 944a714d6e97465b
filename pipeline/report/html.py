"""HTML pieces of the report. Every piece of text goes through ``esc``: problem texts, drop
reasons and teacher names are written by models and users, and must never become markup.

The page loads nothing: styles are inline, images are data: URIs, there is no script, and its
Content-Security-Policy forbids fetching anything else, so it works offline and an escaping
slip still could not run code.
"""

from __future__ import annotations

import html
from typing import Iterable

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; } th, td { padding: .25em .7em; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f6f6f6; } td.n { text-align: right; white-space: nowrap; }
td.text { min-width: 10em; max-width: 36em; overflow-wrap: anywhere; font-size: .9em; color: #444; }
img.plot { max-width: 100%; display: block; margin: .8em 0; }
p.note { color: #666; font-style: italic; } p.caption { color: #666; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def table(
    headers: list[str] | None, rows: Iterable[list[object]], numeric: Iterable[int] = (), text: Iterable[int] = ()
) -> str:
    """A table (no header row when ``headers`` is None); ``numeric`` columns are right-aligned,
    ``text`` columns wrap (long model text)."""
    numeric, text = set(numeric), set(text)

    def cell(i: int, value: object) -> str:
        cls = ' class="n"' if i in numeric else ' class="text"' if i in text else ""
        return f"<td{cls}>{esc(value)}</td>"

    head = "" if headers is None else "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead>"
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def image(png_base64: str, alt: str) -> str:
    return f'<img class="plot" alt="{esc(alt)}" src="data:image/png;base64,{png_base64}">'


def note(text: str) -> str:
    """What a run does not have (a stage, a column): one line instead of a plot."""
    return f'<p class="note">{esc(text)}</p>'


def caption(text: str) -> str:
    return f'<p class="caption">{esc(text)}</p>'


def section(anchor: str, title: str, body: str) -> str:
    """``body`` is HTML already built from escaped pieces."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def page(title: str, header: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request: nothing leaves the page
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n<h1>{esc(title)}</h1>\n{header}\n" + "\n".join(sections) + "\n</body></html>\n"
    )
