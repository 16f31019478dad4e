"""Faults between us and a real registry, made by real servers on loopback: 429/503 with
Retry-After, dropped connections, a body cut or stalled mid-blob, a server that never
answers, and blob redirects to another origin (which must not get our Authorization)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from layerscope import api
from tests.sources.registry.conftest import PASSWORD, USER, Pushed
from tests.sources.registry.images import contents
from tests.sources.registry.servers import BlobServer, FaultProxy, Registry, Rule, SilentServer
from tests.support.registry import outward_address

pytestmark = pytest.mark.registry


@pytest.fixture
def proxy(anon_registry: Registry, plain_image: Pushed) -> Iterator[FaultProxy]:
    p = FaultProxy(f"http://{anon_registry.host}")
    yield p
    p.close()


def proxied(proxy: FaultProxy, pushed: Pushed) -> str:
    return f"docker://{proxy.host}/{pushed.repo}"


def layer_blob(pushed: Pushed, index: int = 1) -> str:
    digest = api.open_image(pushed.ref, manifest_only=True).layers[index].digest
    assert digest
    return digest


def test_429_with_retry_after_then_success(proxy: FaultProxy, plain_image: Pushed, run_cli: Any) -> None:
    rule = proxy.add(Rule("/manifests/", "status", times=2, status=429, retry_after="1"))
    r = run_cli("inspect", "--json", "--no-cache", proxied(proxy, plain_image))
    assert r.code == 0, r.err
    assert rule.hits == 2
    assert json.loads(r.out)["totals"]["size"] == 70_000 + 10 + 3 * len("plain") + len("ID=test\n")


def test_503_on_a_blob_then_success(proxy: FaultProxy, plain_image: Pushed) -> None:
    blob = layer_blob(plain_image)
    rule = proxy.add(Rule(blob, "status", times=2, status=503, method="GET"))
    image = api.open_image(proxied(proxy, plain_image), use_cache=False)
    assert rule.hits == 2 and image.layers[1].record is not None


def test_dropped_connections_are_retried(proxy: FaultProxy, plain_image: Pushed) -> None:
    rule = proxy.add(Rule("/manifests/", "drop", times=2))
    assert len(api.open_image(proxied(proxy, plain_image), manifest_only=True).layers) == 3
    assert rule.hits == 2


def test_503_forever_is_one_line(
    proxy: FaultProxy, plain_image: Pushed, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_RETRIES", "1")
    proxy.add(Rule("/manifests/", "status", times=None, status=503, retry_after="0"))
    r = run_cli("inspect", proxied(proxy, plain_image))
    assert r.code == 2 and r.err.count("\n") == 1
    assert "answered 503" in r.err


def test_429_with_a_long_retry_after_is_not_waited_for(proxy: FaultProxy, plain_image: Pushed, run_cli: Any) -> None:
    rule = proxy.add(Rule("/manifests/", "status", times=None, status=429, retry_after="3600"))
    r = run_cli("inspect", proxied(proxy, plain_image))
    assert r.code == 2 and r.err.count("\n") == 1
    assert "rate-limiting" in r.err and "retry after 3600s" in r.err
    assert rule.hits == 1


def test_blob_cut_mid_body_resumes_with_range(proxy: FaultProxy, plain_image: Pushed) -> None:
    blob = layer_blob(plain_image, 0)
    rule = proxy.add(Rule(blob, "cut", times=1, after=100, method="GET"))
    image = api.open_image(proxied(proxy, plain_image), use_cache=False, verify=True)
    local = api.open_image(f"docker-archive:{plain_image.archive}", use_cache=False, verify=True)
    assert rule.hits == 1
    ranges = [r.headers.get("Range") for r in proxy.requests if blob in r.path]
    assert ranges == [None, "bytes=100-"]
    assert contents(image) == contents(local)


def test_blob_cut_every_time_is_one_line(
    proxy: FaultProxy, plain_image: Pushed, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_RETRIES", "2")
    blob = layer_blob(plain_image, 0)
    proxy.add(Rule(blob, "cut", times=None, after=50, method="GET"))
    r = run_cli("inspect", "--no-cache", proxied(proxy, plain_image))
    assert r.code == 2 and r.err.count("\n") == 1
    assert "dropped 3 times while downloading layer 0" in r.err and "bytes received" in r.err


def test_blob_stalled_mid_body_times_out(
    proxy: FaultProxy, plain_image: Pushed, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_TIMEOUT", "1")
    blob = layer_blob(plain_image, 0)
    proxy.add(Rule(blob, "stall", times=None, after=64, method="GET"))
    r = run_cli("inspect", "--no-cache", proxied(proxy, plain_image), timeout=60)
    assert r.code == 2 and r.err.count("\n") == 1
    assert "stopped sending layer 0 for 1s" in r.err


def test_a_server_that_never_answers(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_TIMEOUT", "1")
    silent = SilentServer()
    try:
        r = run_cli("inspect", f"docker://{silent.host}/sample/x:1", timeout=60)
    finally:
        silent.close()
    assert r.code == 2 and r.err.count("\n") == 1
    assert f"{silent.host} did not answer within 1s" in r.err


def test_blob_redirect_to_another_origin_drops_authorization(
    basic_registry: Registry, basic_image: Pushed, run_cli: Any
) -> None:
    blobs = BlobServer(f"http://{basic_registry.host}", auth=(USER, PASSWORD))
    proxy = FaultProxy(f"http://{basic_registry.host}")
    proxy.add(Rule("/blobs/", "redirect", times=None, method="GET", target=f"http://localhost:{blobs.port}"))
    try:
        ref = f"docker://{proxy.host}/{basic_image.repo}"
        r = run_cli("inspect", "--json", "--no-cache", "--username", USER, "--password-stdin", ref, stdin=PASSWORD)
        assert r.code == 0, r.err
        local = json.loads(run_cli("inspect", "--json", f"docker-archive:{basic_image.archive}").out)
        remote = json.loads(r.out)
        assert remote["totals"]["size"] == local["totals"]["size"] and remote["waste"] == local["waste"]
        assert len(blobs.requests) == 4  # the config and three layers came from the other origin
        assert all("Authorization" not in req.headers for req in blobs.requests)
        assert all("X-Signature=" in req.path for req in blobs.requests)
        assert any("Authorization" in req.headers for req in proxy.requests)  # the registry did get it
    finally:
        proxy.close()
        blobs.close()


def test_redirect_url_query_never_shown(basic_registry: Registry, basic_image: Pushed, run_cli: Any) -> None:
    """A signed URL's query string is a credential: an error about it shows none of it."""
    proxy = FaultProxy(f"http://{basic_registry.host}")
    silent = SilentServer()
    proxy.add(Rule("/blobs/", "redirect", times=None, method="GET", target=f"http://{silent.host}"))
    try:
        ref = f"docker://{proxy.host}/{basic_image.repo}"
        r = run_cli(
            "inspect", "--no-cache", "--username", USER, "--password-stdin", ref, stdin=PASSWORD,
            env={"LAYERSCOPE_REGISTRY_TIMEOUT": "1"}, timeout=60,
        )  # fmt: skip
        assert r.code == 2 and r.err.count("\n") == 1
        assert "s3cr3t-signature" not in r.err and PASSWORD not in r.err
    finally:
        proxy.close()
        silent.close()


def test_plain_http_needs_insecure_off_loopback(anon_registry: Registry, plain_image: Pushed, run_cli: Any) -> None:
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    proxy = FaultProxy(f"http://{anon_registry.host}", bind="0.0.0.0")
    try:
        ref = f"docker://{address}:{proxy.port}/{plain_image.repo}"
        r = run_cli("inspect", "--manifest-only", ref)
        assert r.code == 2 and r.err.count("\n") == 1
        assert "pass --insecure" in r.err
        r = run_cli("inspect", "--manifest-only", "--insecure", "--json", ref)
        assert r.code == 0, r.err
        assert json.loads(r.out)["reference"] == ref
    finally:
        proxy.close()


@pytest.mark.parametrize("target", ["silent", "http://elsewhere.invalid:1"])
def test_a_failing_redirect_target_is_named_without_its_query(
    basic_registry: Registry, basic_image: Pushed, target: str, run_cli: Any
) -> None:
    """The registry answered; the storage it redirected to did not: the message says which,
    without the signed query string."""
    proxy = FaultProxy(f"http://{basic_registry.host}")
    silent = SilentServer()
    base = f"http://{silent.host}" if target == "silent" else target
    proxy.add(Rule("/blobs/", "redirect", times=None, method="GET", target=base))
    try:
        ref = f"docker://{proxy.host}/{basic_image.repo}"
        r = run_cli(
            "inspect", "--no-cache", "--username", USER, "--password-stdin", ref, stdin=PASSWORD,
            env={"LAYERSCOPE_REGISTRY_TIMEOUT": "1", "LAYERSCOPE_REGISTRY_RETRIES": "0"}, timeout=60,
        )  # fmt: skip
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert f"{base}/v2/{basic_image.repo.split(':')[0]}/blobs/sha256:" in r.err
        assert f"redirected there by {proxy.host})" in r.err
        assert "s3cr3t-signature" not in r.err and PASSWORD not in r.err
    finally:
        proxy.close()
        silent.close()


def test_a_bearer_token_is_not_sent_to_the_redirect_target(
    token_registry: Registry, token_images: dict[str, Pushed], run_cli: Any
) -> None:
    """As with Basic credentials: the registry gets the bearer token, the storage it
    redirects blobs to (another origin) does not."""
    from tests.sources.registry.hostile import HostileServer, Reply

    storage = HostileServer(lambda method, path, headers: Reply(503, b"unavailable"))
    proxy = FaultProxy(f"http://{token_registry.host}")
    proxy.add(Rule("/blobs/", "redirect", times=None, method="GET", target=f"http://localhost:{storage.port}"))
    try:
        ref = f"docker://{proxy.host}/{token_images['public'].repo}"
        r = run_cli("inspect", "--no-cache", ref, env={"LAYERSCOPE_REGISTRY_RETRIES": "0"})
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert storage.requests
        assert all(name.lower() != "authorization" for seen in storage.requests for name in seen.headers)
        assert any(seen.headers.get("Authorization", "").startswith("Bearer ") for seen in proxy.requests)
    finally:
        proxy.close()
        storage.close()
