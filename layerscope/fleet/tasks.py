"""What runs on the workers: resolve an image, read one unique blob, analyse one image.

Each function is idempotent (the same arguments give the same answer, and the only thing
written is the per-layer cache, atomically), so Dask may run one again on another worker
when a worker dies. None of them prints. Errors a user can act on come back as values
(one line each) so that one broken image never stops the others; anything else raises
and Dask retries it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from layerscope.analysis.analyze import analyze_image
from layerscope.api import load
from layerscope.errors import LayerscopeError
from layerscope.fleet.handles import PrereadHandle, RecordingHandle, blob_key, splittable
from layerscope.fleet.records import (
    BudgetRow,
    ImageLayer,
    ImagePlan,
    ImageSummary,
    LayerResult,
    LayerSource,
    LayerStats,
    PackageRow,
    PlanError,
    SavedPlan,
    SavingRow,
    Settings,
    Target,
)
from layerscope.gcpause import paused_gc
from layerscope.layers.layercache import LayerCache
from layerscope.layers.reader import read_layer
from layerscope.layers.streams import Readable
from layerscope.model import Analysis, LayerRecord
from layerscope.sources.builder import build_image, parse_config
from layerscope.sources.handle import Descriptor, ImageHandle
from layerscope.sources.platforms import Platform
from layerscope.sources.references import ANALYSIS_PREFIX, open_handle, parse

if TYPE_CHECKING:
    from layerscope.budget.config import ImageBudget


def _platform(settings: Settings) -> Platform | None:
    return Platform.parse(settings.platform) if settings.platform else None


def _open(reference: str, settings: Settings) -> ImageHandle:
    return open_handle(reference, verify=settings.verify, registry=settings.registry)


# Registry handles live on in the worker, one per reference: the image's layer tasks then
# reuse the connection, the scheme probe and the token its resolve task paid for.
MAX_HANDLES = 256
_handles: OrderedDict[tuple[str, Settings], ImageHandle] = OrderedDict()
_handles_lock = threading.Lock()


@contextmanager
def _opened(reference: str, settings: Settings) -> Iterator[ImageHandle]:
    if parse(reference).transport != "docker":
        handle = _open(reference, settings)
        try:
            yield handle
        finally:
            handle.close()
        return
    key = (reference, settings)
    with _handles_lock:
        cached = _handles.get(key)
        if cached is not None:
            _handles.move_to_end(key)
    if cached is None:
        cached = _open(reference, settings)
        with _handles_lock:
            _handles[key] = cached
            while len(_handles) > MAX_HANDLES:
                _handles.popitem(last=False)[1].close()
    yield cached


def resolve(target: Target, settings: Settings) -> ImagePlan | SavedPlan | PlanError:
    """The manifest and config of one image (a few small requests; no layer is read here)."""
    if target.error is not None:
        return PlanError(target, target.error)
    try:
        if target.reference.startswith(ANALYSIS_PREFIX):
            return SavedPlan(target, load(target.reference[len(ANALYSIS_PREFIX) :]))
        with _opened(target.reference, settings) as handle:
            m = handle.resolve(_platform(settings))
            config = handle.config_bytes(m)
            _config, diff_ids = parse_config(config)
            if splittable(target.reference):
                return ImagePlan(target, handle.transport, m, config, tuple(diff_ids))
            return _whole(target, settings, handle, m, config, tuple(diff_ids))
    except LayerscopeError as err:
        return PlanError(target, one_line(str(err)))


def _whole(
    target: Target, settings: Settings, handle: ImageHandle, m: object, config: bytes, diff_ids: tuple[str, ...]
) -> ImagePlan | PlanError:
    """A source that hands out whole images only: read it here, as `inspect` would."""
    from layerscope.sources.handle import ResolvedManifest

    assert isinstance(m, ResolvedManifest)
    records: dict[int, LayerRecord] = {}
    build_image(
        RecordingHandle(handle, m, config),
        platform=_platform(settings),
        verify=settings.verify,
        cache=LayerCache(read=settings.use_cache),
        on_layer=records.__setitem__,
    )
    results = tuple(
        LayerResult(blob_key(d.digest, diff_ids[i]), records[i], True, 0.0, None) for i, d in enumerate(m.layers)
    )
    return ImagePlan(target, handle.transport, m, config, diff_ids, results)


def read_blob(source: LayerSource, descriptor: Descriptor, settings: Settings) -> LayerResult:
    """One unique blob, read once for the whole fleet (or served from the per-layer cache),
    with the record the single-image path makes, and written to the cache for it."""
    start = time.perf_counter()
    cache = LayerCache(read=settings.use_cache)
    # Only a registry blob is answered by its digest unread (docs/cache-keys.md): a local
    # file is read, and its bytes decide.
    if descriptor.digest and _remote(source.reference):
        cached = cache.get_blob(descriptor.digest, source.diff_id if settings.verify else None)
        if cached is not None:
            return LayerResult(source.key, cached, False, time.perf_counter() - start, None)
    try:
        with paused_gc(), _opened(source.reference, settings) as handle:
            record = handle.layer_record(descriptor, source.index, _walker(settings, source))
    except LayerscopeError as err:
        return LayerResult(source.key, None, True, time.perf_counter() - start, one_line(str(err)))
    cache.put_blob(record)  # only under a digest this read hashed the bytes to
    return LayerResult(source.key, record, True, time.perf_counter() - start, None)


def _remote(reference: str) -> bool:
    from layerscope.sources.references import parse

    try:
        return parse(reference).transport == "docker"
    except LayerscopeError:
        return False


def _walker(settings: Settings, source: LayerSource) -> Callable[[Readable, Descriptor, int], LayerRecord]:
    def walk(blob: Readable, d: Descriptor, idx: int) -> LayerRecord:
        return read_layer(
            blob,
            verify=settings.verify,
            expected_digest=d.digest,
            expected_diff_id=source.diff_id,
            what=f"layer {idx} ({d.digest or d.location})",
        )

    return walk


def layer_stats(result: LayerResult) -> LayerStats:
    """The few numbers of a layer the client keeps (and the progress bar shows)."""
    r = result.record
    if r is None:
        return LayerStats(result.key, None, None, None, None, result.read, result.seconds, result.error)
    return LayerStats(result.key, r.diff_id, r.size, r.stored_bytes, r.regular_files, result.read, result.seconds)


def summarize(
    plan: ImagePlan | SavedPlan | PlanError, settings: Settings, budget: ImageBudget | None, *layers: LayerResult
) -> ImageSummary:
    """One image from its layers' records: the Analysis `inspect`/`packages` make, boiled down."""
    if isinstance(plan, PlanError):
        return ImageSummary(plan.target, error=plan.error)
    if isinstance(plan, SavedPlan):
        return boil_down(plan.target, plan.analysis, budget)
    results = plan.records if plan.records is not None else layers
    failed = [r for r in results if r.error is not None]
    if failed:
        return ImageSummary(plan.target, digest=plan.manifest.digest, error=failed[0].error)
    records = tuple(r.record for r in results if r.record is not None)
    try:
        with paused_gc():  # as in `inspect`: a few objects per file and no cycles
            image = build_image(PrereadHandle(plan, records), platform=_platform(settings))
            analysis = analyze_image(image, packages=True)
    except LayerscopeError as err:
        return ImageSummary(plan.target, digest=plan.manifest.digest, error=one_line(str(err)))
    return boil_down(plan.target, analysis, budget)


def boil_down(target: Target, a: Analysis, budget: ImageBudget | None) -> ImageSummary:
    image, t = a.image, a.totals
    layers = tuple(
        ImageLayer(
            x.index,
            blob_key(x.digest, x.diff_id),
            x.digest,
            x.diff_id,
            x.size,
            x.compressed_size,
            x.files,
            x.media_type,
        )
        for x in image.layers
    )
    report = a.packages
    packages: tuple[PackageRow, ...] = ()
    categories: tuple[tuple[str, int], ...] = ()
    savings: tuple[SavingRow, ...] = ()
    if report is not None:
        packages = tuple(
            PackageRow(p.ecosystem, p.name, p.version, p.size, p.files, p.category) for p in report.packages
        )
        categories = tuple((c.name, c.bytes) for c in report.categories)
        savings = tuple(SavingRow(s.what, s.bytes, s.how) for s in report.savings)
    rows: tuple[BudgetRow, ...] = ()
    if budget is not None:
        from layerscope.budget.verdict import evaluate

        rows = tuple(BudgetRow(r.rule, r.status, one_line(r.message)) for r in evaluate(a, budget))
    return ImageSummary(
        target,
        digest=image.digest,
        platform=image.platform,
        size=t.size,
        compressed_size=t.compressed_size,
        final_size=t.final_size,
        wasted_bytes=t.wasted_bytes,
        layers=layers,
        packages=packages,
        categories=categories,
        savings=savings,
        budget=rows,
    )


def one_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:500]
