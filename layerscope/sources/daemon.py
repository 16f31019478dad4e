"""`docker-daemon:NAME[:TAG]`: the local Docker engine through the docker SDK.

The engine exports an image as a `docker save` stream. Nothing of it is written to disk:
the stream is walked once, each blob read speculatively as a layer as it passes (the
manifest comes last), small JSON documents kept in memory, and the docker-save layout
logic then runs over what was kept.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO

from layerscope.errors import EngineError, FormatError, LayerscopeError
from layerscope.layers.reader import read_layer
from layerscope.layers.streams import Readable
from layerscope.layers.tarwalk import TarWalker
from layerscope.model import LayerRecord
from layerscope.sources.docker_archive import DockerArchiveHandle, blob_digest
from layerscope.sources.handle import Descriptor, LayerReader, ResolvedManifest
from layerscope.sources.platforms import Platform
from layerscope.sources.stores import MAX_LINK_HOPS, clean_member

SMALL = 4 << 20
MAX_KEPT = 256 << 20


class _IterStream:
    """A file-like view of the SDK's chunk iterator (memoryview slices: no copying of the rest)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            rest = [bytes(self._buf), *self._chunks]
            self._buf = memoryview(b"")
            return b"".join(rest)
        out = bytearray()
        while len(out) < size:
            if not self._buf:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._buf = memoryview(chunk)
                continue
            take = min(size - len(out), len(self._buf))
            out += self._buf[:take]
            self._buf = self._buf[take:]
        return bytes(out)

    def seekable(self) -> bool:
        return False


class _KeptStore:
    """What the speculative pass kept: JSON documents, layer sizes, member links."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.docs: dict[str, bytes] = {}
        self.sizes: dict[str, int] = {}
        self.links: dict[str, str] = {}

    def _resolve(self, name: str) -> str:
        name = clean_member(name, "file")
        for _ in range(MAX_LINK_HOPS):
            if name not in self.links:
                return name
            name = self.links[name]
        raise FormatError(f"symlink loop at {name} in {self.label}")

    def exists(self, name: str) -> bool:
        n = self._resolve(name)
        return n in self.docs or n in self.sizes

    def read(self, name: str, what: str = "file") -> bytes:
        n = self._resolve(name)
        if n not in self.docs:
            raise FormatError(f"{what} {name} is missing from {self.label}")
        return self.docs[n]

    def size(self, name: str) -> int:
        n = self._resolve(name)
        return self.sizes.get(n, len(self.docs.get(n, b"")))

    def identity(self, name: str) -> str | None:
        return None  # a stream: no file to know again

    def open(self, name: str) -> BinaryIO:
        raise FormatError(f"{name}: the engine's export is a stream and cannot be reopened")

    def names(self) -> list[str]:
        return [*self.docs, *self.sizes]


class DaemonHandle:
    transport = "docker-daemon"
    parallel_safe = False

    def __init__(self, name: str, reference: str, verify: bool = False, scan_secrets: bool = False) -> None:
        self.name = name
        self.reference = reference
        self.verify = verify
        self.scan_secrets = scan_secrets
        self._store = _KeptStore(f"the engine's export of {name}")
        self._records: dict[str, LayerRecord] = {}
        self._errors: dict[str, str] = {}
        self._archive: DockerArchiveHandle | None = None
        self.client = _client()

    def image_attrs(self) -> dict[str, Any]:
        import docker.errors

        try:
            return dict(self.client.images.get(self.name).attrs)
        except docker.errors.ImageNotFound:
            raise EngineError(f"the Docker engine has no image {self.name!r}") from None
        except docker.errors.APIError as err:
            raise EngineError(f"the Docker engine refused {self.name!r}: {err.explanation or err}") from None
        except docker.errors.DockerException as err:
            raise EngineError(f"cannot talk to the Docker engine: {err}") from None

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        import docker.errors

        self.image_attrs()  # a clear "no such image" before the export starts
        try:
            chunks = self.client.api.get_image(self.name)
            self._walk(_IterStream(iter(chunks)))
        except docker.errors.DockerException as err:
            raise EngineError(f"the Docker engine failed to export {self.name!r}: {err}") from None
        self._archive = DockerArchiveHandle(self._store, self.reference, None, self.transport)
        return self._archive.resolve(platform)

    def _walk(self, stream: _IterStream) -> None:
        walker = TarWalker(stream)
        kept = 0
        for h in walker:
            name = posixpath.normpath(h.name.lstrip("/"))
            if h.typeflag in ("1", "2"):
                target = h.linkname if h.typeflag == "1" else posixpath.join(posixpath.dirname(name), h.linkname)
                self._store.links[name] = posixpath.normpath(target.lstrip("/"))
                continue
            if h.typeflag not in ("0", "7"):
                continue
            if h.size <= SMALL:
                # Small members are read whole: JSON documents (manifests, configs, indexes,
                # attestations) are kept whatever their name; Docker 25+ and containerd saves
                # name configs blobs/sha256/<hex> like layers, so the bytes decide.
                data = walker.read_data()
                if _is_json(data):
                    kept += len(data)
                    if kept > MAX_KEPT:
                        raise FormatError("the engine's export holds too many JSON documents")
                    self._store.docs[name] = data
                    continue
                stream_in: Readable = _BytesStream(data)
            else:
                stream_in = walker.entry_stream()
            self._store.sizes[name] = h.size
            try:
                self._records[name] = read_layer(
                    stream_in,
                    verify=self.verify,
                    expected_digest=blob_digest(name),
                    what=f"layer {name}",
                    scan_secrets=self.scan_secrets,
                )
            except LayerscopeError as err:
                self._errors[name] = str(err)

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        assert self._archive is not None
        return self._archive.config_bytes(manifest)

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        assert descriptor.location is not None
        name = self._store._resolve(descriptor.location)
        if name in self._errors:
            raise FormatError(self._errors[name])
        if name not in self._records:
            raise FormatError(f"layer {index} ({descriptor.location}) is missing from the engine's export")
        return self._records[name]

    def close(self) -> None:
        self.client.close()


class _BytesStream:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        out = self._data[self._pos : end]
        self._pos += len(out)
        return out


def _is_json(data: bytes) -> bool:
    """A JSON document (a tar, gzip or zstd layer never parses as one)."""
    if data.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _client() -> Any:
    import docker
    import docker.errors

    try:
        client = docker.from_env(version="auto", timeout=600)
    except docker.errors.DockerException as err:
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise EngineError(f"no Docker engine at {host}: {_short(err)}") from None
    return client


def _short(err: Exception) -> str:
    text = str(err)
    if "FileNotFoundError" in text or "No such file" in text or "Connection refused" in text:
        return "it is not running (or the socket is elsewhere: set DOCKER_HOST)"
    return text.splitlines()[0][:200]
