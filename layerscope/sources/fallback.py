"""A bare image name: the Docker engine first, then the registry (stereoscope's way).

Which source answers is only known once one of them resolves the image, so this handle
tries both in `resolve` and then hands every later call to the one that worked. When
both fail, the error names both reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from layerscope.errors import EngineError, LayerscopeError, RegistryError
from layerscope.model import LayerRecord
from layerscope.sources.handle import Descriptor, ImageHandle, LayerReader, ResolvedManifest
from layerscope.sources.platforms import Platform

Opener = Callable[[], ImageHandle]


class FallbackHandle:
    def __init__(self, name: str, reference: str, engine: Opener, registry: Opener) -> None:
        self.name = name
        self.reference = reference
        self._openers = (("Docker engine", engine), ("registry", registry))
        self._active: ImageHandle | None = None
        self.transport = "docker-daemon"  # until resolve() knows which source answered
        self.parallel_safe = False

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        reasons: list[str] = []
        for i, (label, opener) in enumerate(self._openers):
            handle: ImageHandle | None = None
            try:
                handle = opener()
                manifest = handle.resolve(platform)
            except LayerscopeError as err:
                if handle is not None:
                    handle.close()
                if i == 0 and not isinstance(err, EngineError):
                    raise  # the engine has the image but it is broken: that is the answer
                reasons.append(f"{label}: {err}")
                continue
            self._active = handle
            self.transport, self.parallel_safe = handle.transport, handle.parallel_safe
            return manifest
        raise RegistryError(f"cannot open {self.name!r} — " + "; ".join(reasons))

    def _handle(self) -> ImageHandle:
        if self._active is None:
            raise RegistryError(f"{self.name!r} was not resolved")
        return self._active

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        return self._handle().config_bytes(manifest)

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        return self._handle().layer_record(descriptor, index, read)

    def close(self) -> None:
        if self._active is not None:
            self._active.close()
