"""A string that never shows itself: passwords, identity tokens, bearer tokens.

repr() and str() print a mask, so a Secret that ends up in an error message, a log line,
a dataclass repr or a traceback's arguments gives nothing away. Only `reveal()`, called
where a header is built, returns the value.
"""

from __future__ import annotations

MASK = "***"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
