"""Which images a fleet run reads: references given, listed in a file, found in a catalog."""

from __future__ import annotations

import re
import sys

from layerscope.errors import BadReferenceError, LayerscopeError, UsageError
from layerscope.fleet import catalog
from layerscope.fleet.records import Target
from layerscope.readfile import read_bytes
from layerscope.sources.references import parse
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.reference import parse_name

MAX_LIST_BYTES = 16 << 20


def target_of(reference: str) -> Target:
    """The repository and tag a table shows for a reference (the reference itself where it
    names no registry repository)."""
    try:
        ref = parse(reference)
    except LayerscopeError:
        return Target(reference, reference, None)
    if ref.transport in ("docker", ""):
        try:
            name = parse_name(ref.location)
        except LayerscopeError:  # reported on the image's own row when it is read
            return Target(reference, reference, None)
        return Target(reference, f"{name.registry}/{name.repository}", name.tag)
    return Target(reference, ref.location, ref.selector)


def read_list(path: str) -> list[str]:
    """--from-file: one reference a line (`-`: standard input); blank lines and `#` comments skipped."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_LIST_BYTES + 1)
        else:  # a regular file only: a FIFO or /dev/zero would block or never end
            raw = read_bytes(path, "reference list", MAX_LIST_BYTES + 1)
    except OSError as err:
        raise BadReferenceError(f"cannot read {path}: {err.strerror}") from None
    if len(raw) > MAX_LIST_BYTES:
        raise UsageError(f"{path} is larger than {MAX_LIST_BYTES} bytes: not a list of references")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadReferenceError(f"{path} is not UTF-8 text (one image reference a line)") from None
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def from_catalog(
    spec_text: str,
    options: RegistryOptions,
    pattern: re.Pattern[str] | None,
    latest: int | None,
    page: int = catalog.PAGE,
) -> list[Target]:
    """Every chosen tag of every repository listed; a repository whose tags cannot be listed
    (a 500 that outlasts the retries, a page that is not JSON) is one failed row naming it,
    as a broken image is, and the others are read."""
    spec = catalog.parse_catalog(spec_text)
    out = []
    for repository in catalog.repositories(spec, options, page):
        try:
            names = catalog.tags(spec.registry, repository, options, page)
        except LayerscopeError as err:
            reason = " ".join(str(err).split())[:500]  # one line, as every row's error
            name = f"{spec.registry}/{repository}"
            out.append(Target(f"docker://{name}", name, None, f"cannot list the tags of {repository}: {reason}"))
            continue
        for tag in catalog.choose_tags(names, pattern, latest):
            out.append(target_of(f"docker://{spec.registry}/{repository}:{tag}"))
    return out


def compile_tags(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as err:
        raise UsageError(f"--tags {text!r}: not a regular expression ({err})") from None


def collect(
    refs: list[str],
    from_file: str | None = None,
    catalog_spec: str | None = None,
    options: RegistryOptions | None = None,
    tags: str | None = None,
    latest: int | None = None,
    page: int = catalog.PAGE,
) -> list[Target]:
    """Every image once, in the order given: the references, the file's, the catalog's."""
    if latest is not None and latest < 1:
        raise UsageError("--latest must be at least 1")
    if (tags is not None or latest is not None) and catalog_spec is None:
        raise UsageError("--tags and --latest filter a --catalog listing: give --catalog docker://HOST[/PREFIX]")
    pattern = compile_tags(tags)
    texts = list(refs)
    if from_file:
        texts += read_list(from_file)
    listed: list[Target] = []
    if catalog_spec:
        listed = from_catalog(catalog_spec, options or RegistryOptions.create(), pattern, latest, page)
        if not listed and not texts:
            what = "no repository with a tag" + (" matching --tags" if pattern else "")
            raise UsageError(f"--catalog {catalog_spec}: the registry lists {what} there")
    if not texts and not listed:
        raise UsageError("no images: give references, --from-file FILE or --catalog docker://HOST[/PREFIX]")
    seen: dict[str, Target] = {}
    for target in [*(target_of(t) for t in dict.fromkeys(texts)), *listed]:
        seen.setdefault(target.reference, target)
    return list(seen.values())
