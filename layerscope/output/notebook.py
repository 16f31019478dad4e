"""The notebook renderers (`Analysis.layers_df()`, `_repr_html_`, `Comparison.document()` ...), registered in
layerscope/renderhooks.py by `layerscope/__init__.py`. Each one imports its module when first called, so that
`import layerscope` loads neither pandas nor the renderers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from layerscope import renderhooks

if TYPE_CHECKING:
    import pandas as pd

FRAMES = (
    "layers_df",
    "files_df",
    "packages_df",
    "categories_df",
    "history_df",
    "waste_df",
    "compare_layers_df",
    "compare_packages_df",
    "compare_categories_df",
    "rebuild_df",
)
HTML = ("analysis_html", "comparison_html")
DOCUMENTS = ("compare_document",)


def _frame(name: str) -> Callable[..., pd.DataFrame]:
    def render(*args: Any) -> pd.DataFrame:
        from layerscope.output import frames

        fn: Callable[..., pd.DataFrame] = getattr(frames, name)
        return fn(*args)

    return render


def _html(name: str) -> Callable[..., str]:
    def render(*args: Any) -> str:
        from layerscope.output import html

        fn: Callable[..., str] = getattr(html, name)
        return fn(*args)

    return render


def _document(name: str) -> Callable[..., dict[str, Any]]:
    def render(*args: Any) -> dict[str, Any]:
        from layerscope.output import json

        fn: Callable[..., dict[str, Any]] = getattr(json, name)
        return fn(*args)

    return render


def register() -> None:
    renderhooks.register(
        {n: _frame(n) for n in FRAMES}, {n: _html(n) for n in HTML}, {n: _document(n) for n in DOCUMENTS}
    )
