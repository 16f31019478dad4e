"""A focused OCI distribution client on httpx: requests with auth, retries and redirects;
manifests and small blobs read whole with their digests checked.

Redirects are followed here rather than by httpx so that the rule is ours and visible:
`Authorization` never goes to another origin (blob storage, CDNs; signed URLs reject it),
and an HTTPS request is never redirected to plain HTTP except to a host allowed insecure.
URLs in messages lose their query strings (signed URLs carry credentials there).
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from dataclasses import dataclass

import httpx

from layerscope._version import __version__
from layerscope.errors import DigestError, FormatError, LayerscopeError, RegistryError
from layerscope.sources import manifests
from layerscope.sources.handle import Descriptor
from layerscope.sources.registry.auth import Authorizer
from layerscope.sources.registry.credentials import Credentials, CredentialStore
from layerscope.sources.registry.failures import (
    REDIRECT_NOTE,
    describe,
    failed_at,
    redirected_to,
    tls_alert,
    unreachable,
    where,
)
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.reference import RegistryName, is_loopback
from layerscope.sources.registry.trust import ssl_context

ACCEPT = ", ".join([manifests.OCI_INDEX, manifests.OCI_MANIFEST, manifests.DOCKER_LIST, manifests.DOCKER_MANIFEST])
MAX_MANIFEST = 4 << 20  # distribution's own limit
MAX_ERROR_BODY = 64 << 10
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
MAX_REDIRECTS = 10
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
# A dropped connection (reset, closed mid-response) is worth another try; a refused one
# or a name that does not resolve is not.
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
# What httpcore asks of the socket at a time (its own default is 64 KiB). A layer of GBs
# arrives in as many pieces, and each costs a pass through httpcore and h11 in Python:
# at 1 MiB the download thread of a 3.2 GB layer took 2.5 CPU s instead of 3.7.
RECV_BYTES = 1 << 20
# HTTP(S)_PROXY, ALL_PROXY and NO_PROXY are honoured (httpx's trust_env), except that loopback
# is never proxied: Go's rule, so Docker, skopeo and crane reach a local registry directly.
NO_PROXY_LOOPBACK: dict[str, httpx.BaseTransport | None] = {
    "all://localhost": None,
    "all://127.0.0.1": None,
    "all://[::1]": None,
}


def larger_socket_reads() -> None:
    """Let httpcore read up to RECV_BYTES at a time (a class setting it reads per read)."""
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # pragma: no cover - another httpcore layout: its default stays
        return
    if getattr(HTTP11Connection, "READ_NUM_BYTES", RECV_BYTES) < RECV_BYTES:
        HTTP11Connection.READ_NUM_BYTES = RECV_BYTES


@dataclass(frozen=True, slots=True)
class RawManifest:
    raw: bytes
    media_type: str | None  # Content-Type without parameters
    digest: str


def backoff(attempt: int) -> float:
    """0.5 s, 1 s, 2 s, ... up to 8 s, with jitter so parallel downloads do not retry in step."""
    return float(min(0.5 * 2 ** (attempt - 1), 8.0) * random.uniform(0.75, 1.25))


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class RegistryClient:
    def __init__(
        self, name: RegistryName, options: RegistryOptions, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.name = name
        self.options = options
        self.host = name.api_host
        self.lax = options.insecure or name.is_loopback
        timeout = httpx.Timeout(options.timeout, connect=min(options.timeout, 15.0))
        headers = {"User-Agent": f"layerscope/{__version__}"}
        self._timeout, self._headers = timeout, headers
        self._transport = transport  # tests of the challenge parser only: real registries otherwise
        self._secure_lock = threading.Lock()
        self._secure_client: httpx.Client | None = None  # made on first use: loading CAs costs ~25 ms
        # Docker skips certificate checks for insecure registries (and loopback is one).
        self._lax = httpx.Client(
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            verify=False,
            transport=transport,
            mounts=NO_PROXY_LOOPBACK,
        )
        larger_socket_reads()
        self._base: str | None = None
        self._base_lock = threading.Lock()
        explicit = None
        if options.username is not None and options.password is not None:
            token = options.username == "<token>"
            explicit = Credentials("" if token else options.username, options.password, token, "--username")
        self.auth = Authorizer(name.registry, CredentialStore(explicit), self._token_request, self.lax, name.hostname)

    def close(self) -> None:
        if self._secure_client is not None:
            self._secure_client.close()
        self._lax.close()

    @property
    def _secure(self) -> httpx.Client:
        with self._secure_lock:
            if self._secure_client is None:
                self._secure_client = httpx.Client(
                    timeout=self._timeout,
                    headers=self._headers,
                    follow_redirects=False,
                    verify=ssl_context(self.name.registry),
                    transport=self._transport,
                    mounts=NO_PROXY_LOOPBACK,
                )
            return self._secure_client

    # -- transport ---------------------------------------------------------------------

    def _client_for(self, url: httpx.URL) -> httpx.Client:
        lax = self.lax and url.host == self.name.hostname.lower()
        return self._lax if lax else self._secure

    def _follow(self, method: str, url: str, headers: dict[str, str], form: dict[str, str] | None) -> httpx.Response:
        """One request, redirects followed; the response is open (streamed) for the caller."""
        first = target = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            client = self._client_for(target)
            request = client.build_request(method, target, headers=headers, data=form)
            try:
                response = client.send(request, stream=True)
            except httpx.TransportError as err:
                if _origin(target) != _origin(first):  # the registry answered; where it sent us did not
                    err.add_note(REDIRECT_NOTE + where(target))
                raise
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUS or not location:
                return response
            response.close()
            nxt = target.join(location)
            if nxt.scheme not in ("http", "https"):
                raise RegistryError(f"{self.host} redirected {where(target)} to a non-HTTP URL")
            # --insecure allows plain HTTP to the registry's own host, not to wherever it points.
            insecure_host = self.lax and nxt.host == self.name.hostname.lower()
            if target.scheme == "https" and nxt.scheme == "http" and not (insecure_host or is_loopback(nxt.host)):
                raise RegistryError(f"refusing a redirect from HTTPS to plain HTTP ({where(nxt)})")
            if _origin(nxt) != _origin(target):
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if response.status_code == 303 and method != "HEAD":
                method, form = "GET", None
            target = nxt
        raise RegistryError(f"more than {MAX_REDIRECTS} redirects from {self.host}")

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        form: dict[str, str] | None = None,
        *,
        what: str,
    ) -> httpx.Response:
        """Retries dropped connections and 429/5xx (honouring Retry-After); returns the last answer."""
        attempt = 0
        while True:
            try:
                response = self._follow(method, url, headers, form)
            except httpx.TimeoutException as err:
                within = f"within {self.options.timeout:g}s"
                if redirected_to(err):
                    who, what = self._at(err, self.host, what)
                    raise RegistryError(f"{who} did not answer {within} ({what})") from None
                raise RegistryError(f"{self.host} did not answer {what} {within}") from None
            except DROPPED as err:
                alert = tls_alert(err)  # the server ended the handshake on purpose: no retry
                if alert is None and attempt < self.options.retries:
                    attempt += 1
                    time.sleep(backoff(attempt))
                    continue
                if alert is None:
                    who, what = self._at(err, self.host, what)
                    raise RegistryError(
                        f"the connection to {who} dropped {attempt + 1} times ({what}): {describe(err)}"
                    ) from None
                raise self._unreachable(err, url, what) from None
            except httpx.TransportError as err:
                raise self._unreachable(err, url, what) from None
            if response.status_code in RETRY_STATUS and attempt < self.options.retries:
                delay = retry_after(response)
                if delay is None or delay <= MAX_RETRY_AFTER:
                    response.close()
                    attempt += 1
                    time.sleep(backoff(attempt) if delay is None else delay)
                    continue
            return response

    def _at(self, err: BaseException, host: str, what: str) -> tuple[str, str]:
        return failed_at(err, host, what, self.host)

    def _unreachable(self, err: httpx.TransportError, url: str, what: str) -> RegistryError:
        return unreachable(err, url, what, self.host, self.name.registry, self.options.insecure)

    def _base_url(self) -> str:
        """https://HOST, or for insecure and loopback registries whichever of https/http answers."""
        with self._base_lock:
            if self._base is None:
                self._base = self._probe() if self.lax else f"https://{self.host}"
            return self._base

    def _probe(self) -> str:
        try:
            self._lax.get(f"https://{self.host}/v2/").close()
            return f"https://{self.host}"
        except httpx.TimeoutException:
            raise RegistryError(f"{self.host} did not answer within {self.options.timeout:g}s") from None
        except httpx.TransportError:
            return f"http://{self.host}"  # no TLS there (the usual local registry)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, *, what: str) -> httpx.Response:
        """A request to the registry's API, authorised as it asks; the response is open."""
        url = self._base_url() + path
        repository = self.name.repository
        sent = self.auth.header(repository)
        answered = False
        while True:
            h = dict(headers or {})
            if sent:
                h["Authorization"] = sent
            response = self.send(method, url, h, what=what)
            if response.status_code != 401:
                return response
            response.close()
            if answered:
                raise self.auth.refused(repository)
            sent = self.auth.answer(response, repository, sent)
            answered = True

    def _token_request(
        self, method: str, url: str, headers: dict[str, str], form: dict[str, str] | None
    ) -> tuple[int, bytes]:
        response = self.send(method, url, headers, form, what="a token request")
        return response.status_code, read_limited(response, MAX_MANIFEST, "the token service's answer")

    # -- documents ---------------------------------------------------------------------

    def fail(self, response: httpx.Response, what: str) -> RegistryError:
        """The one-line error for a response that is not what we asked for."""
        status = response.status_code
        detail = registry_error(response)
        suffix = f": {detail}" if detail else ""
        if status == 404:
            return RegistryError(f"{what} not found in {self.name.registry}/{self.name.repository} (404{suffix})")
        if status == 403:
            return RegistryError(f"registry {self.name.registry} denied {what} (403{suffix})")
        if status == 429:
            limits = ", ".join(
                f"{k}: {response.headers[k]}"
                for k in ("ratelimit-limit", "ratelimit-remaining")
                if k in response.headers
            )
            wait = retry_after(response)
            hint = f"; retry after {wait:.0f}s" if wait is not None else ""
            return RegistryError(
                f"registry {self.name.registry} is rate-limiting requests (429{suffix}){hint}"
                + (f" [{limits}]" if limits else "")
            )
        return RegistryError(f"registry {self.name.registry} answered {status} to {what}{suffix}")

    def head_digest(self, tag: str) -> str | None:
        """A tag's manifest digest by HEAD (not counted by Docker Hub's pull limit); None if unsaid."""
        path = f"/v2/{self.name.repository}/manifests/{tag}"
        response = self.request("HEAD", path, {"Accept": ACCEPT}, what=f"manifest {tag}")
        response.close()
        if response.status_code == 404:
            raise self.fail(response, f"tag {tag!r}")
        if response.status_code >= 400 and response.status_code not in (405, 501):  # HEAD unsupported: GET
            raise self.fail(response, f"manifest {tag}")
        digest = str(response.headers.get("docker-content-digest") or "")
        if response.status_code != 200 or not digest:
            return None
        try:
            manifests.check_digest(digest, "Docker-Content-Digest")
        except LayerscopeError:
            return None
        return digest

    def manifest(self, reference: str, expected: str | None, what: str) -> RawManifest:
        """GET a manifest or index; its raw bytes must hash to `expected` (or to the header)."""
        path = f"/v2/{self.name.repository}/manifests/{reference}"
        response = self.request("GET", path, {"Accept": ACCEPT}, what=what)
        if response.status_code != 200:
            raise self.fail(response, what)
        raw = read_limited(response, MAX_MANIFEST, what)
        header = response.headers.get("docker-content-digest")
        digest = expected or header or manifests.sha256_digest(raw)
        manifests.verify_bytes(raw, digest, what)
        if expected and header and header != expected:
            raise DigestError(f"{what}: the registry says its digest is {header}, not the requested {expected}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        return RawManifest(raw, content_type, digest)

    def blob_bytes(self, desc: Descriptor, limit: int, what: str) -> bytes:
        """A small blob (the config) read whole; its digest and size are checked."""
        if desc.digest is None:
            raise FormatError(f"{what} has no digest")
        if desc.size is not None and desc.size > limit:
            raise FormatError(f"{what} is {desc.size} bytes; layerscope reads at most {limit}")
        response = self.request("GET", f"/v2/{self.name.repository}/blobs/{desc.digest}", what=what)
        if response.status_code != 200:
            raise self.fail(response, f"{what} ({desc.digest})")
        raw = read_limited(response, limit, what)
        manifests.verify_bytes(raw, desc.digest, what)
        if desc.size is not None and len(raw) != desc.size:
            raise DigestError(f"{what} is {len(raw)} bytes, its descriptor says {desc.size}")
        return raw


def read_limited(response: httpx.Response, limit: int, what: str) -> bytes:
    """The whole body of an open response, refusing more than `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise FormatError(f"{what} is larger than {limit} bytes; refusing to read it")
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise RegistryError(f"the registry stopped sending {what}") from None
    except httpx.TransportError as err:
        raise RegistryError(f"the connection dropped while reading {what}: {describe(err)}") from None
    finally:
        response.close()
    return b"".join(chunks)


def registry_error(response: httpx.Response) -> str:
    """`code: message` from a distribution error body, when there is one."""
    try:
        body = read_limited(response, MAX_ERROR_BODY, "an error body") if not response.is_closed else b""
        doc = json.loads(body) if body else None
    except (ValueError, RecursionError, FormatError, RegistryError):
        return ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    code, message = errors[0].get("code"), errors[0].get("message")
    text = ": ".join(str(x) for x in (code, message) if x)
    return " ".join(text.split())[:200]
