"""Where the outputs register the renderers that the results' own methods call.

`Analysis.layers_df()`, `Comparison._repr_html_()`, `Comparison.document()` and the like are what a notebook user
types, so they stay on the results; but the DataFrames, the HTML and the JSON live above the model and
the analysis (layerscope/output/), which must never be imported from below. So the method
asks this table for the renderer by name, and `layerscope/output/notebook.py` fills the table
when `import layerscope` runs (which every import of a submodule does first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

F = TypeVar("F")

_FRAMES: dict[str, Callable[..., pd.DataFrame]] = {}
_HTML: dict[str, Callable[..., str]] = {}
_DOCUMENTS: dict[str, Callable[..., dict[str, Any]]] = {}


def register(
    frames: Mapping[str, Callable[..., pd.DataFrame]],
    html: Mapping[str, Callable[..., str]],
    documents: Mapping[str, Callable[..., dict[str, Any]]],
) -> None:
    _FRAMES.update(frames)
    _HTML.update(html)
    _DOCUMENTS.update(documents)


def frame(name: str, *args: object) -> pd.DataFrame:
    """The DataFrame renderer `name` applied to `args`."""
    return _registered(_FRAMES, name)(*args)


def html(name: str, *args: object) -> str:
    """The HTML renderer `name` applied to `args`."""
    return _registered(_HTML, name)(*args)


def document(name: str, *args: object) -> dict[str, Any]:
    """The JSON document renderer `name` applied to `args`."""
    return _registered(_DOCUMENTS, name)(*args)


def _registered(table: Mapping[str, F], name: str) -> F:
    try:
        return table[name]
    except KeyError:  # only when layerscope/__init__.py did not run: a packaging defect
        raise RuntimeError(f"no {name} renderer registered (layerscope.output.notebook not imported)") from None
