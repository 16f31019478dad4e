"""`python -m tests.support.audit_boot ARGS`: `python -m layerscope ARGS` with an audit hook
(PEP 578) that logs every write the process (and its forked workers) attempts outside the
allowed roots: a temp file created and deleted within the run leaves no trace on disk, but
it leaves its `open` event here. Used by tests/support/hostile.py.

Environment: LAYERSCOPE_AUDIT_LOG (the log file), LAYERSCOPE_AUDIT_ALLOW (os.pathsep-separated
roots a run may write under).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_ALWAYS = ("/dev/null", "/dev/tty")
# event -> indexes of its arguments that name a path written (created, changed or removed)
_PATH_ARGS = {
    "os.mkdir": (0,),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "shutil.rmtree": (0,),
    "tempfile.mkstemp": (0,),
    "tempfile.mkdtemp": (0,),
    "sqlite3.connect": (0,),
}


def main() -> None:
    log = os.open(os.environ.pop("LAYERSCOPE_AUDIT_LOG"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    roots = [os.path.realpath(r) for r in os.environ.pop("LAYERSCOPE_AUDIT_ALLOW", "").split(os.pathsep) if r]

    def allowed(raw: Any) -> bool:
        if isinstance(raw, int) or raw is None:
            return True  # a descriptor: its open was judged
        path = os.fsdecode(raw)
        if path in (":memory:", "") or path.startswith("file::memory:"):
            return True
        real = os.path.realpath(path)
        if real in _ALWAYS:
            return True
        return any(real == r or real.startswith(r + os.sep) for r in roots)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE
            )
            paths = [path] if writes else []
        elif event in _PATH_ARGS:
            paths = [args[i] for i in _PATH_ARGS[event] if i < len(args)]
        else:
            return
        for p in paths:
            if not allowed(p):
                os.write(log, f"{event} {os.fsdecode(p)!r}\n".encode("utf-8", "replace"))

    sys.addaudithook(hook)
    runpy.run_module("layerscope", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
