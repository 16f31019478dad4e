"""Registry image names: `HOST/REPO[:TAG|@DIGEST]`, with Docker Hub's conventions.

Follows distribution's reference grammar (`reference/regexp.go`) and Docker's
normalisation: a first path component is a registry host only if it has a `.` or a `:`
or is `localhost`; otherwise the name is on Docker Hub, and one-component Hub names get
`library/`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from layerscope.errors import BadReferenceError, LayerscopeError
from layerscope.sources import manifests

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# The key `docker login` writes for Docker Hub, and the server URL its helpers expect.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?::[0-9]+)?$"
)
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class RegistryName:
    """A parsed, normalised image name in a registry."""

    registry: str  # "docker.io" for Docker Hub, else host[:port] as written (lower-cased)
    repository: str  # "library/python", "sample/x"
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Where the distribution API lives (Docker Hub's is not docker.io)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def hostname(self) -> str:
        """The host without the port (and without IPv6 brackets)."""
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.hostname)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_name(text: str) -> RegistryName:
    """`[HOST/]REPO[:TAG][@DIGEST]`, normalised as Docker does."""
    if not text:
        raise BadReferenceError("empty registry reference")
    first = text.split("/", 1)[0]
    if "@" in first and "/" in text and not first.startswith("["):
        # user:password@host/... : never echo it back, it may hold a secret.
        raise BadReferenceError(
            "credentials in an image reference are not supported; use --username and --password-stdin"
        )
    remainder, at, digest = text.partition("@")
    if at:
        try:
            manifests.check_digest(digest, "the reference")
        except LayerscopeError:
            raise BadReferenceError(f"{text!r}: invalid digest {digest!r} (expected sha256:<64 hex digits>)") from None
    registry, path = _split_host(remainder)
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
        if not _TAG.match(tag):
            raise BadReferenceError(f"{text!r}: invalid tag {tag!r}")
    if not path:
        raise BadReferenceError(f"{text!r}: no repository name")
    if path != path.lower():
        raise BadReferenceError(f"{text!r}: repository names must be lowercase")
    if registry == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            raise BadReferenceError(f"{text!r}: invalid repository name component {component!r}")
    if len(registry) + 1 + len(path) > MAX_NAME:
        raise BadReferenceError(f"{text!r}: name longer than {MAX_NAME} characters")
    return RegistryName(registry, path, tag if tag or digest else "latest", digest or None)


def _split_host(remainder: str) -> tuple[str, str]:
    head, slash, rest = remainder.partition("/")
    if slash and ("." in head or ":" in head or head == "localhost" or head.startswith("[")):
        if not _HOST.match(head):
            raise BadReferenceError(f"{remainder!r}: invalid registry host {head!r}")
        host = head.lower()
        return (DOCKER_HUB if host in HUB_ALIASES else host), rest
    return DOCKER_HUB, remainder
