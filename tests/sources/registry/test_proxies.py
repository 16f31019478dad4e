"""HTTP(S)_PROXY, ALL_PROXY and NO_PROXY, with real registries: honoured as httpx reads them
(trust_env), except that loopback is never proxied (Go's rule, so Docker's, skopeo's and
crane's). A proxy that is not there shows which route failed; its credentials never show."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sources.registry.conftest import Pushed
from tests.sources.registry.servers import FaultProxy, Registry, free_port
from tests.support.registry import outward_address

pytestmark = pytest.mark.registry


def dead_proxy(userinfo: str = "") -> str:
    return f"http://{userinfo}127.0.0.1:{free_port()}"  # nothing listens there


def proxy_env(proxy: str, **more: str) -> dict[str, str]:
    return {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy, "http_proxy": proxy, **more}


@pytest.fixture
def outward_registry(anon_registry: Registry, plain_image: Pushed) -> Iterator[str]:
    """The plain-HTTP registry reached at this machine's outward address (not loopback)."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    forward = FaultProxy(f"http://{anon_registry.host}", bind="0.0.0.0")
    yield f"{address}:{forward.port}"
    forward.close()


def test_loopback_registries_are_never_proxied(plain_image: Pushed, run_cli: Any) -> None:
    port = plain_image.host.rsplit(":", 1)[1]
    for host in (plain_image.host, f"localhost:{port}"):
        r = run_cli(
            "inspect", "--json", "--manifest-only", f"docker://{host}/{plain_image.repo}", env=proxy_env(dead_proxy())
        )
        assert r.code == 0, r.err
        assert len(json.loads(r.out)["layers"]) == 3


def test_the_proxy_is_used_off_loopback_and_no_proxy_bypasses_it(
    outward_registry: str, plain_image: Pushed, run_cli: Any
) -> None:
    ref = f"docker://{outward_registry}/{plain_image.repo}"
    proxy = dead_proxy("puser:ppass-x81@")
    r = run_cli("inspect", "--manifest-only", "--insecure", ref, env=proxy_env(proxy))
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"cannot reach {outward_registry} through the proxy http://127.0.0.1:" in r.err
    assert "ppass-x81" not in r.err and "puser" not in r.err
    address = outward_registry.split(":")[0]
    for no_proxy in (address, f"example.org,{address}", "*"):
        env = proxy_env(proxy, NO_PROXY=no_proxy, no_proxy=no_proxy)
        r = run_cli("inspect", "--json", "--manifest-only", "--insecure", ref, env=env)
        assert r.code == 0, (no_proxy, r.err)
