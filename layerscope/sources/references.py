"""References as skopeo spells them ("docker-archive:PATH", "oci:DIR[:TAG]", ...), bare
paths sniffed, bare names sent to the Docker engine and then to the registry."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope.errors import BadReferenceError, FormatError

if TYPE_CHECKING:
    from layerscope.sources.handle import ImageHandle
    from layerscope.sources.registry.options import RegistryOptions
    from layerscope.sources.stores import TarStore

TRANSPORTS = ("docker-archive", "oci-archive", "oci", "docker-daemon", "docker", "analysis")


@dataclass(frozen=True, slots=True)
class Reference:
    transport: str  # one of TRANSPORTS, or "" for a bare name
    location: str  # path, image name or registry reference
    selector: str | None = None  # tag inside an archive/layout
    text: str = ""


def parse(text: str) -> Reference:
    if not text:
        raise BadReferenceError("empty image reference")
    if text.startswith("docker://"):
        return Reference("docker", text[len("docker://") :], None, text)
    scheme, sep, rest = text.partition(":")
    if sep and scheme in TRANSPORTS and scheme != "docker":
        if not rest:
            raise BadReferenceError(f"{text!r}: nothing after '{scheme}:'")
        if scheme in ("docker-archive", "oci-archive", "oci"):
            path, selector = _split_selector(rest)
            return Reference(scheme, path, selector, text)
        return Reference(scheme, rest, None, text)
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


def open_image(
    text: str, *, verify: bool = False, registry: RegistryOptions | None = None, scan_secrets: bool = False
) -> ImageHandle:
    """``scan_secrets`` matters to the engine's handle only, which reads its layers itself
    (every other handle reads them through the builder's reader)."""
    from layerscope.sources.docker_archive import DockerArchiveHandle
    from layerscope.sources.layout import LayoutHandle
    from layerscope.sources.stores import DirStore, TarStore

    ref = parse(text)
    if ref.transport == "docker-archive":
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
    if ref.transport == "oci-archive":
        if not os.path.isfile(ref.location):
            raise BadReferenceError(f"no such file: {ref.location}")
        store = TarStore(ref.location)
        if not store.exists("index.json"):
            raise FormatError(f"{ref.location} is not an OCI archive: no index.json")
        return LayoutHandle(store, "oci-archive", ref.text, ref.selector)
    if ref.transport == "oci":
        if not os.path.isdir(ref.location):
            raise BadReferenceError(f"no such directory: {ref.location}")
        return LayoutHandle(DirStore(ref.location), "oci", ref.text, ref.selector)
    if ref.transport == "path":
        return open_path(ref.location, ref)
    if ref.transport == "docker-daemon":
        from layerscope.sources.daemon import DaemonHandle

        return DaemonHandle(ref.location, ref.text, verify=verify, scan_secrets=scan_secrets)
    if ref.transport == "docker":
        return _registry_handle(ref, registry)
    if ref.transport == "":
        return _bare_name(ref, verify, registry, scan_secrets)
    raise BadReferenceError(f"unknown reference {text!r}")


def _registry_handle(ref: Reference, options: RegistryOptions | None) -> ImageHandle:
    from layerscope.sources.registry.handle import RegistryHandle  # httpx only when needed

    return RegistryHandle(ref.location, ref.text, options)


def _bare_name(ref: Reference, verify: bool, options: RegistryOptions | None, scan_secrets: bool) -> ImageHandle:
    from layerscope.sources.daemon import DaemonHandle
    from layerscope.sources.fallback import FallbackHandle

    return FallbackHandle(
        ref.location,
        ref.text,
        lambda: DaemonHandle(ref.location, ref.text, verify=verify, scan_secrets=scan_secrets),
        lambda: _registry_handle(ref, options),
    )
