"""`layerscope.report`: the public name of the report's figures (`layers_figure`,
`treemap_figure`, ... as the README and the notebooks import them). They live in
layerscope/output/report/ with every other renderer; each loads its module (and
matplotlib) when first used."""

from __future__ import annotations

from typing import Any

from layerscope.output import report as _report

__all__ = list(_report.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_report, name)
