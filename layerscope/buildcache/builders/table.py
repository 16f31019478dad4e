"""The builder models `layerscope cache` simulates: one table, read by the walkers' lookup, its error, the image
stores each builder runs on, and every CLI `--builder` flag and its help."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from layerscope.errors import UsageError

if TYPE_CHECKING:
    from layerscope.buildcache.builders.walk import Walker


@dataclass(frozen=True, slots=True)
class BuilderModel:
    name: str  # the --builder value, BuildSpec.builder, the JSON's "builder"
    module: str  # builders/<module>.py holds the walker, imported on first use (CLI start-up stays light)
    walker_class: str
    describes: str  # which real builder, in words (the --builder help)
    stores: tuple[str, ...] = ()  # Docker image stores it runs on, the default first; () not a Docker builder
    dockerfile_ignore: bool = True  # reads <Dockerfile>.dockerignore before the context's .dockerignore
    contexts_first: bool = False  # a --build-context NAME wins over a stage or image of the same name

    def walker(self) -> type[Walker]:
        module = importlib.import_module(f"layerscope.buildcache.builders.{self.module}")
        return cast("type[Walker]", getattr(module, self.walker_class))


BUILDERS: tuple[BuilderModel, ...] = (
    BuilderModel(  # the first is the default
        "buildkit",
        "buildkit",
        "BuildKitWalker",
        "BuildKit of Docker 23+ and buildx (recorded on Docker 28.5)",
        ("containerd", "overlay2"),
    ),
    # Docker 20.10 has no containerd image store: its BuildKit (v0.8 line) always runs on the graphdriver
    BuilderModel(
        "buildkit-20.10",
        "buildkit",
        "BuildKit20Walker",
        "the BuildKit built into Docker 20.10 (v0.8 line)",
        ("overlay2",),
    ),
    BuilderModel(
        "classic",
        "classic",
        "ClassicWalker",
        "Docker's classic builder (DOCKER_BUILDKIT=0; recorded on Docker 20.10)",
        dockerfile_ignore=False,
    ),
    BuilderModel(
        "buildah", "buildah", "BuildahWalker", "buildah bud --layers (recorded on buildah 1.28)", contexts_first=True
    ),
)
BUILDER_NAMES = tuple(b.name for b in BUILDERS)
DEFAULT_BUILDER = BUILDERS[0].name
BUILDER_HELP = "the builder whose cache is modelled: " + "; ".join(f"{b.name}: {b.describes}" for b in BUILDERS)
STORE_HELP = (
    "Docker's image store (BuildKit: COPY --link is a plain COPY on overlay2; default: containerd; Docker 20.10 has"
    " only overlay2)"
)


def builder_model(name: str) -> BuilderModel:
    for b in BUILDERS:
        if b.name == name:
            return b
    raise UsageError(f"unknown builder {name!r} ({', '.join(BUILDER_NAMES)})")


def image_store(builder: str, given: str | None) -> str | None:
    """The image store a build of `builder` runs on: `given` when the builder can use it, its only store when it
    has one and none was given; None for a builder that is not Docker's. A store the builder lacks is refused."""
    spec = builder_model(builder)
    if not spec.stores:
        return None
    if given is None:
        return spec.stores[0]
    if given not in spec.stores:
        raise UsageError(f"--image-store {given}: {spec.describes} has only the {' or '.join(spec.stores)} store")
    return given
