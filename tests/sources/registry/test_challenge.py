"""WWW-Authenticate parsing, and how the client answers odd but valid challenges.

The real token flow runs against docker-registry in test_auth.py; httpx.MockTransport is
used here only for challenge-header edge cases that distribution never sends.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.errors import RegistryError
from layerscope.sources.registry.challenge import Challenge, parse_challenges
from layerscope.sources.registry.client import RegistryClient
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.reference import parse_name


def test_bearer_with_commas_inside_quotes() -> None:
    [c] = parse_challenges(
        'Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push"'
    )
    assert c == Challenge(
        "bearer", {"realm": "https://auth.example/token", "service": "reg.example", "scope": "repository:a/b:pull,push"}
    )


def test_several_challenges_in_one_value_and_several_values() -> None:
    got = parse_challenges(['Basic realm="basic, with comma", Bearer realm="r",scope="x:y:pull,push"', "Negotiate"])
    assert [c.scheme for c in got] == ["basic", "bearer", "negotiate"]
    assert got[0].params == {"realm": "basic, with comma"}
    assert got[1].params == {"realm": "r", "scope": "x:y:pull,push"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('BEARER Realm="r"', Challenge("bearer", {"realm": "r"})),
        ("Bearer realm=r,service=s", Challenge("bearer", {"realm": "r", "service": "s"})),
        ('Bearer realm = "r" , service= "s"', Challenge("bearer", {"realm": "r", "service": "s"})),
        (r'Bearer realm="a\"b\\c"', Challenge("bearer", {"realm": 'a"b\\c'})),
        (
            'Bearer realm="r",error="insufficient_scope"',
            Challenge("bearer", {"realm": "r", "error": "insufficient_scope"}),
        ),
        ("Negotiate abc+/==", Challenge("negotiate", {}, "abc+/==")),
        ("Bearer", Challenge("bearer", {})),
        ('Bearer realm="unterminated', Challenge("bearer", {"realm": "unterminated"})),
        (',, Bearer realm="r",,', Challenge("bearer", {"realm": "r"})),
        ('Bearer realm="first",realm="second"', Challenge("bearer", {"realm": "first"})),
    ],
)
def test_edge_cases(header: str, expected: Challenge) -> None:
    assert parse_challenges(header) == [expected]


def test_junk_does_not_hang() -> None:
    assert [c.scheme for c in parse_challenges('"" ;; Bearer realm="r" @@')] == ["bearer"]


def _client(handler: Callable[[httpx.Request], httpx.Response], **opts: object) -> RegistryClient:
    options = RegistryOptions.create(**opts)  # type: ignore[arg-type]
    return RegistryClient(parse_name("reg.example/a/b:1"), options, transport=httpx.MockTransport(handler))


def test_client_prefers_bearer_and_asks_for_a_pull_scope() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 300})
        if request.headers.get("authorization") == "Bearer tok-1":
            return httpx.Response(200, headers={"Docker-Content-Digest": "sha256:" + "0" * 64})
        return httpx.Response(
            401,
            headers=[
                ("WWW-Authenticate", 'Basic realm="reg"'),
                ("WWW-Authenticate", 'bearer realm="https://auth.example/token?x=1",service="reg.example"'),
            ],
        )

    client = _client(handler, username="u", password="p")
    assert client.head_digest("1") == "sha256:" + "0" * 64
    assert client.head_digest("1") is not None  # the token is reused: no second token request
    token_requests = [r for r in seen if r.url.host == "auth.example"]
    assert len(token_requests) == 1
    query = urllib.parse.parse_qs(token_requests[0].url.query.decode())
    assert query == {"x": ["1"], "service": ["reg.example"], "scope": ["repository:a/b:pull"], "account": ["u"]}
    assert token_requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


def test_no_credentials_over_plain_http_to_a_remote_token_service() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.example/token"'})

    with pytest.raises(RegistryError, match="refusing to send credentials over plain HTTP"):
        _client(handler, username="u", password="p").head_digest("1")


def test_unsupported_scheme_is_one_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"})

    with pytest.raises(RegistryError, match="authentication scheme layerscope does not support"):
        _client(handler).head_digest("1")


# -- properties (hypothesis) -------------------------------------------------------------

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=12)
# Quoted-string content: any visible character, space and tab, and obs-text (Latin-1 high half).
quoted_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"))
ows = st.sampled_from(["", " ", "  ", "\t"])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenges(draw: st.DrawFn) -> tuple[str, Challenge]:
    """A challenge as a server might write it (random spacing, quoted or bare values), and
    what it means."""
    scheme = draw(tokens)
    names = draw(st.lists(tokens.map(str.lower), unique=True, max_size=5))
    params: dict[str, str] = {}
    parts = []
    for name in names:
        bare = draw(st.booleans())
        value = draw(tokens) if bare else draw(quoted_values)
        params[name] = value
        written = draw(st.sampled_from([name, name.upper()]))
        parts.append(f"{written}{draw(ows)}={draw(ows)}{value if bare else _quote(value)}")
    text = scheme + (" " + ("," + draw(ows)).join(parts) if parts else "")
    return text, Challenge(scheme.lower(), params)


@given(st.lists(challenges(), min_size=1, max_size=4), st.booleans())
@settings(max_examples=300, deadline=None)
def test_written_challenges_parse_back(written: list[tuple[str, Challenge]], one_line: bool) -> None:
    texts = [text for text, _ in written]
    header: str | list[str] = ", ".join(texts) if one_line else texts
    assert parse_challenges(header) == [challenge for _, challenge in written]


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_any_text_parses_without_error(text: str) -> None:
    """Junk never raises or hangs; what comes out is well formed."""
    for challenge in parse_challenges(text):
        assert challenge.scheme and challenge.scheme == challenge.scheme.lower()
        assert all(name and name == name.lower() for name in challenge.params)
