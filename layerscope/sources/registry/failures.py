"""What a request that failed in transport was, in the one line a user reads: where it
failed (past a redirect, the URL it led to, no query string), through which proxy, and what
to do about a certificate the registry's CA does not sign or a client certificate it wants.
"""

from __future__ import annotations

import ssl
import urllib.request

import httpx

from layerscope.errors import RegistryError
from layerscope.sources.registry.reference import is_loopback

REDIRECT_NOTE = "layerscope: redirected to "  # noted on a transport error past a redirect


def where(url: httpx.URL) -> str:
    """A URL for messages: no query string, no userinfo."""
    port = f":{url.port}" if url.port else ""
    host = f"[{url.host}]" if ":" in url.host else url.host  # an IPv6 literal keeps its brackets
    return f"{url.scheme}://{host}{port}{url.path}"


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url` (as httpx reads it), for messages: no userinfo."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or is_loopback(url.host):
        return None
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # (on every OS; not in typeshed)
    if bypass(url.host, proxies):
        return None
    try:
        return where(httpx.URL(proxy if "://" in proxy else f"http://{proxy}")).removesuffix("/")
    except httpx.InvalidURL:
        return "(unparsable)"


def redirected_to(err: BaseException) -> str | None:
    """Where a transport error happened, when that was past a redirect (_follow's note)."""
    for note in getattr(err, "__notes__", ()):
        if isinstance(note, str) and note.startswith(REDIRECT_NOTE):
            return note.removeprefix(REDIRECT_NOTE)
    return None


def describe(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]


def certificate_problem(err: BaseException) -> str | None:
    """What OpenSSL said about the server's certificate ("self-signed certificate",
    "Hostname mismatch, ..."), when that is why the connection failed (httpx chains the
    ssl error as the cause of its own)."""
    seen: BaseException | None = err
    for _ in range(8):  # a chain, never a cycle in practice; bounded anyway
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or "verification failed")[:200]
        seen = seen.__cause__ or seen.__context__
    return None


def tls_alert(err: BaseException) -> str | None:
    """The alert the server ended the TLS handshake with ("sslv3 alert bad certificate",
    "tlsv13 alert certificate required": it wants a client certificate), if that is why."""
    seen: BaseException | None = err
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError) and "ALERT" in str(seen.reason or ""):
            return str(seen.reason).lower().replace("_", " ")[:120]
        seen = seen.__cause__ or seen.__context__
    return None


def failed_at(err: BaseException, host: str, what: str, registry_host: str) -> tuple[str, str]:
    """Who failed, and what was asked, for a message: past a redirect, the URL it led to
    (no query string) and who sent us there."""
    at = redirected_to(err)
    return (at, f"{what}, redirected there by {registry_host}") if at else (host, what)


def unreachable(
    err: httpx.TransportError, url: str, what: str, registry_host: str, registry: str, insecure: bool
) -> RegistryError:
    """The one line for a connection that failed for good, with what the user can do."""
    target = httpx.URL(url)
    at = redirected_to(err)
    host, what = failed_at(err, target.netloc.decode(), what, registry_host)
    docker_dir = f"/etc/docker/certs.d/{registry}/"
    user_dir = f"~/.config/containers/certs.d/{registry}/"
    problem = certificate_problem(err)
    if problem is not None:
        # Docker's answer too: an insecure registry's certificate is not checked.
        return RegistryError(
            f"cannot verify the TLS certificate of {host} ({what}): {problem}; "
            f"to trust its CA put it in {docker_dir}ca.crt (or {user_dir}), or pass --insecure to skip the check"
        )
    alert = tls_alert(err)
    if alert is not None:
        return RegistryError(
            f"{host} refused the TLS connection ({what}): {alert}; if it wants a client certificate, "
            f"put NAME.cert and NAME.key in {docker_dir} (or {user_dir})"
        )
    hint = ""
    if "SSL" in str(err) and url.startswith("https:") and not insecure and not at:
        hint = " (if it serves plain HTTP, pass --insecure)"
    proxy = proxy_for(httpx.URL(at) if at else target)
    via = f" through the proxy {proxy}" if proxy else ""
    return RegistryError(f"cannot reach {host}{via} ({what}): {describe(err)}{hint}")
