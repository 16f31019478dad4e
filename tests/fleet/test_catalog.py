"""--catalog against the real docker-registry: pagination with its `n=` parameter, prefixes,
--tags and --latest; the Link parser and the tag order as properties."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import BadReferenceError, RegistryError, UsageError
from layerscope.fleet import catalog, runner
from layerscope.fleet.records import Settings
from layerscope.fleet.targets import collect
from layerscope.sources.registry.options import RegistryOptions
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import Fleet
from tests.support.registry import FaultProxy, Registry, Rule


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


class EndlessCatalog(BaseHTTPRequestHandler):
    """A registry whose catalog never ends: every page links to a next one (`loop`: always the
    same one). Real HTTP; it stands for a misbehaving registry, which docker-registry is not."""

    loop = True

    def do_GET(self) -> None:
        if not self.path.startswith("/v2/_catalog"):
            body, link = b"{}", None
        else:
            n = int(self.path.rsplit("last=r", 1)[1]) + 1 if "last=r" in self.path else 0
            body = json.dumps({"repositories": [f"r{n}"]}).encode()
            link = f'</v2/_catalog?n=1&last=r{0 if self.loop else n}>; rel="next"'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("loop", [True, False])
def test_a_catalog_that_never_ends_is_refused(loop: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Link back to a page already read is refused at once; links that never end stop at
    MAX_NAMES names (here lowered, as a registry would need a million)."""
    monkeypatch.setattr(catalog, "MAX_NAMES", 50)
    handler = type("Handler", (EndlessCatalog,), {"loop": loop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = catalog.parse_catalog(f"docker://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(RegistryError) as err:
            catalog.repositories(spec, RegistryOptions.create(insecure=True), page=1)
    finally:
        server.shutdown()
        server.server_close()
    assert ("Link header loops" if loop else "more than 50 names") in str(err.value)


@pytest.mark.registry
def test_a_repository_whose_tags_cannot_be_listed_is_one_failed_row(
    fleet: Fleet, fleet_registry: Registry, dask_cluster: DaskCluster
) -> None:
    """It stopped the whole run (exit 2); now it is a row with its reason and the others are read."""
    proxy = FaultProxy(f"http://{fleet_registry.host}")
    try:
        rule = proxy.add(Rule("/v2/ml/serve/tags/list", "status", times=None, status=500))
        targets = collect([], catalog_spec=f"docker://{proxy.host}/ml")
        result = runner.run(targets, Settings(), runner.Cluster(dask_cluster.address))
    finally:
        proxy.close()
    assert rule.hits > 1  # retried before giving up
    rows = result.images.set_index("reference")
    serve = rows.loc[f"docker://{proxy.host}/ml/serve"]
    assert serve["error"].startswith("cannot list the tags of ml/serve: ") and "500" in serve["error"]
    assert pd.isna(serve["tag"]) and "\n" not in serve["error"]
    train = [f"docker://{proxy.host}/ml/train:{t}" for t in ("v1", "v2", "v3", "v4")]
    assert list(rows.index) == [f"docker://{proxy.host}/ml/serve", *train]  # the registry's order of repositories
    assert rows.loc[train, "error"].isna().all()
    assert result.totals.failed_images == 1
