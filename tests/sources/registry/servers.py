"""The registry test servers now live in tests/support/registry.py (the fleet tests use them too)."""

from tests.support.registry import (
    BlobServer,
    FaultProxy,
    Registry,
    Rule,
    SilentServer,
    free_port,
    skopeo_env,
    tool_missing,
    write_helper,
)

__all__ = [
    "BlobServer",
    "FaultProxy",
    "Registry",
    "Rule",
    "SilentServer",
    "free_port",
    "skopeo_env",
    "tool_missing",
    "write_helper",
]
