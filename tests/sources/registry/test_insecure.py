"""What --insecure and loopback allow, and no more: plain HTTP and unchecked TLS for the
registry's own host. Credentials never go in clear to a third host, and an HTTPS request is
never redirected to plain HTTP on another host, --insecure or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sources.registry.conftest import PASSWORD, USER, Pushed
from tests.sources.registry.hostile import HostileServer, Reply
from tests.sources.registry.servers import Registry
from tests.sources.registry.tokens import TokenIssuer
from tests.support.registry import outward_address

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def address() -> str:
    found = outward_address()
    if found is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    return found


@pytest.fixture(scope="module")
def remote_realm(address: str) -> Iterator[HostileServer]:
    """A token service on another (non-loopback) host, over plain HTTP; it answers 401."""
    server = HostileServer(lambda method, path, headers: Reply(401, b"{}"), bind="0.0.0.0")
    yield server
    server.close()


@pytest.fixture(scope="module")
def registry_with_remote_realm(
    registry_dir: Path, token_issuer: TokenIssuer, remote_realm: HostileServer, address: str
) -> Iterator[Registry]:
    """A real registry whose challenge sends clients to http://ADDRESS:PORT/token."""
    auth = token_issuer.registry_auth_config()
    auth["token"]["realm"] = f"http://{address}:{remote_realm.port}/token"
    registry = Registry(registry_dir / "remote-realm", auth)
    yield registry
    registry.stop()


@pytest.mark.parametrize("insecure", [(), ("--insecure",)])
def test_credentials_never_go_in_clear_to_a_token_service_on_another_host(
    registry_with_remote_realm: Registry,
    remote_realm: HostileServer,
    address: str,
    insecure: tuple[str, ...],
    run_cli: Any,
) -> None:
    """The registry is on loopback (plain HTTP allowed there), its token service is not."""
    remote_realm.requests.clear()
    ref = f"docker://{registry_with_remote_realm.host}/private/x:1"
    r = run_cli("inspect", *insecure, "--username", USER, "--password-stdin", ref, stdin=PASSWORD)
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"refusing to send credentials over plain HTTP to the token service at {address}" in r.err
    assert "another host than the registry" in r.err and PASSWORD not in r.err
    assert remote_realm.requests == []


def test_an_https_registry_cannot_redirect_to_plain_http_elsewhere(
    tls_registry: Registry, tls_image: Pushed, address: str, run_cli: Any
) -> None:
    """--insecure skips the certificate check of the registry's host; a redirect from it to
    plain HTTP on another host is still refused (and nothing is sent there)."""
    assert tls_registry.cert is not None
    key = tls_registry.cert.with_name("key.pem")
    elsewhere = HostileServer(lambda method, path, headers: Reply(200, b"{}"), bind="0.0.0.0")

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if "/manifests/" in path:
            return Reply(307, b"", {"Location": f"http://elsewhere.invalid:{elsewhere.port}{path}"})
        return Reply(200, b"{}")

    front = HostileServer(answer, bind="0.0.0.0", tls=(tls_registry.cert, key))
    try:
        r = run_cli("inspect", "--insecure", "--manifest-only", f"docker://{address}:{front.port}/a/b:1")
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert (
            f"refusing a redirect from HTTPS to plain HTTP (http://elsewhere.invalid:{elsewhere.port}/v2/a/b/" in r.err
        )
        assert any("/manifests/" in seen.path for seen in front.requests)
        assert elsewhere.requests == []
    finally:
        front.close()
        elsewhere.close()
