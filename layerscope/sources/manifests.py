"""Manifests and indexes: media types, parsing, platform choice through (nested) indexes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from layerscope.errors import DigestError, FormatError, PlatformError, UnsupportedError, quote
from layerscope.sources.handle import Descriptor, ResolvedManifest
from layerscope.sources.platforms import Platform, host, is_attestation, preference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"})
LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

Fetch = Callable[[Descriptor, str], bytes]


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as err:  # RecursionError: arrays nested thousands deep
        raise FormatError(f"{what} is not valid JSON: {err}") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{what} is not a JSON object")
    return doc


def check_digest(digest: str, what: str) -> tuple[str, str]:
    """Validate a digest string; returns (algorithm, hex)."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise FormatError(f"{what} has an invalid digest {quote(digest)}")
    alg, _, hexpart = digest.partition(":")
    if alg == "sha256" and not re.fullmatch(r"[a-f0-9]{64}", hexpart):
        raise FormatError(f"{what} has an invalid sha256 digest {quote(digest)}")
    if alg not in ("sha256", "sha512"):
        raise UnsupportedError(f"{what} uses digest algorithm {quote(alg)}, which layerscope does not check")
    return alg, hexpart


def verify_bytes(raw: bytes, digest: str | None, what: str) -> None:
    if not digest:
        return
    alg, hexpart = check_digest(digest, what)
    actual = hashlib.new(alg, raw).hexdigest()
    if actual != hexpart:
        raise DigestError(f"digest mismatch in {what}: expected {digest}, got {alg}:{actual}")


def sha256_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def doc_media_type(doc: dict[str, Any], hint: str | None, what: str) -> str:
    mt = doc.get("mediaType")
    if doc.get("schemaVersion") == 1 or mt in DOCKER_SCHEMA1 or hint in DOCKER_SCHEMA1:
        raise UnsupportedError(f"{what} is a Docker schema 1 manifest (deprecated); re-push the image")
    if isinstance(mt, str) and mt:
        return mt
    if hint:
        return hint
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    raise FormatError(f"{what} is neither an image index nor an image manifest")


def manifest_from_doc(
    doc: dict[str, Any], digest: str | None, media_type: str, platform: Platform | None, what: str
) -> ResolvedManifest:
    cfg = doc.get("config")
    layers = doc.get("layers")
    if not isinstance(cfg, dict) or not isinstance(layers, list):
        raise FormatError(f"{what} has no config or layers")
    config = Descriptor.from_json(cfg)
    if config.media_type and config.media_type not in CONFIG_TYPES:
        raise UnsupportedError(
            f"{what} is not a container image: its config has media type {config.media_type} (an OCI artifact?)"
        )
    descs = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise FormatError(f"{what}: layer {i} is not a descriptor")
        d = Descriptor.from_json(layer)
        if d.media_type not in LAYER_TYPES:
            raise UnsupportedError(f"unsupported layer type {quote(d.media_type)} (layer {i} of {what})")
        if d.digest is not None:
            check_digest(d.digest, f"layer {i} of {what}")
        descs.append(d)
    return ResolvedManifest(digest, media_type, config, tuple(descs), platform)


def resolve(
    raw: bytes, hint: str | None, digest: str | None, fetch: Fetch, wanted: Platform | None, what: str
) -> ResolvedManifest:
    """From a top-level document (index or manifest) to the image manifest for a platform."""
    return resolve_doc(parse_json(raw, what), hint, digest, fetch, wanted, what)


def resolve_doc(
    doc: dict[str, Any],
    hint: str | None,
    digest: str | None,
    fetch: Fetch,
    wanted: Platform | None,
    what: str,
) -> ResolvedManifest:
    mt = doc_media_type(doc, hint, what)
    if mt in MANIFEST_TYPES or ("config" in doc and "layers" in doc and mt not in INDEX_TYPES):
        return manifest_from_doc(doc, digest, mt, None, what)
    if mt not in INDEX_TYPES:
        raise UnsupportedError(f"{what} has unsupported media type {quote(mt)}")
    candidates: list[tuple[Platform | None, Descriptor]] = []
    _collect(doc, fetch, what, candidates, depth=0)
    if not candidates:
        raise FormatError(f"{what} lists no image manifests")
    chosen, notes = choose(candidates, wanted, what)
    plat, desc = chosen
    mraw = fetch(desc, f"manifest {desc.digest}")
    mdoc = parse_json(mraw, f"manifest {desc.digest}")
    mmt = doc_media_type(mdoc, desc.media_type or None, f"manifest {desc.digest}")
    if mmt not in MANIFEST_TYPES:
        raise UnsupportedError(f"manifest {desc.digest} has unsupported media type {quote(mmt)}")
    m = manifest_from_doc(mdoc, desc.digest, mmt, plat, f"manifest {desc.digest}")
    return ResolvedManifest(m.digest, m.media_type, m.config, m.layers, m.platform, tuple(notes))


def choose(
    candidates: list[tuple[Platform | None, Descriptor]], wanted: Platform | None, what: str
) -> tuple[tuple[Platform | None, Descriptor], list[str]]:
    """The index entry for a platform (default: this host's), by containerd's preference
    (`platforms.preference`); ties go to the first listed. Entries without a platform come
    after every match (containerd keeps them, sorted last). Notes say what was chosen when it
    is not exactly what was asked for."""
    target = wanted or host()
    ranked = [
        (r, i) for i, (p, _) in enumerate(candidates) if p is not None and (r := preference(p, target)) is not None
    ]
    listed = ", ".join(str(p) if p else "unspecified" for p, _ in candidates)
    asked = f"the requested {target}" if wanted is not None else f"this host's {target}"
    if ranked:
        _, best = min(ranked)
        chosen = candidates[best]
        notes = []
        if str(chosen[0]) != str(target):
            notes.append(f"{what} has no {target} image; chose {chosen[0]} for {asked} (it has: {listed})")
        return chosen, notes
    unplatformed = [c for c in candidates if c[0] is None]
    if unplatformed:
        # The platform is optional in an index (skopeo leaves it out): as containerd does,
        # such an entry matches, and the config's own platform is checked later.
        notes = [f"{what} lists {len(candidates)} images; reading the first without a platform"]
        return unplatformed[0], notes if len(candidates) > 1 else []
    if wanted is None and len(candidates) == 1:
        return candidates[0], [f"the image is for {candidates[0][0]}, not this host ({target})"]
    if wanted is None:
        raise PlatformError(
            f"no manifest for this host's platform {target} in {what} (it has: {listed}); choose one with --platform"
        )
    raise PlatformError(f"no manifest for platform {target} in {what} (it has: {listed})")


def image_manifests(doc: dict[str, Any], fetch: Fetch, what: str) -> list[tuple[Platform | None, Descriptor]]:
    """Every image manifest an index lists, through nested indexes (attestations left out)."""
    out: list[tuple[Platform | None, Descriptor]] = []
    _collect(doc, fetch, what, out, depth=0)
    return out


def _collect(
    doc: dict[str, Any], fetch: Fetch, what: str, out: list[tuple[Platform | None, Descriptor]], depth: int
) -> None:
    if depth > 8:
        raise FormatError(f"{what}: indexes nested too deeply (a cycle?)")
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise FormatError(f"{what} has no manifests list")
    for entry in entries:
        if not isinstance(entry, dict) or is_attestation(entry):
            continue
        desc = Descriptor.from_json(entry)
        if desc.digest is None:
            raise FormatError(f"{what}: an index entry has no digest")
        check_digest(desc.digest, what)
        if desc.media_type in INDEX_TYPES:
            nested = parse_json(fetch(desc, f"index {desc.digest}"), f"index {desc.digest}")
            _collect(nested, fetch, f"index {desc.digest}", out, depth + 1)
            continue
        if desc.media_type and desc.media_type not in MANIFEST_TYPES and desc.media_type not in DOCKER_SCHEMA1:
            continue  # artifacts (signatures, SBOMs) listed beside images; schema 1 is kept to be refused
        plat = entry.get("platform")
        out.append((Platform.from_dict(plat) if isinstance(plat, dict) else None, desc))
