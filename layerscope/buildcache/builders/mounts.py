"""`RUN --mount` options, parsed once for every builder model."""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.buildfile.instructions import Instruction

_ALIASES = {"dst": "target", "destination": "target", "src": "source", "ro": "readonly", "readwrite": "rw"}


@dataclass(frozen=True, slots=True)
class Mount:
    type: str
    options: tuple[tuple[str, str], ...]
    spec: str  # as written

    def get(self, key: str, default: str = "") -> str:
        for k, v in self.options:
            if k == key:
                return v
        return default

    @property
    def target(self) -> str:
        return self.get("target")

    @property
    def readonly(self) -> bool:
        if self.type == "bind":
            return self.get("rw", "false") == "false" or self.get("readonly", "false") != "false"
        return self.get("readonly", "false") != "false"


def parse_mounts(ins: Instruction) -> list[Mount]:
    out = []
    for spec in ins.flag_values("mount"):
        opts: list[tuple[str, str]] = []
        for part in spec.split(","):
            if not part:
                continue
            key, eq, value = part.partition("=")
            key = _ALIASES.get(key.strip().lower(), key.strip().lower())
            opts.append((key, value if eq else "true"))
        mtype = dict(opts).get("type", "bind")
        out.append(Mount(mtype, tuple(o for o in opts if o[0] != "type"), spec))
    return out
