"""The committed sample images (sample_images/, built by sample_images/build.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent.parent / "sample_images"


def sample(name: str) -> Path:
    """sample_images/NAME.docker.tar, or a skip that says it is missing."""
    path = SAMPLES / f"{name}.docker.tar"
    if not path.is_file():
        pytest.skip(f"sample image {path.name} is not in sample_images/ (built by sample_images/build.sh)")
    return path
