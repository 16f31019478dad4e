"""`--catalog docker://HOST[/PREFIX]`: the repositories and tags a registry lists.

`GET /v2/_catalog?n=N` and `GET /v2/<name>/tags/list?n=N`, page after page through the
`Link: <...>; rel="next"` header (distribution's pagination), with the same client,
authentication and retries as every other registry request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from layerscope.errors import BadReferenceError, FormatError, RegistryError
from layerscope.sources.registry.client import RegistryClient, read_limited
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.reference import RegistryName, parse_name

PAGE = 1000  # distribution's own maximum for n
MAX_PAGE_BYTES = 16 << 20
MAX_PAGES = 100_000  # a registry whose Link never ends is not followed forever
MAX_NAMES = 1_000_000  # repositories in a catalog, tags of one repository: a bound on the client's memory
CATALOG_SCOPE = "registry:catalog:*"  # the token scope the catalog needs (distribution's token spec)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    registry: str  # host[:port] as parsed (docker.io normalised)
    prefix: str  # repositories below this path ("" for all)

    def matches(self, repository: str) -> bool:
        return not self.prefix or repository == self.prefix or repository.startswith(self.prefix + "/")


def parse_catalog(text: str) -> CatalogSpec:
    if not text.startswith("docker://"):
        raise BadReferenceError(f"--catalog {text!r}: expected docker://HOST[/PREFIX]")
    rest = text[len("docker://") :].rstrip("/")
    host, _, prefix = rest.partition("/")
    if not host:
        raise BadReferenceError(f"--catalog {text!r}: no registry host")
    try:
        name = parse_name(f"{host}/{prefix or 'x'}")
    except BadReferenceError as err:
        raise BadReferenceError(f"--catalog {text!r}: {err}") from None
    if name.registry != host.lower() and "." not in host and ":" not in host and host != "localhost":
        raise BadReferenceError(f"--catalog {text!r}: {host!r} is not a registry host (it has no '.' or ':')")
    return CatalogSpec(name.registry, prefix)


def next_link(response: httpx.Response) -> str | None:
    """The path and query of the next page, or None on the last one."""
    for value in response.headers.get_list("link"):
        m = _NEXT.search(value)
        if m:
            url = httpx.URL(m.group(1))
            query = url.query.decode()
            return url.path + (f"?{query}" if query else "")
    return None


def _pages(client: RegistryClient, path: str, key: str, what: str) -> Iterator[str]:
    seen = {path}
    names = 0
    for _ in range(MAX_PAGES):
        response = client.request("GET", path, {"Accept": "application/json"}, what=what)
        if response.status_code != 200:
            raise client.fail(response, what)
        link = next_link(response)
        raw = read_limited(response, MAX_PAGE_BYTES, what)
        try:
            doc = json.loads(raw)
        except ValueError:
            raise FormatError(f"{client.name.registry} answered {what} with something that is not JSON") from None
        items = doc.get(key) if isinstance(doc, dict) else None
        if items is None:
            items = []  # distribution answers a repository without tags with "tags": null
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise FormatError(f"{client.name.registry} answered {what} without a list of {key}")
        names += len(items)
        if names > MAX_NAMES:
            raise RegistryError(f"{client.name.registry} lists more than {MAX_NAMES} names in {what}")
        yield from items
        if link is None:
            return
        if link in seen:  # a next page already read: the listing would go round for ever
            raise RegistryError(f"{client.name.registry} sent a page of {what} twice (its Link header loops)")
        seen.add(link)
        path = link
    raise RegistryError(f"{client.name.registry} kept sending pages of {what} ({MAX_PAGES} pages)")


def repositories(spec: CatalogSpec, options: RegistryOptions, page: int = PAGE) -> list[str]:
    """Every repository below the prefix, in the order the registry lists them."""
    client = RegistryClient(RegistryName(spec.registry, CATALOG_SCOPE), options)
    try:
        names = list(_pages(client, f"/v2/_catalog?n={page}", "repositories", "the catalog (/v2/_catalog)"))
    finally:
        client.close()
    return [n for n in names if spec.matches(n)]


def tags(registry: str, repository: str, options: RegistryOptions, page: int = PAGE) -> list[str]:
    client = RegistryClient(RegistryName(registry, repository), options)
    try:
        return list(_pages(client, f"/v2/{repository}/tags/list?n={page}", "tags", f"the tags of {repository}"))
    finally:
        client.close()


_PART = re.compile(r"(\d+)")


def version_key(tag: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: 1.10 after 1.9, numbers before words within a position."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PART.split(tag) if p)


def choose_tags(names: list[str], pattern: re.Pattern[str] | None, latest: int | None) -> list[str]:
    """Tags matching --tags (a regular expression searched in the tag), the --latest N
    highest in natural version order; sorted that way."""
    chosen = sorted((t for t in names if pattern is None or pattern.search(t)), key=version_key)
    return chosen[-latest:] if latest else chosen
