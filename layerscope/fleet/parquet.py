"""`--output DIR`: one Parquet file per table (pyarrow), written whole then renamed into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING

from layerscope.errors import UsageError

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables


def prepare(directory: str) -> None:
    """The output directory, made if missing; refused if it is a file."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"--output {directory}: not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--output {directory}: {err.strerror}") from None


def write_bytes(directory: str, name: str, data: bytes) -> str:
    path = os.path.join(directory, name)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep the report from whoever the directory is shared with
        os.replace(tmp, path)
    except BaseException as err:  # a full disk, Ctrl-C, SIGTERM: no half-written temp file left behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise UsageError(f"cannot write {path}: {err.strerror}") from None
        raise
    return path


def write_tables(directory: str, tables: FleetTables) -> list[str]:
    """`<table>.parquet` for every table; returns the paths written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for name, frame in tables.items():
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
        out.append(write_bytes(directory, f"{name}.parquet", sink.getvalue().to_pybytes()))
    return out
