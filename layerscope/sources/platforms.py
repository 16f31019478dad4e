"""Platforms: parsing, normalisation and ranking index entries, as containerd does.

The rules are those of containerd's `platforms` package (what Docker, BuildKit and nerdctl
use): `Normalize` for names, `Only(p)` for which entries a request accepts and in which
order. One extension, for a profiler that never runs the image: a request for amd64 without
a microarchitecture level that containerd cannot satisfy falls back to the lowest level the
index has (docs/image-formats.md §7).
"""

from __future__ import annotations

import platform as _platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerscope.errors import PlatformError

# `os[(version[+feature]...)]/arch[/variant]`: containerd's specifier syntax.
_SPEC = re.compile(r"^([A-Za-z0-9_-]+)(?:\(([^()+]*)((?:\+[^()+]+)*)\))?$")
_PART = re.compile(r"^[A-Za-z0-9_.-]+$")
# Names `uname -m` gives on 32-bit ARM hosts (containerd reads the variant from /proc/cpuinfo).
_HOST_ARM = {"armv5tel": "v5", "armv5tejl": "v5", "armv6l": "v6", "armv7l": "v7", "armv8l": "v8"}


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""  # Windows build (`os.version`), e.g. 10.0.17763.1234
    os_features: tuple[str, ...] = ()  # sorted, unique (`os.features`, e.g. win32k)

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        m = _SPEC.match(parts[0]) if parts else None
        if len(parts) not in (2, 3) or m is None or not all(_PART.match(p) for p in parts[1:]):
            raise PlatformError(f"bad platform {text!r}: expected os[(version)]/arch[/variant], e.g. linux/arm64")
        features = tuple(f for f in (m.group(3) or "").split("+") if f)
        return cls.normalized(m.group(1), parts[1], parts[2] if len(parts) == 3 else "", m.group(2) or "", features)

    @classmethod
    def normalized(
        cls, os_: str, arch: str, variant: str = "", os_version: str = "", os_features: tuple[str, ...] = ()
    ) -> Platform:
        os_ = os_.lower()
        if os_ == "macos":
            os_ = "darwin"
        arch, variant = normalize_arch(arch, variant)
        return cls(os_, arch, variant, os_version, tuple(sorted(set(os_features))))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Platform:
        features = d.get("os.features")
        return cls.normalized(
            str(d.get("os", "")),
            str(d.get("architecture", "")),
            str(d.get("variant") or ""),
            str(d.get("os.version") or ""),
            tuple(str(f) for f in features) if isinstance(features, list) else (),
        )


def normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd's `normalizeArch`, plus `i686` (a name `uname -m` gives) as `386`."""
    arch, variant = arch.lower(), variant.lower()
    if arch in ("i386", "i686"):
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "" if variant in ("8", "v8") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
    return arch, variant


def host() -> Platform:
    """This machine's platform for images: always linux (as Docker Desktop on macOS), no
    amd64 level (the image is read, not run: see `preference`)."""
    machine = (_platform.machine() or "amd64").lower()
    if machine in _HOST_ARM:
        return Platform.normalized("linux", "arm", _HOST_ARM[machine])
    return Platform.normalized("linux", machine)


def is_attestation(descriptor: dict[str, Any]) -> bool:
    ann = descriptor.get("annotations")
    if isinstance(ann, dict) and ann.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    plat = descriptor.get("platform")
    return isinstance(plat, dict) and plat.get("os") == "unknown" and plat.get("architecture") == "unknown"


def _level(variant: str) -> int | None:
    digits = variant[1:] if variant.startswith("v") else variant
    return int(digits) if digits.isdigit() else None


def accepted(wanted: Platform) -> list[Platform]:
    """containerd's `platformVector(Normalize(p))`: what a request accepts, best first."""
    out = [wanted]

    def alike(arch: str, variant: str) -> Platform:
        return Platform(wanted.os, arch, variant, wanted.os_version, wanted.os_features)

    arch, variant = wanted.architecture, wanted.variant
    if arch == "amd64":
        level = _level(variant)
        if level is not None and level > 1:
            out += [alike("amd64", f"v{n}" if n > 1 else "") for n in range(level - 1, 0, -1)]
        out.append(alike("386", ""))
    elif arch == "arm":
        level = _level(variant)
        if level is not None and level > 5:
            out += [alike("arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif arch == "arm64":
        out += _arm64_lower(variant or "v8", alike)
        arm = "v8" if variant.startswith(("v8.", "v9.")) else variant or "v8"
        out += accepted(alike("arm", normalize_arch("arm", arm)[1]))
    return out


def _arm64_lower(variant: str, alike: Callable[[str, str], Platform]) -> list[Platform]:
    """Lower arm64 levels: v9.x → v9.(x-1) … v9, then v8.(x+5) … v8; v8.x → v8.(x-1) … v8."""
    major_text, _, minor_text = variant.partition(".")
    major = _level(major_text)
    if major is None or major < 8:
        return []
    minor = int(minor_text) if len(variant) == 4 and minor_text.isdigit() else 0
    out: list[Platform] = []

    def level(maj: int, mnr: int) -> Platform:
        name = f"v{maj}" if mnr == 0 else f"v{maj}.{mnr}"
        return alike("arm64", normalize_arch("arm64", name)[1])

    if major == 9:
        out += [level(9, m) for m in range(minor - 1, -1, -1)]
        minor, major = minor + 5, 8
        out.append(level(8, minor))
    out += [level(major, m) for m in range(minor - 1, -1, -1)]
    return out


def _same(candidate: Platform, wanted: Platform) -> bool:
    """containerd's `matcher.Match`: equal names; a Windows request with a version accepts
    entries of the same build (major.minor.build) or without a version (containerd's
    host/container compatibility table for newer builds is not reproduced); the entry's OS
    features must all be in the request."""
    if (candidate.os, candidate.architecture, candidate.variant) != (wanted.os, wanted.architecture, wanted.variant):
        return False
    build = wanted.os_version.split(".")[:3]
    if (
        wanted.os == "windows"
        and wanted.os_version
        and candidate.os_version
        and candidate.os_version.split(".")[:3] != build
    ):
        return False
    return set(candidate.os_features) <= set(wanted.os_features)


def preference(candidate: Platform, wanted: Platform) -> int | None:
    """Rank of an index entry for a request (lower is better), None when it is not accepted.

    containerd's `Only(wanted)` order. Past it, for an amd64 request without a level only: the
    levels v2, v3, … in that order (containerd, on a real host, would take the best level the
    CPU has; a profiler runs nothing, so it takes the one most machines can run).
    """
    vector = accepted(wanted)
    for rank, p in enumerate(vector):
        if _same(candidate, p):
            return rank
    if wanted.architecture == "amd64" and not wanted.variant and candidate.architecture == "amd64":
        level = _level(candidate.variant)
        if level is not None and level > 1 and _same(replace_variant(candidate, ""), wanted):
            return len(vector) + level
    return None


def replace_variant(p: Platform, variant: str) -> Platform:
    return Platform(p.os, p.architecture, variant, p.os_version, p.os_features)
