"""What every builder model shares: the inputs of one build, the planned steps with their cache keys, the
builder's cache (every record still stored), and the per-stage state a walk through a Dockerfile keeps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from layerscope.buildfile.context import ContextTree, Selection
from layerscope.buildfile.expand import references
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile, Names, Stage

PROXY_ARGS = frozenset(
    n for p in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY") for n in (p, p.lower())
)

# Cause kinds of the contract.
FILE_CONTENTS, BUILD_ARG, EARLIER, BASE, INSTRUCTION = "file", "build-arg", "earlier-step", "base-image", "instruction"
SESSION = "session"  # the forced miss of a step on a directory context (BuildKit keys it by the build session)


@dataclass(frozen=True)
class ContextInput:
    """A named build context of one build: a directory's entries, or an image (by reference)."""

    name: str
    kind: str  # "dir" | "docker-image" | "oci-layout" (buildcache/inputs/contexts.py)
    source: str
    tree: ContextTree | None = None  # a directory's entries, its own .dockerignore loaded

    @property
    def spec(self) -> str:
        return f"{self.name}={self.source}" if self.kind == "dir" else f"{self.name}={self.kind}://{self.source}"


@dataclass(frozen=True)
class BuildInput:
    """One build: the Dockerfile, its context, build args and what the base images are at that time."""

    dockerfile: Dockerfile
    context: ContextTree
    build_args: dict[str, str]
    target: str | None = None
    base_generation: dict[str, str] = field(default_factory=dict)  # image name -> identity suffix
    image_store: str = "containerd"
    reproducible: frozenset[str] = frozenset()  # stage names or line numbers whose outputs are reproducible
    contexts: dict[str, ContextInput] = field(default_factory=dict)  # named build contexts by name

    def base_identity(self, image: str) -> str:
        return image + "#" + self.base_generation.get(image, "")

    def names(self, context_first: bool = False) -> Names:
        return Names(tuple(self.contexts), context_first)

    def context_identity(self, name: str) -> str:
        """An image-like context as a base: its reference and whether it was re-published (`context:NAME`)."""
        ctx = self.contexts[name]
        return ctx.spec + "#" + self.base_generation.get("context:" + name, "")

    def is_reproducible(self, stage: Stage, ins: Instruction | None) -> bool:
        return stage.label in self.reproducible or (ins is not None and str(ins.line) in self.reproducible)


@dataclass(frozen=True, slots=True)
class Component:
    """One named input of a step's cache key, and what to blame when it differs."""

    name: str
    value: str
    cause_kind: str
    cause_name: str
    selection: Selection | None = None  # for file components: which names changed
    # the value if every step re-run in this build writes the same bytes as before (content read from
    # another stage's output); None when the value does not depend on re-run output
    optimistic: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedStep:
    stage: str
    line: int
    instruction: str
    text: str
    kind: str  # "step" (has a cache lookup) | "none" | "skipped"
    slot: str = ""  # identity across builds: stage, keyword, ordinal
    key: str | None = None
    parents: tuple[str, ...] = ()  # keys of definition-based inputs
    components: tuple[Component, ...] = ()
    note: str | None = None  # reason for none/skipped; a remark on a hit
    produces: str | None = None  # the chain key after this step (merge key of COPY --link, base of FROM)
    base_image: str | None = None  # FROM: the image this chain starts from
    hit: bool = False
    forced_miss: Component | None = None  # a miss not decided by the key (buildah skipping lookups)
    output: str = ""  # content identity of the state after this step
    depends: bool = False  # a miss that hits if the re-run steps it reads write the same bytes as before
    optimistic_key: str | None = None  # the key under that assumption


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def step_key(parents: tuple[str, ...], components: tuple[Component, ...], kind: str) -> str:
    # a stage's name is in no builder's key (renaming the stage a COPY --from reads hits): "from:<stage>" keys
    # as "from:"
    return digest(kind, parents, tuple((c.name.split(":")[0] if c.name.startswith("from:") else c.name, c.value)
                                       for c in components))  # fmt: skip


class Records:
    """The builder's cache: every record still stored (not only the last build), with its output."""

    def __init__(self) -> None:
        self.outputs: dict[str, str] = {}
        self.by_parents: dict[tuple[str, ...], list[PlannedStep]] = {}
        self.producers: dict[str, PlannedStep] = {}
        self.by_slot: dict[str, str] = {}  # the output of the newest record of each slot
        # records under their optimistic keys too (a URL fetch taken to give what it gave then): only for
        # telling `depends` from `miss`, never a hit
        self.optimistic: dict[str, str] = {}

    def output_if_same(self, key: str) -> str | None:
        """The output of a record with this key, counting records under their optimistic keys."""
        return self.outputs.get(key, self.optimistic.get(key))

    def has(self, key: str | None) -> bool:
        return key is not None and key in self.outputs

    def add(self, steps: list[PlannedStep]) -> None:
        for s in steps:
            if s.key is not None and s.kind == "step":
                self.outputs[s.key] = s.output
                self.by_parents.setdefault(s.parents, []).insert(0, s)
                self.by_slot[s.slot] = s.output
                if s.optimistic_key is not None:
                    self.optimistic[s.optimistic_key] = s.output
            if s.produces is not None:
                self.outputs.setdefault(s.produces, s.output)


@dataclass
class StageState:
    """What a walk through one stage keeps between instructions."""

    label: str
    env: dict[str, Component] = field(default_factory=dict)  # ENV values and valued ARGs, in insertion order
    order: dict[str, int] = field(default_factory=dict)  # where each ENV / valued ARG name entered the environment
    args: dict[str, str | None] = field(default_factory=dict)  # ARGs declared in this stage (None: no value)
    inherited_args: dict[str, str | None] = field(default_factory=dict)  # from a FROM <stage> parent
    cwd: str = "/"
    cwd_as_set: str = (
        "/"  # BuildKit: a RUN's Cwd as WORKDIR set it (an absolute path is not cleaned: /app/ is not /app)
    )
    user: str = ""
    shell: tuple[str, ...] = ("/bin/sh", "-c")
    config: list[str] = field(default_factory=list)  # classic: the image config so far
    chain: str = ""  # key of the state the next op builds on
    output: str = ""  # content identity of the current state
    output_line: int = 0  # last step that changed the output non-reproducibly
    writes: list[tuple[str, str, int]] = field(default_factory=list)  # (path, content token, line) per step
    # the same, if every step re-run in this build wrote the same bytes as before (see `DEPENDS`)
    ochain: str = ""
    owrites: list[tuple[str, str, int]] = field(default_factory=list)
    ran: bool = False  # buildah: whether the stage executed anything in this build
    onbuild: list[Instruction] = field(default_factory=list)
    ordinals: dict[str, int] = field(default_factory=dict)

    def slot(self, keyword: str) -> str:
        n = self.ordinals.get(keyword, 0)
        self.ordinals[keyword] = n + 1
        return f"{self.label}:{keyword}:{n}"

    def values(self) -> dict[str, str]:
        """Variables for expanding words: args with values and ENV (ENV wins)."""
        out = {k: v for k, v in {**self.inherited_args, **self.args}.items() if v is not None}
        out.update({k: c.value for k, c in self.env.items()})
        return out


def resolve_arg(name: str, default: str | None, build: BuildInput, globals_: dict[str, str]) -> str | None:
    """A stage ARG's value: --build-arg, else its default, else a global ARG of the same name."""
    if name in build.build_args:
        return build.build_args[name]
    if default is not None:
        return default
    return globals_.get(name)


def env_component(name: str, value: str, line: int, source_text: str, arg_names: set[str]) -> Component:
    """An ENV variable: blamed on a build arg when its value came from one, else on the ENV line."""
    used = sorted(references(source_text) & arg_names)
    if used:
        return Component(f"env:{name}", value, BUILD_ARG, used[0])
    return Component(f"env:{name}", value, INSTRUCTION, f"ENV {name} (line {line})")


def overlaps(a: str, b: str) -> bool:
    a, b = "/" + a.strip("/"), "/" + b.strip("/")
    return a == "/" or b == "/" or a == b or a.startswith(b + "/") or b.startswith(a + "/")


def read_paths(state: StageState, paths: list[str], optimistic: bool = False) -> tuple[str, int]:
    """Content identity of `paths` in a stage's filesystem: the tokens of every step that wrote there.

    A RUN writes anywhere ("/"); a COPY writes its destination. Returns the identity and the line of the last
    non-reproducible step among those writers (what to blame when it differs). `optimistic`: as if every
    step re-run in this build wrote the same bytes as before.
    """
    wild = [p.split("*")[0].split("?")[0].split("[")[0] for p in paths]
    writes = state.owrites if optimistic else state.writes
    hits = [(tok, line) for path, tok, line in writes if any(overlaps(path, w) for w in wild)]
    blame = max((line for tok, line in hits if tok.startswith("run:")), default=0)
    return digest(paths, [t for t, _ in hits]), blame


def arg_component(name: str, value: str) -> Component:
    return Component(f"env:{name}", value, BUILD_ARG, name)
