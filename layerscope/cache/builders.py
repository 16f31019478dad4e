"""The builder models `layerscope cache` simulates: one table, read by the walkers' lookup,
its error, and every CLI `--builder` flag."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from layerscope.errors import UsageError

if TYPE_CHECKING:
    from layerscope.cache.walk import Walker


@dataclass(frozen=True, slots=True)
class BuilderModel:
    name: str  # the --builder value, CacheRequest.builder, the JSON's "builder"
    module: str  # layerscope.cache.<module> holds the walker, imported on first use (CLI start-up stays light)
    walker_class: str

    def walker(self) -> type[Walker]:
        module = importlib.import_module(f"layerscope.cache.{self.module}")
        return cast("type[Walker]", getattr(module, self.walker_class))


BUILDERS: tuple[BuilderModel, ...] = (
    BuilderModel("buildkit", "buildkit", "BuildKitWalker"),  # the first is the default
    BuilderModel("classic", "classic", "ClassicWalker"),
    BuilderModel("buildah", "buildah", "BuildahWalker"),
)
BUILDER_NAMES = tuple(b.name for b in BUILDERS)
DEFAULT_BUILDER = BUILDERS[0].name


def builder_model(name: str) -> BuilderModel:
    for b in BUILDERS:
        if b.name == name:
            return b
    raise UsageError(f"unknown builder {name!r} ({', '.join(BUILDER_NAMES)})")
