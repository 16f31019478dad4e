"""A saved analysis (`analysis:FILE`) is input like any image: before anything renders it,
every field of what it was loaded into must have the type the model declares, and every
count or size must be a whole number from 0 to MAX_SIZE (a string total, a negative or a
400-digit size is a damaged file, not a crash later on)."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from operator import attrgetter
from typing import Any

from layerscope.model import MAX_PATH, FileRecord, Layer
from layerscope.units import MAX_SIZE

# The integer fields that may be negative: a time before 1970, and the owner ids a tar
# header may give (PAX and base-256 numbers are signed; the layer reader takes them).
SIGNED = frozenset({"mtime", "uid", "gid"})
_FILE_FIELDS = tuple(f.name for f in dataclasses.fields(FileRecord))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def problem(value: Any, hint: Any, where: str) -> str | None:
    """Why `value` does not fit `hint` (a type annotation of the model), or None."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return None
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        answers = [problem(value, h, where) for h in args if h is not type(None)]
        return None if None in answers else answers[0]
    if hint is type(None):
        return None if value is None else f"{where}: expected null, got {_show(value)}"
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{where}: expected a whole number, got {_show(value)}"
        low = -MAX_SIZE if where.rpartition(".")[2] in SIGNED else 0
        return None if low <= value <= MAX_SIZE else f"{where}: {_show(value)} is out of range"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isinf(value)
        return None if ok else f"{where}: expected a number, got {_show(value)}"
    if hint in (str, bytes, bool):
        return None if isinstance(value, hint) else f"{where}: expected {hint.__name__}, got {_show(value)}"
    if origin is tuple:
        if not isinstance(value, tuple):
            return f"{where}: expected a list, got {_show(value)}"
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            if args[0] is FileRecord:
                return _file_records(value, where)
            return next((p for i, x in enumerate(value) if (p := problem(x, args[0], f"{where}[{i}]"))), None)
        if len(args) != len(value):
            return f"{where}: expected {len(args)} items, got {len(value)}"
        pairs = enumerate(zip(value, args, strict=True))
        return next((p for i, (x, h) in pairs if (p := problem(x, h, f"{where}[{i}]"))), None)
    if origin is dict or hint is dict:
        return None if isinstance(value, dict) else f"{where}: expected an object, got {_show(value)}"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            return f"{where}: expected an object, got {_show(value)}"
        return check_fields(value, where)
    return None  # a type the model does not use for loaded data


def check_fields(obj: Any, where: str) -> str | None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        p = problem(getattr(obj, f.name), hints[f.name], f"{where}.{f.name}" if where else f.name)
        if p is not None:
            return p
    return None


def _file_records(files: tuple[Any, ...], where: str) -> str | None:
    """The common case, a layer's file list (thousands of records): checked a column at a
    time (a C-level pass each); the record at fault is looked for only when one is wrong."""
    if set(map(type, files)) <= {FileRecord} and all(_column_ok(files, name) for name in _FILE_FIELDS):
        return None
    for i, r in enumerate(files):
        if not isinstance(r, FileRecord):
            return f"{where}[{i}]: not a file record"
        p = check_fields(r, f"{where}[{i}]")
        if p is not None:
            return p
        if len(r.path) > MAX_PATH:
            return f"{where}[{i}].path: {len(r.path)} characters, more than a layer may hold ({MAX_PATH})"
    return None


def check_layers(layers: tuple[Layer, ...], where: str) -> str | None:
    """What the types do not say: a layer's index is its position (renderers index by it)."""
    for i, layer in enumerate(layers):
        if layer.index != i:
            return f"{where}[{i}].index: {_show(layer.index)} is not the layer's position"
    return None


def _column_ok(files: tuple[FileRecord, ...], name: str) -> bool:
    column = list(map(attrgetter(name), files))
    if name in ("path", "type", "linkname"):
        # A path as long as a reader refuses (layers/reader.py MAX_PATH): its parents would cost n*n/2.
        return set(map(type, column)) <= {str} and (name != "path" or not column or max(map(len, column)) <= MAX_PATH)
    low = -MAX_SIZE if name in SIGNED else 0
    return set(map(type, column)) <= {int} and (not column or (low <= min(column) and max(column) <= MAX_SIZE))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
