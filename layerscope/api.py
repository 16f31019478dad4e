"""The public Python API: open and analyse an image, load a saved analysis."""

from __future__ import annotations

from layerscope.analysis.analyze import analyze_image
from layerscope.analysis.serialize import load_saved
from layerscope.errors import BadReferenceError
from layerscope.layers.cache import LayerCache
from layerscope.model import Analysis, Image
from layerscope.sources.builder import ProgressFn, build_image
from layerscope.sources.platforms import Platform
from layerscope.sources.references import open_image as _open_handle
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.secret import Secret

ANALYSIS_PREFIX = "analysis:"


def open_image(
    ref: str,
    *,
    platform: str | None = None,
    verify: bool = False,
    manifest_only: bool = False,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
    username: str | None = None,
    password: str | Secret | None = None,
    insecure: bool = False,
) -> Image:
    """Read an image (every layer streamed once, or served from the per-layer cache).

    `username`/`password` (or an identity token with username "<token>") and `insecure`
    (plain HTTP or unverified TLS; loopback registries are always allowed) apply to
    registry references; other credentials come from the Docker/containers config files.
    """
    options = RegistryOptions.create(username, password, insecure)
    handle = _open_handle(ref, verify=verify, registry=options)
    try:
        return build_image(
            handle,
            platform=Platform.parse(platform) if platform else None,
            verify=verify,
            manifest_only=manifest_only,
            progress=progress,
            cache=LayerCache(read=use_cache),
        )
    finally:
        handle.close()


def load(path: str) -> Analysis:
    """A saved analysis (`layerscope inspect REF --save FILE`)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise BadReferenceError(f"cannot read saved analysis {path}: {err.strerror}") from None
    return load_saved(raw, path)


def analyze(
    ref: str,
    *,
    platform: str | None = None,
    verify: bool = False,
    manifest_only: bool = False,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
    username: str | None = None,
    password: str | Secret | None = None,
    insecure: bool = False,
) -> Analysis:
    """Analyse an image reference, or load `analysis:FILE`."""
    if ref.startswith(ANALYSIS_PREFIX):
        return load(ref[len(ANALYSIS_PREFIX) :])
    image = open_image(
        ref,
        platform=platform,
        verify=verify,
        manifest_only=manifest_only,
        progress=progress,
        use_cache=use_cache,
        username=username,
        password=password,
        insecure=insecure,
    )
    return analyze_image(image)
