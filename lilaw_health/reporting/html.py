"""Render report sections as one self-contained HTML5 page, or as Markdown.

The HTML page carries its own CSS and embeds every image as a base64 data URI, so a report
can be mailed, archived or opened offline and never fetches anything; a Content-Security-
Policy forbids it from trying. All text is escaped, because config values, class names and
sample ids come from data files and may contain markup.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from os import PathLike
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from lilaw_health import __version__
from lilaw_health.core.errors import InputError

PARAGRAPHS_NOT_STR = (
    "Section {heading!r}: paragraphs must be a list of strings; received a single str. "
    "Wrap it in a list: paragraphs=[text]."
)
NOT_PNG = "{path} is not a PNG file (wrong signature); the HTML report embeds images as image/png."
MISSING = "n/a"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232a;
       background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.7rem; border-bottom: 2px solid #d0d7de; padding-bottom: .4rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; white-space: nowrap; }
thead th { background: #f3f5f7; }
tbody tr:nth-child(even) { background: #fafbfc; }
figure { margin: 1rem 0; }
img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .8rem; overflow-x: auto;
      font-size: .85rem; }
footer { color: #57606a; font-size: .8rem; margin-top: 3rem; }
"""
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="generator" content="lilaw_health {version}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
<footer>Written by lilaw_health {version}.</footer>
</main>
</body>
</html>
"""


@dataclass(frozen=True, eq=False)
class Section:
    """One titled block of a report; its parts are shown in the order of the fields.

    Parameters
    ----------
    heading : str
        Section title.
    paragraphs : sequence of str, optional
        Plain-text paragraphs.
    table : pandas.DataFrame, optional
        Shown without its index; floats with 4 decimals, missing values as "n/a".
    image : str or path-like, optional
        A PNG file: embedded in HTML, linked by file name in Markdown (which therefore
        expects the PNG in the same folder).
    preformatted : str, optional
        Text shown verbatim in monospace, e.g. the resolved YAML config.
    """

    heading: str
    paragraphs: Sequence[str] = ()
    table: pd.DataFrame | None = None
    image: str | PathLike[str] | None = None
    preformatted: str | None = None

    def __post_init__(self) -> None:
        # A bare str is a Sequence[str] too, and would render one paragraph per character.
        if isinstance(self.paragraphs, str):
            raise InputError(PARAGRAPHS_NOT_STR.format(heading=self.heading))
        object.__setattr__(self, "paragraphs", tuple(self.paragraphs))


def format_cell(value: object) -> str:
    """Text of one table cell: floats with 4 decimals, None/NaN/NA as "n/a"."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return MISSING
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def render_html(title: str, sections: Sequence[Section]) -> str:
    """Render ``sections`` as a complete, self-contained HTML5 page.

    Parameters
    ----------
    title : str
        Page title, also shown as the top heading.
    sections : sequence of Section
        The report body, in order.

    Returns
    -------
    str
        The page. It loads nothing from outside: CSS is inline and images are data URIs.
    """
    body = "\n".join(_html_section(section) for section in sections)
    return _PAGE.format(title=escape(title), version=escape(__version__), css=_CSS, body=body)


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    """Render ``sections`` as Markdown (GitHub flavour, pipe tables).

    Images become relative links to the PNG file name. Table cells are escaped (``\\``,
    ``|`` and ``<``) so that data can neither break a table nor inject HTML.
    """
    blocks = [f"# {title}"]
    for section in sections:
        blocks.append(f"## {section.heading}")
        blocks.extend(section.paragraphs)
        if section.table is not None:
            blocks.append(markdown_table(section.table))
        if section.image is not None:
            blocks.append(f"![{section.heading}]({quote(Path(section.image).name)})")
        if section.preformatted is not None:
            blocks.append(_markdown_code(section.preformatted))
    return "\n\n".join(blocks) + "\n"


def _html_section(section: Section) -> str:
    parts = ["<section>", f"<h2>{escape(section.heading)}</h2>"]
    parts.extend(f"<p>{escape(text)}</p>" for text in section.paragraphs)
    if section.table is not None:
        parts.append(_html_table(section.table))
    if section.image is not None:
        parts.append(_html_image(Path(section.image), alt=section.heading))
    if section.preformatted is not None:
        parts.append(f"<pre>{escape(section.preformatted)}</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(name))}</th>" for name in frame.columns)
    rows = [
        "<tr>" + "".join(f"<td>{escape(format_cell(value))}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    ]
    body = "\n".join(rows)
    return f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>'


def _html_image(path: Path, *, alt: str) -> str:
    data = path.read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise InputError(NOT_PNG.format(path=path))
    encoded = base64.b64encode(data).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{encoded}"></figure>'


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of a data frame, cells formatted as in the reports."""
    lines = [_markdown_row(str(name) for name in frame.columns), _markdown_row("---" for _ in frame.columns)]
    lines.extend(_markdown_row(format_cell(value) for value in row) for row in frame.itertuples(index=False, name=None))
    return "\n".join(lines)


def _markdown_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |"


def _markdown_cell(text: str) -> str:
    # Backslashes first, so that an escaped pipe cannot be un-escaped by a preceding "\".
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")
    return " ".join(escaped.splitlines())


def _markdown_code(text: str) -> str:
    # The fence must be longer than any run of backticks inside the text to contain it.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text.rstrip("\n")
    return f"{fence}\n{body}\n{fence}"
