"""Token services that answer junk (a tiny server; real registries never do this): every
such answer is one line on stderr and exit 2, and the token never shows, not even with
--debug. The real token flow runs against docker-registry in test_auth.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sources.registry.hostile import HostileServer, Reply

pytestmark = pytest.mark.registry
SECRET = "tok-e7c1d9a0b4"


def token_then_404(body: bytes) -> HostileServer:
    """A "registry" asking for a bearer token from its own /token, which answers `body`;
    a manifest request carrying any bearer token gets 404."""

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path.startswith("/token"):
            return Reply(200, body, {"Content-Type": "application/json"})
        if headers.get("Authorization", "").startswith("Bearer "):
            err = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            return Reply(404, json.dumps(err).encode(), {"Content-Type": "application/json"})
        realm = f'Bearer realm="http://{server.host}/token",service="hostile"'
        return Reply(401, b"{}", {"WWW-Authenticate": realm})

    server = HostileServer(answer)
    return server


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (json.dumps({"token": SECRET + "\r\nX-Injected: 1"}).encode(), "cannot go in an HTTP header"),
        (json.dumps({"token": SECRET + "\u00e9"}).encode(), "cannot go in an HTTP header"),
        (json.dumps({"token": SECRET + " trailing"}).encode(), "cannot go in an HTTP header"),
        (json.dumps({"token": SECRET + "\n"}).encode(), "cannot go in an HTTP header"),
        (b"<html>" + SECRET.encode() + b"</html>", "answered without a token"),
        (json.dumps({"token": 12345}).encode(), "answered without a token"),
        # The tokens are fine, their lifetimes odd: the manifest request is made (404).
        (b'{"token": "' + SECRET.encode() + b'", "expires_in": Infinity}', "not found"),
        (b'{"token": "' + SECRET.encode() + b'", "expires_in": 1e400}', "not found"),
        (b'{"token": "' + SECRET.encode() + b'", "expires_in": true}', "not found"),
        (b'{"token": "' + SECRET.encode() + b'", "expires_in": -5}', "not found"),
    ],
)
def test_a_junk_token_answer_is_one_line_without_the_token(body: bytes, said: str, run_cli: Any) -> None:
    with token_then_404(body) as server:
        for debug in ((), ("--debug",)):
            r = run_cli(*debug, "inspect", "--manifest-only", f"docker://{server.host}/a/b/c:1")
            assert said in r.err and "internal error" not in r.err
            assert SECRET not in r.err and SECRET not in r.out
            if not debug:  # --debug shows the traceback (still without the token)
                assert r.code == 2 and r.err.count("\n") == 1, r.err
        token_asks = [req for req in server.requests if req.path.startswith("/token")]
        assert token_asks and "scope=repository%3Aa%2Fb%2Fc%3Apull" in token_asks[0].path


def test_a_token_service_that_always_says_401_is_asked_once(run_cli: Any) -> None:
    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        realm = f'Bearer realm="http://{server.host}/token",service="hostile"'
        if path.startswith("/token"):
            return Reply(401, b"{}", {"WWW-Authenticate": realm})
        return Reply(401, b"{}", {"WWW-Authenticate": realm})

    with HostileServer(answer) as server:
        r = run_cli("inspect", "--manifest-only", f"docker://{server.host}/a/b:1")
        assert r.code == 2 and r.err.count("\n") == 1
        assert "requires authentication for a/b" in r.err
        assert len([req for req in server.requests if req.path.startswith("/token")]) == 1


def test_a_registry_that_rejects_every_token_is_not_asked_forever(run_cli: Any) -> None:
    """The token is fine by the token service, refused by the registry: one fresh try, then stop."""

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path.startswith("/token"):
            return Reply(200, json.dumps({"token": SECRET, "expires_in": 300}).encode())
        realm = f'Bearer realm="http://{server.host}/token",service="hostile",error="invalid_token"'
        return Reply(401, b"{}", {"WWW-Authenticate": realm})

    with HostileServer(answer) as server:
        r = run_cli("inspect", "--manifest-only", f"docker://{server.host}/a/b:1", timeout=60)
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert SECRET not in r.err
        assert len([req for req in server.requests if req.path.startswith("/token")]) == 1
        assert len([req for req in server.requests if req.path.startswith("/v2/")]) == 2
