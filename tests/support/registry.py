"""Real processes and servers for the registry and fleet tests, on loopback (a TLS registry
also on this machine's outward address).

- `Registry`: Debian's docker-registry (distribution 2.8.2), started and stopped by PID;
  optionally serving HTTPS with a self-signed certificate made for the session.
- `FaultProxy`: an HTTP server in front of a registry that forwards requests and, by
  rule, answers 429/503 with Retry-After, cuts a body short, stalls, or redirects blob
  GETs to another server.
- `BlobServer`: that other server (a different origin): serves blobs it fetches from
  the registry with its own credentials and records the headers it was sent.
- `SilentServer`: accepts connections and never answers.
- `write_helper`: a real docker-credential-NAME program.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def outward_address() -> str | None:
    """This machine's non-loopback IPv4 address, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("203.0.113.1", 9))
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def tls_missing() -> str | None:
    """Why no test certificate can be made here, or None."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        from shutil import which

        if which("openssl") is None:
            return "neither the cryptography package nor the openssl CLI is installed"
    return None


def self_signed(workdir: Path, addresses: Sequence[str]) -> tuple[Path, Path]:
    """cert.pem and key.pem under `workdir`: a self-signed P-256 certificate for localhost and
    `addresses` (its own CA, so that SSL_CERT_FILE can trust it), valid for two days."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    try:
        import cryptography  # noqa: F401
    except ImportError:
        san = ",".join(["DNS:localhost", *(f"IP:{a}" for a in addresses)])
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=layerscope test registry", "-addext", f"subjectAltName={san}",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layerscope test registry")])
    now = datetime.now(UTC)
    alt = [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]
    public = private.public_key()
    usage = x509.KeyUsage(True, False, False, False, False, True, False, False, False)  # signatures, certificates
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key


class Registry:
    """`docker-registry serve CONFIG` on 127.0.0.1:PORT with its own storage directory.

    With `tls`, it serves HTTPS with a self-signed certificate (`self.cert`) for 127.0.0.1,
    localhost and this machine's outward address, and listens on every interface so that it
    can be reached off loopback too (at `outward:PORT`)."""

    def __init__(
        self,
        workdir: Path,
        auth: dict[str, Any] | None = None,
        tls: bool = False,
        extra: dict[str, Any] | None = None,
        bind: str = "127.0.0.1",
        client_auth: tuple[Path, Path, Path] | None = None,
    ) -> None:
        """`extra`: more top-level configuration (e.g. `validation`); `bind`: the loopback
        address to listen on ("[::1]" for IPv6); `client_auth` (with `tls`): the CA clients'
        certificates must chain to, and a certificate and key of one (for the start-up check)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.storage = workdir / "data"
        self.port = free_port()
        self.host = f"{bind}:{self.port}"
        self.scheme = "https" if tls else "http"
        self.cert: Path | None = None
        http: dict[str, Any] = {"addr": self.host}
        if tls:
            address = outward_address()
            self.cert, key = self_signed(workdir, ["127.0.0.1", *([address] if address else [])])
            http = {"addr": f"0.0.0.0:{self.port}", "tls": {"certificate": str(self.cert), "key": str(key)}}
            if client_auth is not None:
                http["tls"]["clientcas"] = [str(client_auth[0])]
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}, "delete": {"enabled": True}},
            "http": http,
        }
        if auth:
            config["auth"] = auth
        config.update(extra or {})
        path = workdir / "registry.yml"
        path.write_text(json.dumps(config))  # JSON is YAML
        self.log = workdir / "registry.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["docker-registry", "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        check: ssl.SSLContext | bool = False  # only our own certificate to check
        if client_auth is not None:
            check = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            check.check_hostname, check.verify_mode = False, ssl.CERT_NONE
            check.load_cert_chain(str(client_auth[1]), str(client_auth[2]))
        while True:
            try:
                httpx.get(f"{self.url}/v2/", timeout=1, verify=check)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"docker-registry did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def blob_path(self, digest: str) -> Path:
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Rule:
    """What the proxy does to requests whose path contains `match` (and method, if given)."""

    match: str
    action: str  # "status" | "drop" (no answer at all) | "cut" | "stall" (mid-body) | "redirect" | "chunked"
    times: int | None = 1  # how many requests it applies to; None = all
    status: int = 503
    retry_after: str | None = None
    after: int = 0  # bytes of the body sent before a cut/stall
    method: str | None = None
    target: str = ""  # redirect base URL
    hits: int = 0

    def applies(self, method: str, path: str) -> bool:
        if self.match not in path or (self.method and self.method != method):
            return False
        return self.times is None or self.hits < self.times


@dataclass
class _Seen:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class _Server:
    def __init__(self, bind: str = "127.0.0.1") -> None:
        self.requests: list[_Seen] = []
        self._server = ThreadingHTTPServer((bind, 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.host = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def _forward(handler: BaseHTTPRequestHandler, status: int, headers: httpx.Headers, body: bytes) -> None:
    handler.send_response(status)
    for k, v in headers.multi_items():
        if k.lower() not in HOP_BY_HOP:
            handler.send_header(k, v)
    handler.send_header("Content-Length", headers.get("content-length", str(len(body))))
    handler.end_headers()


def _forward_chunked(handler: BaseHTTPRequestHandler, status: int, headers: httpx.Headers, body: bytes) -> None:
    """The body as HTTP/1.1 chunks of 64 KiB, with no Content-Length (as some CDNs send it)."""
    handler.protocol_version = "HTTP/1.1"
    handler.send_response(status)
    for k, v in headers.multi_items():
        if k.lower() not in HOP_BY_HOP:
            handler.send_header(k, v)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for at in range(0, len(body), 1 << 16):
        piece = body[at : at + (1 << 16)]
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")
    handler.close_connection = True


class FaultProxy(_Server):
    def __init__(self, upstream: str, bind: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self._client = httpx.Client(timeout=10)
        super().__init__(bind)

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def reset(self) -> None:
        self.rules.clear()
        self.requests.clear()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                proxy.requests.append(_Seen(self.command, self.path, dict(self.headers.items())))
                rule = next((r for r in proxy.rules if r.applies(self.command, self.path)), None)
                if rule is not None:
                    rule.hits += 1
                if rule is not None and rule.action == "status":
                    body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
                    self.send_response(rule.status)
                    if rule.retry_after is not None:
                        self.send_header("Retry-After", rule.retry_after)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if rule is not None and rule.action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if rule is not None and rule.action == "redirect":
                    self.send_response(307)
                    self.send_header("Location", f"{rule.target}{self.path}?X-Signature=s3cr3t-signature")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                up = proxy._client.request(self.command, proxy.upstream + self.path, headers=headers)
                body = up.content
                if rule is not None and rule.action == "chunked" and self.command == "GET":
                    _forward_chunked(self, up.status_code, up.headers, body)
                    return
                _forward(self, up.status_code, up.headers, body)
                if self.command == "HEAD":
                    return
                if rule is not None and rule.action in ("cut", "stall"):
                    self.wfile.write(body[: rule.after])
                    self.wfile.flush()
                    if rule.action == "stall":
                        proxy._stop.wait(60)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            do_GET = _serve
            do_HEAD = _serve

        return Handler

    def close(self) -> None:
        super().close()
        self._client.close()


class BlobServer(_Server):
    """Another origin serving the registry's blobs (as a CDN would), recording what it got."""

    def __init__(self, upstream: str, auth: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        self._client = httpx.Client(timeout=10, auth=auth)
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        blobs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                blobs.requests.append(_Seen("GET", self.path, dict(self.headers.items())))
                up = blobs._client.get(blobs.upstream + self.path.split("?", 1)[0])
                _forward(self, up.status_code, up.headers, up.content)
                self.wfile.write(up.content)

        return Handler

    def close(self) -> None:
        super().close()
        self._client.close()


class SilentServer:
    """Accepts TCP connections and never says a word."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.host = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        for c in self._conns:
            c.close()


def write_helper(bin_dir: Path, name: str, server: str, username: str, secret: str) -> Path:
    """A real docker-credential-NAME program: answers `get` for one server URL only."""
    bin_dir.mkdir(exist_ok=True)
    log = bin_dir / f"{name}.log"
    script = bin_dir / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    script.write_text(
        "#!/bin/sh\n"
        f'read -r server\necho "$1 $server" >> {log}\n'
        f'if [ "$1" = get ] && [ "$server" = "{server}" ]; then\n'
        f"  printf '%s' '{answer}'\n"
        "else\n  echo 'credentials not found in native keychain'\n  exit 1\nfi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def tool_missing() -> str | None:
    """Why the registry tests cannot run here, or None."""
    from shutil import which

    for tool, package in (("docker-registry", "docker-registry"), ("skopeo", "skopeo"), ("htpasswd", "apache2-utils")):
        if which(tool) is None:
            return f"{tool} not installed (apt-get install {package})"
    return None


def skopeo_env(workdir: Path) -> dict[str, str]:
    """skopeo with its own HOME: no blob-info cache shared with other runs (docs/environment.md §8)."""
    home = workdir / "skopeo-home"
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), "REGISTRY_AUTH_FILE": str(home / "auth.json"), "XDG_RUNTIME_DIR": ""}


def registry_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session's directory for registries, or a skip saying which tool is missing."""
    why = tool_missing()
    if why:
        pytest.skip(f"registry tests need the real docker-registry: {why}")
    return tmp_path_factory.mktemp("registries")


@pytest.fixture(scope="session")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return registry_workdir(tmp_path_factory)


@pytest.fixture(scope="session")
def tls_registry(registry_dir: Path) -> Iterator[Registry]:
    """A registry serving HTTPS with a self-signed certificate, reachable off loopback."""
    why = tls_missing()
    if why:
        pytest.skip(f"the TLS registry needs a certificate: {why}")
    if outward_address() is None:
        pytest.skip("the TLS registry needs a non-loopback IPv4 address (this machine has none)")
    registry = Registry(registry_dir / "tls", tls=True)
    yield registry
    registry.stop()
