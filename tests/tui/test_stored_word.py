"""The details line says what a layer's blob bytes are: a `docker save` keeps plain tars, an OCI archive gzips."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from layerscope import api
from layerscope.model import Analysis
from layerscope.tui import make_app
from layerscope.tui.widgets.layers import LayersTable
from layerscope.units import fmt_size
from tests.tui.conftest import settle

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).resolve().parents[2] / "sample_images"


@pytest.fixture(scope="module", params=[("slim.docker.tar", "stored uncompressed"), ("slim.oci.tar", "compressed")])
def case(request: pytest.FixtureRequest) -> tuple[Analysis, str]:
    name, word = request.param
    return api.analyze(str(SAMPLES / name), use_cache=False), word


async def test_the_details_line_names_the_blob_bytes(case: tuple[Analysis, str]) -> None:
    analysis, word = case
    app = make_app(analysis.image.reference, analysis=analysis)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        first = str(app.screen.query_one("#details", Static).render()).splitlines()[0]
        layer = analysis.image.layers[0]
        assert layer.compressed_size is not None
        assert first.startswith("Layer 0")
        assert f"({fmt_size(layer.compressed_size)} {word})," in first
        if word != "compressed":
            assert " compressed)" not in first
        table = app.screen.query_one(LayersTable)
        assert [str(c.label) for c in table.columns.values()][:3] == ["#", "Size", "Stored"]
