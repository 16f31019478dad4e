"""How to talk to registries: credentials from flags, plain HTTP, timeouts, retries.

Kept free of httpx so that building options (CLI, API) costs no import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from layerscope.errors import UsageError
from layerscope.sources.registry.secret import Secret

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 4


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    username: str | None = None
    password: Secret | None = None  # or an identity token, when username is "<token>"
    insecure: bool = False  # plain HTTP / unverified TLS for every registry (loopback always allowed)
    timeout: float = DEFAULT_TIMEOUT  # seconds without a byte from the server
    retries: int = DEFAULT_RETRIES  # extra attempts on 429/5xx and dropped connections

    @classmethod
    def create(
        cls, username: str | None = None, password: str | Secret | None = None, insecure: bool = False
    ) -> RegistryOptions:
        """Options from the caller, with timeout/retries from LAYERSCOPE_REGISTRY_TIMEOUT/_RETRIES."""
        if password is not None and not isinstance(password, Secret):
            password = Secret(password)
        if (username is None) != (password is None):
            raise UsageError("registry credentials need both a username and a password (--password-stdin)")
        if password is not None and not password:
            raise UsageError("the registry password is empty")
        return cls(
            username,
            password,
            insecure,
            _env_float("LAYERSCOPE_REGISTRY_TIMEOUT", DEFAULT_TIMEOUT),
            int(_env_float("LAYERSCOPE_REGISTRY_RETRIES", DEFAULT_RETRIES)),
        )


def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a number") from None
    if value < 0:
        raise UsageError(f"{name} must not be negative")
    return value
