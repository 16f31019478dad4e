"""FallbackHandle: the Docker engine first, then the registry; both reasons when both fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.errors import BadReferenceError, EngineError, FormatError, RegistryError
from layerscope.sources.builder import build_image
from layerscope.sources.fallback import FallbackHandle
from layerscope.sources.handle import ImageHandle
from layerscope.sources.layout import LayoutHandle
from layerscope.sources.stores import DirStore
from tests.support.factory import ImageSpec, f, layer_tar


def _layout(tmp_path: Path, tag: str) -> LayoutHandle:
    path = ImageSpec([layer_tar([f("tag", tag)])]).oci_dir(str(tmp_path / tag))
    return LayoutHandle(DirStore(path), "oci", f"oci:{path}")


def test_first_source_that_resolves_wins(tmp_path: Path) -> None:
    """Real handles in both places: the second is never opened when the first resolves."""
    opened: list[str] = []

    def first() -> ImageHandle:
        opened.append("engine")
        return _layout(tmp_path, "engine")

    def second() -> ImageHandle:
        opened.append("registry")
        return _layout(tmp_path, "registry")

    handle = FallbackHandle("name", "name", first, second)
    image = build_image(handle)
    assert opened == ["engine"] and image.source == "oci" and image.reference == "name"
    assert handle.parallel_safe


def test_engine_error_then_registry(tmp_path: Path) -> None:
    def engine() -> ImageHandle:
        raise EngineError("the Docker engine has no image 'name'")

    image = build_image(FallbackHandle("name", "name", engine, lambda: _layout(tmp_path, "r")))
    assert image.source == "oci"


def test_a_broken_image_in_the_engine_is_not_hidden(tmp_path: Path) -> None:
    """Only "no engine / no such image" falls through; other engine errors are the answer."""

    def engine() -> ImageHandle:
        raise FormatError("the engine's export is damaged")

    with pytest.raises(FormatError, match="damaged"):
        build_image(FallbackHandle("name", "name", engine, lambda: _layout(tmp_path, "r")))


def test_both_fail(tmp_path: Path) -> None:
    def engine() -> ImageHandle:
        raise EngineError("no Docker engine at unix:///x.sock")

    def registry() -> ImageHandle:
        raise BadReferenceError("'Bad': repository names must be lowercase")

    with pytest.raises(RegistryError) as err:
        build_image(FallbackHandle("Bad", "Bad", engine, registry))
    assert str(err.value) == (
        "cannot open 'Bad' — Docker engine: no Docker engine at unix:///x.sock; "
        "registry: 'Bad': repository names must be lowercase"
    )
