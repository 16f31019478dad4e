"""The notebook's HTML (`Analysis._repr_html_`, `Comparison._repr_html_`, and the DataFrames a
notebook shows) on an image whose text is HTML: every tag and attribute is layerscope's own,
the image's text is shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest

import layerscope
from layerscope.model import Analysis
from layerscope.output.html import packages_table
from tests.support.hostile_text import (
    HTML,
    MARKUP_PACKAGE,
    assert_inert_page,
    assert_plain,
    write_markup_image,
)

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;&lt;img src=x onerror=alert(2)&gt;"


@pytest.fixture(scope="module")
def markup(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    image = write_markup_image(tmp_path_factory.mktemp("markup"))
    return layerscope.analyze(f"docker-archive:{image}", use_cache=False)


def _check(html: str, what: str) -> str:
    assert_inert_page(html, what)
    return assert_plain(html.replace("\n", " ").encode(), what)


def test_analysis_html_shows_image_html_as_text(markup: Analysis) -> None:
    html = _check(markup._repr_html_(), "Analysis._repr_html_")
    assert ESCAPED in html  # the history line, escaped
    assert "<script" not in html and "<img" not in html


def test_comparison_and_packages_html(markup: Analysis, tmp_path: Path) -> None:
    other = layerscope.analyze(f"docker-archive:{write_markup_image(tmp_path, tag='other:1')}", use_cache=False)
    _check(layerscope.compare(other, markup)._repr_html_(), "Comparison._repr_html_")
    assert markup.packages is not None
    table = _check(packages_table(markup), "packages_table")
    assert "pkg" + ESCAPED in table and MARKUP_PACKAGE[1] in table


@pytest.mark.parametrize("frame", ["layers_df", "files_df", "packages_df", "history_df", "waste_df"])
def test_dataframes_display_image_html_as_text(markup: Analysis, frame: str) -> None:
    df = getattr(markup, frame)()
    html = df._repr_html_()  # what a notebook shows (pandas escapes cells by default)
    assert_inert_page(html, frame)
    assert HTML not in html
