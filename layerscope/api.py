"""The public Python API: open and analyse an image, load a saved analysis.

Imports of the reading machinery are deferred so that a warm `inspect` (served from the
summary cache) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from layerscope import oneshot
from layerscope.model import Analysis, Image
from layerscope.sources.references import ANALYSIS_PREFIX

if TYPE_CHECKING:
    from layerscope.analysis.compare import Comparison
    from layerscope.sources.builder import LayerFn, ProgressFn
    from layerscope.sources.registry.secret import Secret

SAVED_LIMIT = 1 << 30  # a saved analysis is JSON read whole: larger is not one layerscope wrote


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
    on_layer: LayerFn | None = None,
    scan_secrets: bool = False,
) -> Image:
    """Read an image (every layer streamed once, or served from the per-layer cache).

    `username`/`password` (or an identity token with username "<token>") and `insecure`
    (plain HTTP or unverified TLS; loopback registries are always allowed) apply to
    registry references; other credentials come from the Docker/containers config files.
    `on_layer(index, record)` is called as each layer is read, in the order they finish.
    `scan_secrets` runs the secret detectors over file contents in the same pass.
    """
    from layerscope.layers.layercache import LayerCache
    from layerscope.sources.builder import build_image
    from layerscope.sources.platforms import Platform
    from layerscope.sources.references import open_handle
    from layerscope.sources.registry.options import RegistryOptions

    options = RegistryOptions.create(username, password, insecure)
    handle = open_handle(ref, verify=verify, registry=options, scan_secrets=scan_secrets)
    try:
        return build_image(
            handle,
            platform=Platform.parse(platform) if platform else None,
            verify=verify,
            manifest_only=manifest_only,
            progress=progress,
            cache=LayerCache(read=use_cache),
            on_layer=on_layer,
            scan_secrets=scan_secrets,
        )
    finally:
        handle.close()


def load(path: str) -> Analysis:
    """A saved analysis (`layerscope inspect REF --save FILE`)."""
    from layerscope.analysis.serialize import load_saved
    from layerscope.readfile import read_bytes

    return load_saved(read_bytes(path, "saved analysis", SAVED_LIMIT), path)


def analyze(
    ref: str,
    *,
    platform: str | None = None,
    verify: bool = False,
    manifest_only: bool = False,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
    need_records: bool = True,
    need_packages: bool = True,
    username: str | None = None,
    password: str | Secret | None = None,
    insecure: bool = False,
    forbid_paths: tuple[str, ...] | None = None,
    scan_secrets: bool = False,
) -> Analysis:
    """Analyse an image reference, or load `analysis:FILE`.

    With ``need_records=False`` an unchanged local archive may be answered from the summary
    cache: the Analysis then has every figure but no per-layer file records. With
    ``need_packages=False`` (`inspect`) the package report may be missing (None).

    ``forbid_paths`` (globs; default: analysis/exposure.py's DEFAULT_GLOBS) are matched
    against every path of every layer; ``scan_secrets`` also reads the head of every file
    for secrets (layers/secrets.py). Findings: ``Analysis.exposure``.
    """
    if ref.startswith(ANALYSIS_PREFIX):
        return load(ref[len(ANALYSIS_PREFIX) :])
    from layerscope.analysis import summary_cache
    from layerscope.analysis.exposure import DEFAULT_GLOBS

    globs = DEFAULT_GLOBS if forbid_paths is None else forbid_paths
    key = None
    if not verify:
        key = summary_cache.local_key(ref, platform, manifest_only, (globs, scan_secrets))
    if key is not None and use_cache and not need_records:
        summary = summary_cache.get(key)
        if summary is not None and need_packages and summary.get("packages") is None and not manifest_only:
            summary = None  # written by a command that did not need packages
        if summary is not None:
            from layerscope.analysis.serialize import load_saved_doc
            from layerscope.errors import FormatError

            try:
                # the key is the file's identity: the reference is this call's, not that of the run that wrote it
                return load_saved_doc({**summary, "reference": ref}, "the summary cache")
            except FormatError:
                pass  # an entry this code does not accept is a miss: the image is read again, the entry rewritten
    from layerscope.analysis.analyze import analyze_image
    from layerscope.analysis.feed import LayerFeed
    from layerscope.gcpause import paused_gc

    feed = LayerFeed()  # stacks the layers read so far while the others are still being read
    with paused_gc():  # a few objects per file, no cycles: the collector would only rescan them
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
            on_layer=feed,
            scan_secrets=scan_secrets,
        )
        analysis = analyze_image(image, packages=need_packages, feed=feed, forbid_paths=globs, secrets=scan_secrets)
    oneshot.keep(feed)  # the stacked tree: freeing it would be the last thing a CLI run does
    if key is not None:
        from layerscope.analysis.serialize import saved_document

        summary_cache.put(key, saved_document(analysis, records=False))
    return analysis


def compare(a: str | Analysis, b: str | Analysis, *, platform: str | None = None) -> Comparison:
    """Two images side by side (B against A): references are analysed, analyses used as they are."""
    from layerscope.analysis.compare import compare_analyses

    return compare_analyses(
        a if isinstance(a, Analysis) else analyze(a, platform=platform),
        b if isinstance(b, Analysis) else analyze(b, platform=platform),
    )
