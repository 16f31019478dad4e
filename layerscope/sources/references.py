"""References as skopeo spells them ("docker-archive:PATH", "oci:DIR[:TAG]", ...), bare
paths sniffed, bare names sent to the Docker engine and then to the registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope.errors import BadReferenceError, FormatError
from layerscope.readfile import check_regular

if TYPE_CHECKING:
    from layerscope.sources.handle import ImageHandle
    from layerscope.sources.registry.options import RegistryOptions
    from layerscope.sources.stores import TarStore


@dataclass(frozen=True, slots=True)
class Reference:
    transport: str  # one of TRANSPORTS, "path" for a bare path, or "" for a bare name
    location: str  # path, image name or registry reference
    selector: str | None = None  # tag inside an archive/layout
    text: str = ""


def parse(text: str) -> Reference:
    if not text:
        raise BadReferenceError("empty image reference")
    for source in SOURCES:
        if source.prefix and text.startswith(source.prefix):
            rest = text[len(source.prefix) :]
            if not rest and source.prefix.endswith(":"):  # docker:// is left to the registry to refuse
                raise BadReferenceError(f"{text!r}: nothing after '{source.prefix}'")
            if source.selector:
                path, selector = _split_selector(rest)
                return Reference(source.scheme, path, selector, text)
            return Reference(source.scheme, rest, None, text)
    if os.path.exists(text) or text.startswith(("/", "./", "../")) or text.endswith((".tar", ".json")):
        return Reference("path", text, None, text)
    return Reference("", text, None, text)


def _split_selector(rest: str) -> tuple[str, str | None]:
    """PATH[:NAME:TAG] or DIR[:TAG]: the path is the longest prefix that exists."""
    if os.path.exists(rest):
        return rest, None
    parts = rest.split(":")
    for cut in range(len(parts) - 1, 0, -1):
        path = ":".join(parts[:cut])
        if os.path.exists(path):
            return path, ":".join(parts[cut:])
    return rest, None


def open_path(path: str, ref: Reference) -> ImageHandle:
    """A bare path: an OCI layout directory, an oci-archive or a docker-archive."""
    from layerscope.sources.docker_archive import DockerArchiveHandle
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import TarStore

    if os.path.isdir(path):
        return _open_layout_dir(path, ref)
    if not os.path.exists(path):
        raise BadReferenceError(f"no such file or directory: {path}")
    store = TarStore(path)
    if store.exists("manifest.json"):
        return DockerArchiveHandle(store, ref.text, ref.selector)
    if store.exists("index.json"):
        return LayoutHandle(store, "oci-archive", ref.text, ref.selector)
    raise FormatError(_not_an_image(path, store))


def _not_an_image(path: str, store: TarStore) -> str:
    names = store.names()
    if any(n.startswith(("etc/", "bin/", "usr/")) or n in ("etc", "bin", "usr") for n in store.members):
        return f"{path} is a root filesystem tar, not an image archive (no manifest.json or index.json)"
    files = f"{len(names)} file" + ("" if len(names) == 1 else "s")
    return f"{path} is a tar but not an image archive: no manifest.json or index.json ({files})"


def _open_layout_dir(path: str, ref: Reference) -> ImageHandle:
    from layerscope.sources.docker_archive import DockerArchiveHandle
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import DirStore

    store = DirStore(path)
    if store.exists("index.json"):
        return LayoutHandle(store, "oci", ref.text, ref.selector)
    if store.exists("manifest.json"):  # an extracted docker save
        return DockerArchiveHandle(store, ref.text, ref.selector)
    raise FormatError(f"{path} is a directory but not an OCI image layout (no index.json)")


@dataclass(frozen=True, slots=True)
class OpenOptions:
    """What open_handle() passes every opener; each uses the parts its source needs."""

    verify: bool = False
    registry: RegistryOptions | None = None
    scan_secrets: bool = False


def open_handle(
    text: str, *, verify: bool = False, registry: RegistryOptions | None = None, scan_secrets: bool = False
) -> ImageHandle:
    """``scan_secrets`` matters to the engine's handle only, which reads its layers itself
    (every other handle reads them through the builder's reader)."""
    ref = parse(text)
    source = SOURCE_BY_SCHEME.get(ref.transport)
    if source is None or source.opener is None:
        raise BadReferenceError(f"unknown reference {text!r}")
    return source.opener(ref, OpenOptions(verify, registry, scan_secrets))


def _open_docker_archive(ref: Reference, _opts: OpenOptions) -> ImageHandle:
    from layerscope.sources.docker_archive import DockerArchiveHandle
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import TarStore

    if os.path.isdir(ref.location):
        return _open_layout_dir(ref.location, ref)
    if not os.path.exists(ref.location):
        raise BadReferenceError(f"no such file: {ref.location}")
    store = TarStore(ref.location)
    if store.exists("manifest.json"):
        return DockerArchiveHandle(store, ref.text, ref.selector)
    if store.exists("index.json"):  # an OCI archive under the wrong name still reads
        return LayoutHandle(store, "docker-archive", ref.text, ref.selector)
    raise FormatError(_not_an_image(ref.location, store))


def _open_oci_archive(ref: Reference, _opts: OpenOptions) -> ImageHandle:
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import TarStore

    if not os.path.exists(ref.location):
        raise BadReferenceError(f"no such file: {ref.location}")
    check_regular(ref.location, "image archive")  # a directory, FIFO or device: say which
    store = TarStore(ref.location)
    if not store.exists("index.json"):
        raise FormatError(f"{ref.location} is not an OCI archive: no index.json")
    return LayoutHandle(store, "oci-archive", ref.text, ref.selector)


def _open_oci_dir(ref: Reference, _opts: OpenOptions) -> ImageHandle:
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import DirStore

    if not os.path.isdir(ref.location):
        raise BadReferenceError(f"no such directory: {ref.location}")
    return LayoutHandle(DirStore(ref.location), "oci", ref.text, ref.selector)


def _open_bare_path(ref: Reference, _opts: OpenOptions) -> ImageHandle:
    return open_path(ref.location, ref)


def _open_daemon(ref: Reference, opts: OpenOptions) -> ImageHandle:
    from layerscope.sources.daemon import DaemonHandle

    return DaemonHandle(ref.location, ref.text, verify=opts.verify, scan_secrets=opts.scan_secrets)


def _open_registry(ref: Reference, opts: OpenOptions) -> ImageHandle:
    return _registry_handle(ref, opts.registry)


def _open_bare_name(ref: Reference, opts: OpenOptions) -> ImageHandle:
    return _bare_name(ref, opts.verify, opts.registry, opts.scan_secrets)


def _registry_handle(ref: Reference, options: RegistryOptions | None) -> ImageHandle:
    from layerscope.sources.registry.handle import RegistryHandle  # httpx only when needed

    return RegistryHandle(ref.location, ref.text, options)


def _bare_name(ref: Reference, verify: bool, options: RegistryOptions | None, scan_secrets: bool) -> ImageHandle:
    from layerscope.sources.daemon import DaemonHandle
    from layerscope.sources.fallback import FallbackHandle
    from layerscope.sources.registry.reference import parse_name

    # The engine and registries share one name grammar: a name outside it is refused here,
    # with the one reason, before asking either (a list of junk names cost an engine round
    # trip each).
    parse_name(ref.location)

    return FallbackHandle(
        ref.location,
        ref.text,
        lambda: DaemonHandle(ref.location, ref.text, verify=verify, scan_secrets=scan_secrets),
        lambda: _registry_handle(ref, options),
    )


Opener = Callable[[Reference, OpenOptions], "ImageHandle"]


@dataclass(frozen=True, slots=True)
class Source:
    """One way to name an image: every consumer (parse, open_handle, the fork decision, the
    CLI's reference help, what a title calls a local file) reads this table."""

    scheme: str  # Reference.transport (and ImageHandle.transport where the handle keeps it)
    prefix: str | None  # how a reference starts; None: recognised without one (a bare path or name)
    help: str  # how the CLI's help spells it
    opener: Opener | None  # None: not an ImageHandle (analysis: is read by api.load)
    local: bool  # a file or directory here: no engine, no network
    forkable: bool  # its layers may be read in forked worker processes (parallel.can_fork)
    selector: bool = False  # PATH[:TAG] (the tag inside an archive or layout)
    per_layer: bool = False  # a fleet task can open one layer's blob from the reference alone (fleet/handles.py)


# The order is the CLI help's; a prefix that is a prefix of another must come after it.
SOURCES: tuple[Source, ...] = (
    Source("docker-archive", "docker-archive:", "docker-archive:PATH", _open_docker_archive, True, True, True, True),
    Source("oci", "oci:", "oci:DIR[:TAG]", _open_oci_dir, True, True, True, True),
    Source("oci-archive", "oci-archive:", "oci-archive:PATH", _open_oci_archive, True, True, True, True),
    Source("docker-daemon", "docker-daemon:", "docker-daemon:NAME[:TAG]", _open_daemon, False, False),
    Source("docker", "docker://", "docker://HOST/REPO[:TAG|@DIGEST]", _open_registry, False, False, per_layer=True),
    Source("analysis", "analysis:", "analysis:FILE", None, True, False),
    Source("path", None, "a bare path", _open_bare_path, True, False, per_layer=True),
    Source("", None, "a bare image name (the Docker engine first, then the registry)", _open_bare_name, False, False),
)
SOURCE_BY_SCHEME = {s.scheme: s for s in SOURCES}
TRANSPORTS = tuple(s.scheme for s in SOURCES if s.prefix)  # the schemes a reference spells out
LOCAL_PREFIXES = tuple(s.prefix for s in SOURCES if s.prefix and s.local)
FORK_TRANSPORTS = frozenset(s.scheme for s in SOURCES if s.forkable)
LOCAL_IMAGES = frozenset(s.scheme for s in SOURCES if s.local and s.opener is not None)  # image files here
PER_LAYER_TRANSPORTS = frozenset(s.scheme for s in SOURCES if s.per_layer)
ANALYSIS_PREFIX = SOURCE_BY_SCHEME["analysis"].prefix or "analysis:"


def reference_help() -> str:
    """The CLI's help for an image reference, from SOURCES."""
    spellings = [s.help for s in SOURCES]
    return "image reference: " + ", ".join(spellings[:-1]) + " or " + spellings[-1]
