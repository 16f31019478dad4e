"""Draw the README's figures (docs/images/) again from the sample images, as the report draws them.

    python scripts/readme-images.py        # from the repository root, after a change to a figure or a sample

The README shows real output: run this when a figure or a sample image changes, and look at the result.
"""

from __future__ import annotations

from pathlib import Path

import layerscope
from layerscope.report import comparison_figure, rebuild_figure

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_images"
IMAGES = REPO / "docs" / "images"


def main() -> None:
    fat = layerscope.analyze(str(SAMPLES / "fat.docker.tar"))
    comparison = layerscope.compare(fat, str(SAMPLES / "slim.docker.tar"))
    comparison_figure(comparison).savefig(IMAGES / "fat-vs-slim.png", dpi=90)
    whiteouts = layerscope.analyze(str(SAMPLES / "whiteouts.docker.tar"))
    context = SAMPLES / "whiteouts"
    change = layerscope.CacheRequest(
        context=str(context), dockerfile=str(context / "Dockerfile"), changed=("config.v2.toml",)
    )
    sim = layerscope.simulate_cache(change)
    rebuild_figure(whiteouts, sim).savefig(IMAGES / "rebuild-config.png", dpi=80)


if __name__ == "__main__":
    main()
