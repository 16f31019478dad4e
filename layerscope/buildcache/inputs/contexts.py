"""Named build contexts (`--build-context NAME=VALUE`): the forms modelled, parsed and checked once.

Modelled forms (BuildKit's `docker buildx build --build-context`, buildah's `--build-context`):
* `NAME=DIR`: a local directory, read like the main context (its own `.dockerignore` applies in BuildKit);
* `NAME=docker-image://REF` and `NAME=oci-layout://DIR[:TAG|@DIGEST]`: an image, base-like: whether it
  changed since the last build is said with `--base-changed NAME` (or another REF in `--old-build-context`).
Git and HTTP URLs (`https://...`, `git@...`) and bake's `target:` are not modelled: refused with exit 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from layerscope.errors import UsageError

DIR_CONTEXT, IMAGE_CONTEXT, OCI_LAYOUT_CONTEXT = "dir", "docker-image", "oci-layout"
FORMS = "NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG]"
# a context name is an image reference name (BuildKit parses it with reference.ParseNormalizedNamed)
_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                   r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")  # fmt: skip
_REMOTE = ("http://", "https://", "git://", "git@", "ssh://", "target:", "input:", "local:")


@dataclass(frozen=True, slots=True)
class NamedContext:
    """One `--build-context`: its name, its form (DIR_CONTEXT, IMAGE_CONTEXT, OCI_LAYOUT_CONTEXT) and where it is."""

    name: str
    kind: str
    source: str  # the directory, the image reference, or the layout directory with its :TAG/@DIGEST

    @property
    def image_like(self) -> bool:
        return self.kind != DIR_CONTEXT

    @property
    def spec(self) -> str:
        return f"{self.name}={self.source}" if self.kind == DIR_CONTEXT else f"{self.name}={self.kind}://{self.source}"


def parse_context(item: str, flag: str = "--build-context") -> NamedContext:
    """One NAME=VALUE; a bad form, an unmodelled form or a missing directory is a UsageError (exit 2)."""
    name, eq, value = item.partition("=")
    if not eq or not name or not value:
        raise UsageError(f"{flag} {item!r}: expected {FORMS}")
    if not _NAME.match(name):
        raise UsageError(f"{flag} {item!r}: {name!r} is not a valid context name (lower-case image-name characters)")
    if name in ("scratch", "context"):
        raise UsageError(f"{flag} {item!r}: {name!r} is reserved: no builder uses a named context of that name")
    if value.startswith("docker-image://"):
        ref = value[len("docker-image://") :]
        if not ref:
            raise UsageError(f"{flag} {item!r}: docker-image:// needs an image reference")
        return NamedContext(name, IMAGE_CONTEXT, ref)
    if value.startswith("oci-layout://"):
        ref = value[len("oci-layout://") :]
        layout = re.split(r"@sha256:|:(?=[^/]*$)", ref, maxsplit=1)[0]
        if not layout or not os.path.isdir(layout):
            raise UsageError(f"{flag} {item!r}: no OCI layout directory {layout or '(empty)'}")
        return NamedContext(name, OCI_LAYOUT_CONTEXT, ref)
    if value.startswith(_REMOTE) or "://" in value:
        raise UsageError(f"{flag} {item!r}: only {FORMS} are modelled (not git, HTTP or other sources)")
    if not os.path.isdir(value):
        raise UsageError(f"{flag} {item!r}: no such directory {value}")
    return NamedContext(name, DIR_CONTEXT, value)


def parse_contexts(items: list[str], flag: str = "--build-context") -> tuple[NamedContext, ...]:
    out: dict[str, NamedContext] = {}
    for item in items:
        ctx = parse_context(item, flag)
        if ctx.name in out:
            raise UsageError(f"{flag} {ctx.name}: given twice")
        out[ctx.name] = ctx
    return tuple(out.values())
