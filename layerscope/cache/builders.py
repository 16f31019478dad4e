"""The builders `layerscope cache` models: the one table the CLI's `--builder` choices, the image stores each
builder can run on, and the simulation's walkers are read from (a name missing here is no builder)."""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.errors import UsageError


@dataclass(frozen=True, slots=True)
class BuilderSpec:
    name: str
    describes: str  # which real builder, in words (the --builder help)
    stores: tuple[str, ...] = ()  # Docker image stores it runs on, the default first; () not a Docker builder


BUILDERS: dict[str, BuilderSpec] = {
    b.name: b
    for b in (
        BuilderSpec(
            "buildkit", "BuildKit of Docker 23+ and buildx (recorded on Docker 28.5)", ("containerd", "overlay2")
        ),
        # Docker 20.10 has no containerd image store: its BuildKit (v0.8 line) always runs on the graphdriver
        BuilderSpec("buildkit-20.10", "the BuildKit built into Docker 20.10 (v0.8 line)", ("overlay2",)),
        BuilderSpec("classic", "Docker's classic builder (DOCKER_BUILDKIT=0; recorded on Docker 20.10)"),
        BuilderSpec("buildah", "buildah bud --layers (recorded on buildah 1.28)"),
    )
}
BUILDER_HELP = "the builder whose cache is modelled: " + "; ".join(
    f"{b.name}: {b.describes}" for b in BUILDERS.values()
)
STORE_HELP = (
    "Docker's image store (BuildKit: COPY --link is a plain COPY on overlay2; default: containerd; Docker 20.10 has"
    " only overlay2)"
)


def image_store(builder: str, given: str | None) -> str | None:
    """The image store a build of `builder` runs on: `given` when the builder can use it, its only store when it
    has one and none was given; None for a builder that is not Docker's. A store the builder lacks is refused."""
    spec = BUILDERS.get(builder)
    if spec is None:
        raise UsageError(f"unknown builder {builder!r} ({', '.join(BUILDERS)})")
    if not spec.stores:
        return None
    if given is None:
        return spec.stores[0]
    if given not in spec.stores:
        raise UsageError(f"--image-store {given}: {spec.describes} has only the {' or '.join(spec.stores)} store")
    return given
