"""Which certificates verify a registry's TLS, as Docker, skopeo and crane decide it.

- CAs: the system's trust store (where `update-ca-certificates` puts a private CA) and
  certifi's bundle (httpx's own default, the only one it would use); or, when set,
  `SSL_CERT_FILE` / `SSL_CERT_DIR` alone (OpenSSL's and httpx's convention).
- Per registry, containers-certs.d(5): the first of `$HOME/.config/containers/certs.d`,
  `/etc/containers/certs.d` and `/etc/docker/certs.d` that has a `HOST[:PORT]` directory
  gives more CAs (`*.crt`) and a client certificate (`NAME.cert` with `NAME.key`).

Contexts are cached per (environment, directory and its mtime): each costs ~50 ms of CPU.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable
from pathlib import Path

from layerscope.errors import RegistryError
from layerscope.readfile import open_regular

# certifi's whole bundle is ~300 KiB: a certificate or key file larger than this is no PEM file,
# and OpenSSL would read it to its end (/dev/zero: never) before saying so.
MAX_CERT_FILE = 16 << 20


def certs_d_roots(env: dict[str, str] | os._Environ[str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    home = env.get("HOME")
    roots = [Path(home) / ".config/containers/certs.d"] if home else []
    return [*roots, Path("/etc/containers/certs.d"), Path("/etc/docker/certs.d")]


def certs_dir(registry: str, env: dict[str, str] | os._Environ[str] | None = None) -> Path | None:
    """The certs.d directory for `registry` (host[:port] as written in the reference)."""
    for root in certs_d_roots(env):
        candidate = root / registry
        if candidate.is_dir():
            return candidate
    return None


def ssl_context(registry: str) -> ssl.SSLContext:
    """The verifying context for connections made for `registry` (its redirects included)."""
    directory = certs_dir(registry)
    try:
        changed = directory.stat().st_mtime_ns if directory else 0  # a file added or removed: load again
    except OSError:
        changed = 0
    return _context(
        os.environ.get("SSL_CERT_FILE") or None,
        os.environ.get("SSL_CERT_DIR") or None,
        str(directory) if directory else None,
        changed,
    )


@functools.lru_cache(maxsize=16)
def _context(cafile: str | None, capath: str | None, directory: str | None, changed: int) -> ssl.SSLContext:
    if cafile:
        _check_file(cafile, "SSL_CERT_FILE")
    try:
        if cafile or capath:
            ctx = ssl.create_default_context(cafile=cafile, capath=capath)
        else:
            import certifi  # httpx's dependency

            ctx = ssl.create_default_context()
            ctx.load_verify_locations(certifi.where())
    except (OSError, ssl.SSLError) as err:
        which = "SSL_CERT_FILE" if cafile else "SSL_CERT_DIR" if capath else "the system's CA certificates"
        raise RegistryError(f"cannot load {which}: {_reason(err)}") from None
    if directory:
        _load_certs_d(ctx, Path(directory))
    return ctx


def _load_certs_d(ctx: ssl.SSLContext, directory: Path) -> None:
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError as err:
        raise RegistryError(f"cannot read {directory}: {_reason(err)}") from None
    for name in names:
        path = directory / name
        try:
            if name.endswith(".crt"):
                _check_file(str(path), "the CA certificate")
                ctx.load_verify_locations(cafile=str(path))
            elif name.endswith(".cert"):
                key = path.with_suffix(".key")
                if not key.exists():
                    raise RegistryError(f"{path} has no {key.name} beside it (a client certificate needs its key)")
                _check_file(str(path), "the client certificate")
                _check_file(str(key), "the client key")
                ctx.load_cert_chain(str(path), str(key), password=_no_passphrase(key))
        except (OSError, ssl.SSLError) as err:
            raise RegistryError(f"cannot load {path}: {_reason(err)}") from None


def _no_passphrase(key: Path) -> Callable[[], str]:
    """The password callback of a client key: without one, OpenSSL asks for the passphrase of
    an encrypted key on the terminal ("Enter PEM pass phrase:"), which blocks an interactive run.
    As Docker's certs.d (Go's tls.LoadX509KeyPair), only unencrypted keys are read."""

    def refuse() -> str:
        raise RegistryError(f"{key} is encrypted (a passphrase-protected key): certs.d keys must be unencrypted")

    return refuse


def _check_file(path: str, what: str) -> None:
    """Refuse, before OpenSSL opens `path` itself, what it would block on (a FIFO: for ever)
    or read without end (/dev/zero, a huge file): only a regular file of at most MAX_CERT_FILE."""
    fd = open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > MAX_CERT_FILE:
        raise RegistryError(f"cannot load {what} {path}: {size} bytes is too large for a PEM file")


def _reason(err: OSError | ssl.SSLError) -> str:
    if isinstance(err, ssl.SSLError):
        return str(err.reason or err.strerror or "not a PEM certificate")[:160]
    return str(err.strerror or err)[:160]
