"""Answering a registry's 401: Basic credentials, or a bearer token from its token service.

Token flow (distribution `docs/spec/auth/token.md`, `oauth.md`): GET the challenge's realm
with `service` and `scope` (Basic credentials if we have them, anonymous otherwise), or
POST `grant_type=refresh_token` for an identity token. Tokens are cached per (realm,
service, scope) until they expire (`expires_in`, default 60 s); a cached token the
registry rejects is dropped and fetched again once.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from layerscope.errors import RegistryError
from layerscope.sources.registry.challenge import Challenge, parse_challenges
from layerscope.sources.registry.credentials import CredentialStore, Lookup
from layerscope.sources.registry.reference import is_loopback
from layerscope.sources.registry.secret import Secret

DEFAULT_EXPIRY = 60
MAX_EXPIRY = 24 * 3600  # a token kept longer than a day is not worth trusting (nor overflowing on)
EXPIRY_MARGIN = 5  # seconds before expiry we stop trusting a token
# What may go after "Bearer " in a header: visible ASCII (RFC 6750's b64token is narrower;
# registries send JWTs and opaque tokens). A CR/LF or a non-ASCII character would make the
# request fail inside httpx/h11 with the token in its message.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
CLIENT_ID = "layerscope"

# Sends a token request: (method, url, headers, form) -> (status, body); retries handled there.
TokenSender = Callable[[str, str, dict[str, str], dict[str, str] | None], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class _Token:
    value: Secret
    expires: float


def basic_header(username: str, password: Secret) -> str:
    raw = f"{username}:{password.reveal()}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def repository_scope(repository: str, actions: str = "pull") -> str:
    if ":" in repository:  # already a whole scope (registry:catalog:*): repository names never hold ':'
        return repository
    return f"repository:{repository}:{actions}"


class Authorizer:
    """Builds the Authorization header for requests to one registry host."""

    def __init__(
        self, registry: str, credentials: CredentialStore, send: TokenSender, insecure: bool, hostname: str = ""
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self.send = send
        self.insecure = insecure  # the registry's host may be spoken to over plain HTTP
        self.hostname = hostname.lower()  # that host (without port or brackets)
        self._lock = threading.Lock()
        self._fetching = threading.Lock()
        self._scheme: str | None = None  # what the registry asked for last: "basic" | "bearer"
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, str, str], _Token] = {}

    def header(self, repository: str) -> str | None:
        """The header to send up front, once the registry has told us how it authenticates."""
        with self._lock:
            scheme, challenge = self._scheme, self._challenge
        if scheme == "basic":
            creds = self._lookup(repository).credentials
            if creds is not None and not creds.identity_token:
                return basic_header(creds.username, creds.secret)
        if scheme == "bearer" and challenge is not None:
            token = self._cached(challenge, repository_scope(repository))
            if token is not None:
                return "Bearer " + token.value.reveal()
        return None

    def answer(self, response: httpx.Response, repository: str, sent: str | None) -> str:
        """After a 401: the header to retry with, or a RegistryError saying why there is none."""
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.params.get("realm")), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        lookup = self._lookup(repository)
        creds = lookup.credentials
        if bearer is not None:
            scope = repository_scope(repository)
            with self._lock:
                self._scheme, self._challenge = "bearer", bearer
                key = self._key(bearer, scope)
                cached = self._tokens.get(key)
                # Rejected: fetch a fresh one, unless another thread already has (parallel layers).
                if sent is not None and cached is not None and sent == "Bearer " + cached.value.reveal():
                    del self._tokens[key]
            return "Bearer " + self._token(bearer, scope, lookup).value.reveal()
        if basic is not None:
            with self._lock:
                self._scheme = "basic"
            if creds is None or creds.identity_token:
                raise RegistryError(self._needs_credentials(repository, lookup))
            if sent is not None and sent.startswith("Basic "):
                raise RegistryError(self._refused(creds.username, creds.source))
            return basic_header(creds.username, creds.secret)
        raise RegistryError(f"registry {self.registry} asks for an authentication scheme layerscope does not support")

    def refused(self, repository: str) -> RegistryError:
        """The registry still says 401 with what we sent."""
        lookup = self._lookup(repository)
        creds = lookup.credentials
        if creds is None:
            return RegistryError(self._needs_credentials(repository, lookup))
        if self._scheme == "bearer":
            who = f"user {creds.username!r}" if creds.username else "the identity token"
            return RegistryError(
                f"registry {self.registry} denied pull access to {repository} for {who} ({creds.source})"
            )
        return RegistryError(self._refused(creds.username, creds.source))

    def _lookup(self, repository: str) -> Lookup:
        return self.credentials.lookup(self.registry, repository)

    def _needs_credentials(self, repository: str, lookup: Lookup) -> str:
        text = (
            # As Docker says it: an anonymous pull of a name that does not exist is refused alike.
            f"registry {self.registry} requires authentication for {repository} (or has no such repository): "
            "pass --username and --password-stdin, or log in with docker login"
        )
        if lookup.problems:
            text += " (" + "; ".join(lookup.problems) + ")"
        return text

    def _refused(self, username: str, source: str) -> str:
        who = f"user {username!r}" if username else "the identity token"
        return f"registry {self.registry} refused the credentials of {who} (from {source}): 401 unauthorized"

    @staticmethod
    def _key(challenge: Challenge, scope: str) -> tuple[str, str, str]:
        return (challenge.params.get("realm", ""), challenge.params.get("service", ""), scope)

    def _cached(self, challenge: Challenge, scope: str) -> _Token | None:
        with self._lock:
            token = self._tokens.get(self._key(challenge, scope))
        if token is None or token.expires <= time.monotonic():
            return None
        return token

    def _token(self, challenge: Challenge, scope: str, lookup: Lookup) -> _Token:
        cached = self._cached(challenge, scope)
        if cached is not None:
            return cached
        with self._fetching:  # one fetch at a time: parallel layer downloads share its token
            cached = self._cached(challenge, scope)
            return cached if cached is not None else self._fetch(challenge, scope, lookup)

    def _fetch(self, challenge: Challenge, scope: str, lookup: Lookup) -> _Token:
        realm = challenge.params["realm"]
        service = challenge.params.get("service", "")
        url = urllib.parse.urlsplit(realm)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise RegistryError(f"registry {self.registry} names a token service that is not an http(s) URL")
        creds = lookup.credentials
        # Plain HTTP carries credentials only on loopback or to the registry's own host when
        # that is allowed insecure: --insecure never sends them in clear to a third host.
        if creds is not None and url.scheme == "http" and not is_loopback(url.hostname):
            if url.hostname.lower() != self.hostname:
                raise RegistryError(
                    f"refusing to send credentials over plain HTTP to the token service at {url.hostname}, "
                    f"another host than the registry {self.registry}"
                )
            if not self.insecure:
                raise RegistryError(
                    f"refusing to send credentials over plain HTTP to the token service at {url.hostname} "
                    "(pass --insecure if that is really wanted)"
                )
        headers: dict[str, str] = {}
        form: dict[str, str] | None = None
        if creds is not None and creds.identity_token:
            method, target = "POST", realm
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.secret.reveal(),
                "service": service,
                "scope": scope,
                "client_id": CLIENT_ID,
            }
        else:
            method = "GET"
            query = {"service": service, "scope": scope} if service else {"scope": scope}
            if creds is not None:
                query["account"] = creds.username
                headers["Authorization"] = basic_header(creds.username, creds.secret)
            sep = "&" if url.query else "?"
            target = realm + sep + urllib.parse.urlencode(query)
        status, body = self.send(method, target, headers, form)
        if status in (401, 403):
            if creds is None:
                raise RegistryError(self._needs_credentials(scope.split(":")[1], lookup))
            raise RegistryError(self._refused(creds.username, creds.source).replace("401 unauthorized", "token denied"))
        if status != 200:
            raise RegistryError(f"the token service of {self.registry} answered {status}")
        token = _parse_token(body, self.registry)
        with self._lock:
            self._tokens[self._key(challenge, scope)] = token
        return token


def _parse_token(body: bytes, registry: str) -> _Token:
    try:
        doc = json.loads(body)
        value = doc.get("token") or doc.get("access_token")
        if not isinstance(value, str) or not value:
            raise ValueError
        expires_in = doc.get("expires_in")
        ok = isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0
        lifetime = int(min(expires_in, MAX_EXPIRY)) if ok else DEFAULT_EXPIRY  # min: also Infinity
    except (ValueError, AttributeError):
        raise RegistryError(f"the token service of {registry} answered without a token") from None
    if not _HEADER_SAFE.fullmatch(value):
        raise RegistryError(f"the token service of {registry} answered a token that cannot go in an HTTP header")
    return _Token(Secret(value), time.monotonic() + max(lifetime - EXPIRY_MARGIN, 1))
