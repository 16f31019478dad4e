"""Platforms: parsing, normalisation (containerd's rules) and choosing a manifest."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass
from typing import Any

from layerscope.errors import PlatformError

_ARCH = {
    "x86_64": ("amd64", ""),
    "x86-64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
}


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise PlatformError(f"bad platform {text!r}: expected os/arch[/variant], e.g. linux/arm64")
        return cls.normalized(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    @classmethod
    def normalized(cls, os_: str, arch: str, variant: str = "") -> Platform:
        os_ = os_.lower()
        if os_ == "macos":
            os_ = "darwin"
        arch = arch.lower()
        variant = (variant or "").lower()
        if arch in _ARCH:
            arch, default_variant = _ARCH[arch]
            variant = variant or default_variant
        if arch == "arm64" and variant in ("v8", "8"):
            variant = ""
        if arch == "amd64" and variant == "v1":
            variant = ""
        if arch == "arm" and not variant:
            variant = "v7"
        if arch == "arm" and variant.isdigit():
            variant = "v" + variant
        return cls(os_, arch, variant)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Platform:
        return cls.normalized(str(d.get("os", "")), str(d.get("architecture", "")), str(d.get("variant", "")))


def host() -> Platform:
    return Platform.normalized("linux", _platform.machine() or "amd64")


def is_attestation(descriptor: dict[str, Any]) -> bool:
    ann = descriptor.get("annotations")
    if isinstance(ann, dict) and ann.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    plat = descriptor.get("platform")
    return isinstance(plat, dict) and plat.get("os") == "unknown" and plat.get("architecture") == "unknown"


def matches(candidate: Platform, wanted: Platform, strict: bool) -> bool:
    if candidate == wanted:
        return True
    if strict or candidate.os != wanted.os:
        return False
    # Lower variants run on higher ones (amd64 v3 runs v2/v1 images, arm v7 runs v6/v5).
    if candidate.architecture == wanted.architecture and candidate.variant and wanted.variant:
        return candidate.variant < wanted.variant
    return candidate.architecture == wanted.architecture and not candidate.variant
