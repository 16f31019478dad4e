"""Where registry credentials come from, in order:

1. `--username` / `--password-stdin`;
2. `$REGISTRY_AUTH_FILE` (containers' auth.json), when set;
3. `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`);
4. containers' default auth.json files (`$XDG_RUNTIME_DIR/containers/auth.json`,
   `~/.config/containers/auth.json`).

Inside one file Docker's order holds: `credHelpers[host]`, then `credsStore`, then the
`auths` entry. Helpers are the real `docker-credential-<name>` programs, run with `get`
and the server URL on stdin. A problem with one source (unreadable file, failing helper)
is not fatal: it is remembered and shown if the registry then refuses us.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerscope.errors import LayerscopeError
from layerscope.readfile import read_bytes
from layerscope.sources.registry.reference import DOCKER_HUB, DOCKER_HUB_AUTH_KEY, HUB_ALIASES
from layerscope.sources.registry.secret import Secret

CONFIG_LIMIT = 16 << 20  # ~/.docker/config.json and auth.json are a few kB

IDENTITY_TOKEN_USER = "<token>"
HELPER_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    secret: Secret  # a password, or an identity (refresh) token
    identity_token: bool = False
    source: str = ""  # where they came from, for messages


@dataclass(frozen=True, slots=True)
class Lookup:
    credentials: Credentials | None
    problems: tuple[str, ...] = ()


def config_files(env: dict[str, str] | os._Environ[str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    files: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    files.append(Path(env.get("DOCKER_CONFIG") or home / ".docker") / "config.json")
    if not env.get("REGISTRY_AUTH_FILE"):
        if env.get("XDG_RUNTIME_DIR"):
            files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
        files.append(home / ".config" / "containers" / "auth.json")
    return files


def _host_of(key: str) -> str:
    """Docker's ConvertToHostname: 'https://host:5000/v1/' -> 'host:5000'."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            return key.split("/", 1)[0].lower()
    return key.lower()


def _keys_for(registry: str, repository: str) -> list[str]:
    """Candidate `auths` keys, most specific first (containers allow host/namespace keys)."""
    hosts = sorted(HUB_ALIASES) if registry == DOCKER_HUB else [registry]
    parts = repository.split("/")
    keys = [f"{registry}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
    return keys + hosts


def server_url(registry: str) -> str:
    """What a credential helper is asked for (Docker Hub's historical key, else the host)."""
    return DOCKER_HUB_AUTH_KEY if registry == DOCKER_HUB else registry


class CredentialStore:
    def __init__(
        self,
        explicit: Credentials | None = None,
        env: dict[str, str] | os._Environ[str] | None = None,
    ) -> None:
        self.explicit = explicit
        self.env = os.environ if env is None else env
        self._cache: dict[tuple[str, str], Lookup] = {}

    def lookup(self, registry: str, repository: str) -> Lookup:
        key = (registry, repository)
        if key not in self._cache:
            self._cache[key] = self._lookup(registry, repository)
        return self._cache[key]

    def _lookup(self, registry: str, repository: str) -> Lookup:
        if self.explicit is not None:
            return Lookup(self.explicit)
        problems: list[str] = []
        for path in config_files(self.env):
            doc = _read_config(path, problems)
            if doc is None:
                continue
            creds = _from_config(doc, path, registry, repository, problems)
            if creds is not None:
                return Lookup(creds, tuple(problems))
        return Lookup(None, tuple(problems))


def _read_config(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        raw = read_bytes(str(path), "registry credentials", CONFIG_LIMIT)
    except LayerscopeError as err:
        problems.append(str(err))
        return None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        problems.append(f"{path} is not valid JSON")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{path} is not a JSON object")
        return None
    return doc


def _from_config(
    doc: dict[str, Any], path: Path, registry: str, repository: str, problems: list[str]
) -> Credentials | None:
    helpers = doc.get("credHelpers") if isinstance(doc.get("credHelpers"), dict) else {}
    auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
    assert isinstance(helpers, dict) and isinstance(auths, dict)
    by_host = {_host_of(k): v for k, v in helpers.items() if isinstance(v, str)}
    for host in _keys_for(registry, repository):
        if host in by_host:
            return run_helper(by_host[host], server_url(registry), problems)
    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        creds = run_helper(store, server_url(registry), problems)
        if creds is not None:
            return creds
    entries = {_host_of(k) if k.startswith("http") else k.lower(): v for k, v in auths.items()}
    for key in _keys_for(registry, repository):
        entry = entries.get(key)
        if isinstance(entry, dict):
            creds = _from_entry(entry, f"{path} ({key})", problems)
            if creds is not None:
                return creds
    return None


def _from_entry(entry: dict[str, Any], where: str, problems: list[str]) -> Credentials | None:
    username, password = entry.get("username"), entry.get("password")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            problems.append(f"the auth entry in {where} is not base64 of user:password")
            return None
        username, sep, password = decoded.partition(":")
        if not sep:
            problems.append(f"the auth entry in {where} is not base64 of user:password")
            return None
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(str(username or ""), Secret(token), True, where)
    if isinstance(username, str) and username and isinstance(password, str):
        return Credentials(username, Secret(password), False, where)
    return None


def run_helper(name: str, server: str, problems: list[str]) -> Credentials | None:
    """Run `docker-credential-NAME get`; None when it has nothing for `server`."""
    program = f"docker-credential-{name}"
    try:
        proc = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        problems.append(f"credential helper {program} is not on PATH")
        return None
    except subprocess.TimeoutExpired:
        problems.append(f"credential helper {program} did not answer within {HELPER_TIMEOUT:.0f}s")
        return None
    except OSError as err:
        problems.append(f"cannot run credential helper {program}: {err.strerror}")
        return None
    if proc.returncode != 0:
        said = (proc.stdout or proc.stderr).decode(errors="replace").strip()
        if "credentials not found" not in said.lower():
            # A failing helper's own message, never its output on success (that holds the secret).
            first = said.splitlines()[0][:160] if said else f"exit code {proc.returncode}"
            problems.append(f"credential helper {program} failed: {first}")
        return None
    try:
        doc = json.loads(proc.stdout)
        username, secret = doc["Username"], doc["Secret"]
        if not isinstance(username, str) or not isinstance(secret, str):
            raise TypeError
    except (ValueError, RecursionError, KeyError, TypeError):
        problems.append(f"credential helper {program} answered something that is not its JSON format")
        return None
    if not secret:
        return None
    identity = username == IDENTITY_TOKEN_USER
    return Credentials("" if identity else username, Secret(secret), identity, program)
