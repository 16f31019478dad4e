"""Errors users see: each one is a single clear line and an exit code.

The CLI prints the message (and its details, one per line) with image text escaped
(layerscope.textsafe) and exits with ``err.exit_code``; a traceback is shown only with
``--debug``.
"""

from __future__ import annotations

QUOTE_LIMIT = 200
MESSAGE_LIMIT = 2000


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value from the input as an error message quotes it: repr'd, and cut after `limit`
    characters with its full length (a 15 MB PAX value is not an error line)."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}… ({len(value)} {unit})"
    text = repr(value)
    return text if len(text) <= limit + 2 else f"{text[:limit]}… ({len(text)} characters)"


class LayerscopeError(Exception):
    """Base of every error the CLI reports as one line."""

    exit_code = 2
    kind = "error"

    def __init__(self, message: str, details: tuple[str, ...] = ()) -> None:
        if len(message) > MESSAGE_LIMIT:  # a value quoted without quote(): the line stays a line
            message = f"{message[:MESSAGE_LIMIT]}… ({len(message)} characters)"
        super().__init__(message)
        self.message = message
        self.details = details  # lines printed under the message, indented (e.g. each config error)

    def __str__(self) -> str:
        return "\n  ".join((self.message, *self.details))


class UsageError(LayerscopeError):
    kind = "usage"


class BadReferenceError(LayerscopeError):
    """A reference that names nothing we can open (missing file, unknown transport)."""

    kind = "reference"


class FormatError(LayerscopeError):
    """Bytes that are not what the format promises: not a tar, not an image, bad JSON."""

    kind = "format"


class UnsupportedError(LayerscopeError):
    """Valid input that layerscope does not read (schema1 manifests, unknown media types)."""

    kind = "unsupported"


class DigestError(LayerscopeError):
    """A blob whose bytes do not hash to the digest that names it."""

    kind = "digest"


class UnsafeInputError(LayerscopeError):
    """Hostile input: path traversal, symlink loops, decompression bombs."""

    kind = "unsafe"


class PlatformError(LayerscopeError):
    kind = "platform"


class EngineError(LayerscopeError):
    """The Docker engine is unreachable or does not have the image."""

    kind = "engine"


class RegistryError(LayerscopeError):
    kind = "registry"
