"""The one table of builders (layerscope/cache/builders.py): the CLI's choices, the stores, the models."""

from __future__ import annotations

import pytest

from layerscope.cache.builders import BUILDERS, image_store
from layerscope.cache.simulate import WALKERS
from layerscope.errors import UsageError


def test_every_builder_of_the_table_has_a_model_and_no_model_is_unlisted() -> None:
    assert set(WALKERS) == set(BUILDERS)
    assert all(WALKERS[name].builder == name for name in BUILDERS)


def test_image_store_per_builder() -> None:
    assert image_store("buildkit", None) == "containerd"
    assert image_store("buildkit", "overlay2") == "overlay2"
    assert image_store("buildkit-20.10", None) == "overlay2"  # Docker 20.10 has no containerd image store
    assert image_store("classic", "overlay2") is None and image_store("buildah", None) is None
    with pytest.raises(UsageError, match="only the overlay2 store"):
        image_store("buildkit-20.10", "containerd")
    with pytest.raises(UsageError, match="unknown builder 'kaniko'"):
        image_store("kaniko", None)
