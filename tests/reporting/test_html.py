"""Tests of lilaw_health.reporting.html: self-contained, escaped HTML and Markdown."""

from __future__ import annotations

import base64
import dataclasses
import re
from html import escape

import numpy as np
import pandas as pd
import pytest

from lilaw_health.core.errors import InputError
from lilaw_health.reporting.html import (
    NOT_PNG,
    PARAGRAPHS_NOT_STR,
    Section,
    format_cell,
    render_html,
    render_markdown,
)
from lilaw_health.reporting.plots import plot_lilaw_scalars

HOSTILE_TEXT = "<script>alert(1)</script>"
HOSTILE_COLUMN = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def png(tmp_path, trajectory):
    return plot_lilaw_scalars(trajectory, tmp_path / "scalars.png")


def hostile_sections(png) -> list[Section]:
    table = pd.DataFrame({HOSTILE_COLUMN: [HOSTILE_TEXT, "ok"], "score": [0.5, np.nan]})
    return [
        Section(HOSTILE_TEXT, paragraphs=[HOSTILE_TEXT, "a & b"], table=table),
        Section("Figure", image=png),
        Section("Configuration", preformatted=f"model:\n  name: '{HOSTILE_TEXT}'\n"),
    ]


def test_page_is_well_formed_and_self_contained(check_page, png):
    page = render_html("Run <1>", hostile_sections(png))

    parsed = check_page(page)

    assert parsed.tags.count("img") == 1
    assert "<title>Run &lt;1&gt;</title>" in page
    assert "<style>" in page and "<link" not in page


def test_hostile_text_appears_only_escaped(check_page, png):
    page = render_html(HOSTILE_TEXT, hostile_sections(png))

    check_page(page)
    assert HOSTILE_TEXT not in page
    assert HOSTILE_COLUMN not in page
    assert escape(HOSTILE_COLUMN) in page
    assert page.count(escape(HOSTILE_TEXT)) == 6  # title, h1, heading, paragraph, cell, config
    assert "src=x" not in re.sub(r"&lt;img src=x", "", page)


def test_image_is_embedded_byte_for_byte(png):
    page = render_html("t", [Section("Figure", image=png)])

    encoded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page).group(1)

    assert base64.b64decode(encoded) == png.read_bytes()


def test_table_cells_are_formatted():
    table = pd.DataFrame({"metric": ["a", "b", "c"], "value": pd.Series([0.93125, 40, None], dtype=object)})

    page = render_html("t", [Section("S", table=table)])

    assert "<td>0.9312</td>" in page or "<td>0.9313</td>" in page
    assert "<td>40</td>" in page
    assert "<td>n/a</td>" in page
    assert "<th>metric</th><th>value</th>" in page


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.5, "0.5000"), (np.float32(0.25), "0.2500"), (3, "3"), (np.int64(7), "7"), (True, "True"),
     (None, "n/a"), (float("nan"), "n/a"), (pd.NA, "n/a"), ("x", "x")],
)
def test_format_cell(value, expected):
    assert format_cell(value) == expected


def test_markdown_escapes_pipes_backslashes_html_and_newlines():
    table = pd.DataFrame({"a|b": ["x|y", "back\\|slash", "two\nlines", HOSTILE_TEXT]})

    markdown = render_markdown("T", [Section("S", table=table)])

    lines = markdown.splitlines()
    header = lines.index("| a\\|b |")
    assert lines[header + 1] == "| --- |"
    assert lines[header + 2:header + 6] == [
        "| x\\|y |",
        "| back\\\\\\|slash |",
        "| two lines |",
        "| \\<script>alert(1)\\</script> |",
    ]


def test_markdown_links_images_by_file_name_and_fences_code(png):
    config = "a: 1\nnote: ```tricky```\n"
    sections = [Section("Figure", paragraphs=["First.", "Second."], image=png),
                Section("Configuration", preformatted=config)]

    markdown = render_markdown("Run", sections)

    assert markdown.startswith("# Run\n\n## Figure\n\nFirst.\n\nSecond.\n\n")
    assert f"![Figure]({png.name})" in markdown
    assert str(png.parent) not in markdown
    assert "````\na: 1\nnote: ```tricky```\n````" in markdown


def test_section_is_frozen_and_rejects_a_bare_string():
    section = Section("S", paragraphs=["p"])

    with pytest.raises(dataclasses.FrozenInstanceError):
        section.heading = "other"  # type: ignore[misc]
    with pytest.raises(InputError, match=re.escape(PARAGRAPHS_NOT_STR.format(heading="S"))):
        Section("S", paragraphs="one paragraph")  # type: ignore[arg-type]


def test_non_png_image_is_refused(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a")

    with pytest.raises(InputError, match=re.escape(NOT_PNG.format(path=fake))):
        render_html("t", [Section("S", image=fake)])
