"""The one builder: from any source's handle to an Image with every layer read once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from layerscope.errors import DigestError, FormatError, LayerscopeError, UnsafeInputError
from layerscope.gcpause import paused_gc
from layerscope.layers import capture
from layerscope.layers.layercache import LayerCache
from layerscope.layers.reader import blob_matches, read_layer
from layerscope.layers.streams import Readable
from layerscope.model import HistoryEntry, Image, Layer, LayerRecord
from layerscope.sources import manifests
from layerscope.sources.handle import Descriptor, ImageHandle, ResolvedManifest
from layerscope.sources.parallel import can_fork, read_parallel
from layerscope.sources.platforms import Platform
from layerscope.sources.schedule import layer_order
from layerscope.units import MAX_SIZE

ProgressFn = Callable[[int, int, LayerRecord], None]
# Called with (layer index, record) as each layer is read, in the order they finish.
LayerFn = Callable[[int, LayerRecord], None]

_GZIP_TYPE = {
    "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar": "application/vnd.oci.image.layer.v1.tar+gzip",
}


def align_history(history: list[Any], n_layers: int) -> tuple[tuple[HistoryEntry, ...], bool]:
    """Give each non-empty history entry the next layer (moby's rule).

    When the counts disagree (docker import, some builders), align from the top, where
    the newest build is usually well formed, and leave the rest unmatched.
    """
    raw = [h if isinstance(h, dict) else {} for h in history]
    non_empty = [i for i, h in enumerate(raw) if not h.get("empty_layer")]
    aligned = len(non_empty) == n_layers
    layer_of: dict[int, int] = {}
    if aligned:
        layer_of = {h: li for li, h in enumerate(non_empty)}
    else:
        for k in range(1, min(len(non_empty), n_layers) + 1):
            layer_of[non_empty[-k]] = n_layers - k
    entries = tuple(
        HistoryEntry(
            index=i,
            created=_str(h.get("created")),
            created_by=_str(h.get("created_by")),
            author=_str(h.get("author")),
            comment=_str(h.get("comment")),
            empty_layer=bool(h.get("empty_layer")),
            layer_index=layer_of.get(i),
        )
        for i, h in enumerate(raw)
    )
    return entries, aligned


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def parse_config(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    config = manifests.parse_json(raw, "image config")
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise FormatError("image config has no rootfs of type 'layers': not a container image config")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise FormatError("image config has no rootfs.diff_ids list")
    for d in diff_ids:
        manifests.check_digest(d, "rootfs.diff_ids")
    return config, diff_ids


def config_platform(config: dict[str, Any]) -> Platform:
    return Platform.normalized(
        str(config.get("os") or "linux"),
        str(config.get("architecture") or "unknown"),
        str(config.get("variant") or ""),
    )


def build_image(
    handle: ImageHandle,
    *,
    platform: Platform | None = None,
    verify: bool = False,
    manifest_only: bool = False,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    cache: LayerCache | None = None,
    on_layer: LayerFn | None = None,
    scan_secrets: bool = False,
) -> Image:
    """``scan_secrets``: run the secret detectors over file contents as each layer is read
    (a cached record without that scan is read again)."""
    m = handle.resolve(platform)
    raw_config = handle.config_bytes(m)
    config_digest = m.config.digest or manifests.sha256_digest(raw_config)
    config, diff_ids = parse_config(raw_config)
    if len(diff_ids) != len(m.layers):
        raise FormatError(f"the config lists {len(diff_ids)} diff_ids but the manifest {len(m.layers)} layers")
    notes = list(m.notes)
    plat = config_platform(config)
    if platform is not None and m.platform is None and str(plat) != str(platform):
        notes.append(f"the image is for {plat}, not the requested {platform}")
    raw_history = config.get("history")
    if raw_history is not None and not isinstance(raw_history, list):
        notes.append("the config's history is not a list: ignored")
        raw_history = None
    history, aligned = align_history(raw_history or [], len(m.layers))
    if not aligned:
        notes.append(
            f"history has {sum(1 for h in history if not h.empty_layer)} non-empty entries for "
            f"{len(m.layers)} layers: matched from the top, the rest unknown"
        )
    records: list[LayerRecord | None] = [None] * len(m.layers)
    if not manifest_only:
        with paused_gc():
            records = list(_read_layers(handle, m, diff_ids, verify, workers, progress, cache, on_layer, scan_secrets))
    for i, record in enumerate(records):
        if record is not None and record.diff_id and record.diff_id != diff_ids[i]:
            raise DigestError(
                f"diff_id mismatch in layer {i}: config says {diff_ids[i]}, contents hash to {record.diff_id}"
            )
    by_layer = {h.layer_index: h for h in history if h.layer_index is not None}
    layers = []
    for i, (desc, record) in enumerate(zip(m.layers, records, strict=True)):
        h = by_layer.get(i)
        media_type = desc.media_type
        if record is not None and record.compression == "gzip":
            media_type = _GZIP_TYPE.get(media_type, media_type)
        layers.append(
            Layer(
                index=i,
                digest=desc.digest,
                diff_id=diff_ids[i],
                media_type=media_type,
                compressed_size=desc.size if desc.size is not None else (record.stored_bytes if record else None),
                created_by=h.created_by if h else None,
                created=h.created if h else None,
                history_index=h.index if h else None,
                record=record,
                size=record.size if record else None,
                files=record.regular_files if record else None,
            )
        )
        if record is not None:
            notes.extend(f"layer {i}: {n}" for n in record.notes)
    for what in ("size", "compressed_size"):
        # Header-only entries (directories, links) may claim any size without data behind it:
        # a sum no file could have is corrupt input, not a figure (a saved analysis holds int64s).
        if sum(getattr(x, what) or 0 for x in layers) > MAX_SIZE:
            raise FormatError(f"the image's layers claim more than {MAX_SIZE} bytes ({what.replace('_', ' ')})")
    return Image(
        reference=handle.reference,
        source=handle.transport,
        digest=m.digest,
        config_digest=config_digest,
        platform=str(plat),
        config=config,
        layers=tuple(layers),
        history=history,
        history_aligned=aligned,
        notes=tuple(notes),
        manifest_only=manifest_only,
    )


def _read_layers(
    handle: ImageHandle,
    m: ResolvedManifest,
    diff_ids: list[str],
    verify: bool,
    workers: int | None,
    progress: ProgressFn | None,
    cache: LayerCache | None,
    on_layer: LayerFn | None = None,
    scan_secrets: bool = False,
) -> list[LayerRecord]:
    # Which cache may answer (docs/cache-keys.md): a local layer, the file-identity entry of
    # that very file, or the entry of its blob digest once the file has been hashed to it; a
    # registry blob, the entry of its digest (the registry is asked for bytes by digest, and
    # an entry is written only from bytes that hashed to it).
    remote = handle.transport == "docker"
    identity_of: Callable[[Descriptor, int], str | None] | None = getattr(handle, "layer_identity", None)
    expect = [diff_ids[i] if verify else None for i in range(len(m.layers))]

    def identity(i: int) -> str | None:
        if cache is None or identity_of is None:
            return None
        try:
            base = identity_of(m.layers[i], i)
        except LayerscopeError:
            return None  # the read reports it
        # The claims are part of the key: a read checked the bytes against these only.
        return None if base is None else f"{base}\0{m.layers[i].digest}\0{diff_ids[i]}"

    confirmed: set[int] = set()  # answered from a blob entry after hashing (in this process)

    def read(i: int) -> LayerRecord:
        desc = m.layers[i]

        def walk(blob: Readable, d: Descriptor, idx: int) -> LayerRecord:
            what = f"layer {idx} ({d.digest or d.location})"
            known = cache is not None and not remote and d.digest is not None and cache.has_blob(d.digest)
            if cache is not None and d.digest and known and blob_matches(blob, d.digest, verify=verify, what=what):
                hit = cache.get_blob(d.digest, expect[idx], need_secrets=scan_secrets)
                if hit is not None:
                    confirmed.add(idx)
                    return hit
            return read_layer(
                blob,
                verify=verify,
                expected_digest=d.digest,
                expected_diff_id=diff_ids[idx],
                what=what,
                scan_secrets=scan_secrets,
            )

        return handle.layer_record(desc, i, walk)

    keys: dict[int, str | None] = {}

    def store(i: int, record: LayerRecord) -> None:
        if cache is None:
            return
        if i not in confirmed:
            cache.put_blob(record)  # only under a digest this read hashed the bytes to
        key = keys.get(i)
        if key is not None and identity(i) == key:  # the file did not change while it was read
            cache.put_local(key, record)

    # A layer listed twice (BuildKit's empty layer) is read once.
    first: dict[tuple[str | None, str | None, str], int] = {}
    unique: list[int] = []
    copies: dict[int, list[int]] = {}  # first index -> every index with that layer
    for i, d in enumerate(m.layers):
        key = (d.digest, d.location, diff_ids[i])
        if key not in first:
            first[key] = i
            unique.append(i)
        copies.setdefault(first[key], []).append(i)
    results: dict[int, LayerRecord] = {}
    done = kept = 0

    def finished(i: int, record: LayerRecord) -> None:
        nonlocal done, kept
        kept += sum(len(data) for _path, data in record.captured)  # every layer's is kept to the end
        if kept > capture.MAX_CAPTURE_IMAGE:
            raise UnsafeInputError(
                f"the image's layers have more than {capture.MAX_CAPTURE_IMAGE >> 20} MiB of package metadata "
                "to keep; refusing to read further"
            )
        results[i] = record
        done += 1
        if progress:
            progress(done, len(unique), record)
        if on_layer:
            for j in copies[i]:
                on_layer(j, record)

    todo: list[int] = []
    for i in unique:
        keys[i] = identity(i)
        cached = None
        if cache is not None:
            ident, digest = keys[i], m.layers[i].digest
            if ident is not None:
                cached = cache.get_local(ident, expect[i], need_secrets=scan_secrets)
            elif remote and digest:
                cached = cache.get_blob(digest, expect[i], need_secrets=scan_secrets)
        if cached is not None:
            finished(i, cached)
        else:
            todo.append(i)
    pool_size = min(workers or os.cpu_count() or 1, len(todo))
    todo = layer_order({i: m.layers[i].size or 0 for i in todo}, max(pool_size, 1))
    if handle.parallel_safe and pool_size > 1:
        total = sum(m.layers[i].size or 0 for i in todo)
        processes = can_fork(handle.transport, handle.parallel_safe, total)
        for i, record in read_parallel(read, todo, pool_size, processes, after=store):
            finished(i, record)
    else:
        for i in todo:
            record = read(i)
            store(i, record)
            finished(i, record)
    return [results[first[(d.digest, d.location, diff_ids[i])]] for i, d in enumerate(m.layers)]
