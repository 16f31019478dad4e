"""--catalog against the real docker-registry: pagination with its `n=` parameter, prefixes,
--tags and --latest; the Link parser and the tag order as properties."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import BadReferenceError, UsageError
from layerscope.fleet import catalog
from layerscope.fleet.targets import collect
from layerscope.sources.registry.options import RegistryOptions
from tests.support.fleetimages import Fleet
from tests.support.registry import FaultProxy, Registry


@pytest.mark.registry
def test_catalog_pages_through_every_repository(fleet: Fleet, fleet_registry: Registry) -> None:
    proxy = FaultProxy(f"http://{fleet_registry.host}")
    try:
        spec = catalog.parse_catalog(f"docker://{proxy.host}")
        names = catalog.repositories(spec, RegistryOptions.create(), page=2)
        pages = [r.path for r in proxy.requests if r.path.startswith("/v2/_catalog")]
    finally:
        proxy.close()
    assert sorted(names) == fleet.repositories
    n = len(fleet.repositories)
    assert len(pages) in ((n + 1) // 2, n // 2 + 1)  # two a page (distribution may or may not link an empty last one)
    assert all("n=2" in p for p in pages) and any("last=" in p for p in pages)


@pytest.mark.registry
def test_catalog_prefix_tags_and_latest(fleet: Fleet, fleet_registry: Registry) -> None:
    host = fleet_registry.host
    every = collect([], catalog_spec=f"docker://{host}/apps", page=3)
    agent = [i.tag for i in fleet.images if i.repository == "apps/agent"]
    webs = [i for i in fleet.images if i.repository.startswith("apps/web-")]
    assert len(every) == len(agent) + len(webs)
    assert all(t.repository.startswith(f"{host}/apps/") for t in every)
    latest = collect([], catalog_spec=f"docker://{host}/apps/agent", latest=3, page=5)
    assert [t.tag for t in latest] == ["1.9", "1.10", "1.11"]  # natural order, not the registry's lexical one
    assert latest[0].reference == f"docker://{host}/apps/agent:1.9"
    ml = collect([], catalog_spec=f"docker://{host}/ml", tags=r"^v[34]$|^2024\.2$", page=1)
    assert sorted(t.reference.rsplit("/", 1)[1] for t in ml) == ["serve:2024.2", "train:v3", "train:v4"]
    with pytest.raises(UsageError, match="lists no repository with a tag matching --tags there"):
        collect([], catalog_spec=f"docker://{host}/ml", tags="^nothing$")
    with pytest.raises(UsageError, match=r"/nope: the registry lists no repository with a tag there"):
        collect([], catalog_spec=f"docker://{host}/nope")


def test_catalog_argument_errors() -> None:
    with pytest.raises(BadReferenceError, match="expected docker://HOST"):
        catalog.parse_catalog("registry.example/ml")
    with pytest.raises(BadReferenceError, match="not a registry host"):
        catalog.parse_catalog("docker://ml/team")
    with pytest.raises(UsageError, match="filter a --catalog"):
        collect(["docker://registry.example/a:1"], latest=2)
    with pytest.raises(UsageError, match="not a regular expression"):
        collect([], catalog_spec="docker://registry.example", tags="(")


def test_next_link_reads_distribution_and_absolute_links() -> None:
    r = httpx.Response(200, headers={"Link": '</v2/_catalog?last=b&n=2>; rel="next"'})
    assert catalog.next_link(r) == "/v2/_catalog?last=b&n=2"
    r = httpx.Response(200, headers={"Link": "<https://r.example/v2/x/tags/list?n=5&last=1.2>; rel=next"})
    assert catalog.next_link(r) == "/v2/x/tags/list?n=5&last=1.2"
    assert catalog.next_link(httpx.Response(200)) is None
    assert catalog.next_link(httpx.Response(200, headers={"Link": '</v2/a>; rel="prev"'})) is None


_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True)


@given(st.lists(_tag, max_size=30), st.integers(min_value=1, max_value=10))
def test_latest_is_the_top_of_the_natural_order(tags: list[str], n: int) -> None:
    chosen = catalog.choose_tags(tags, None, n)
    ordered = sorted(tags, key=catalog.version_key)
    assert chosen == ordered[-n:]
    assert len(chosen) == min(n, len(tags))


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=4),
       st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=4))  # fmt: skip
def test_version_key_orders_numbers_as_numbers(a: list[int], b: list[int]) -> None:
    ta, tb = ".".join(map(str, a)), ".".join(map(str, b))
    assert (catalog.version_key(ta) < catalog.version_key(tb)) == (a < b)


@given(st.text(max_size=40))
def test_link_parser_never_fails(text: str) -> None:
    try:
        r = httpx.Response(200, headers={"Link": text})
    except (UnicodeEncodeError, ValueError):
        return
    result = catalog.next_link(r)
    assert result is None or isinstance(result, str)


def test_tags_pattern_is_searched() -> None:
    assert catalog.choose_tags(["v1", "rc-v2", "x"], re.compile("v"), None) == ["rc-v2", "v1"]
