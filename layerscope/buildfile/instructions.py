"""Parse a Dockerfile into instructions with BuildKit's own parser (the `dockerfile` package), then check
what BuildKit's instruction parser would reject: unknown instructions, unknown flags, missing arguments.

The parser takes time quadratic in a heredoc's lines and in a continued instruction's bytes (a 1M-line
heredoc or a 200k-line continuation runs for minutes), so a Dockerfile is refused beyond MAX_BYTES or
MAX_LINES, far above real ones, where one parse stays within a second or two. It also takes time cubic
in the nesting of `${a:-${b:-...}}` in RUN and COPY (2,000 deep: half a minute), so nesting beyond what
the expansion accepts (expand.MAX_DEPTH) is refused before the parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dockerfile

from layerscope.buildfile.directives import read_directives
from layerscope.buildfile.expand import MAX_DEPTH
from layerscope.errors import FormatError

# Flags each instruction accepts (BuildKit's frontend; COPY --parents is labs-only but modelled).
FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "exclude", "parents"}),
    "ADD": frozenset({"chown", "chmod", "link", "exclude", "keep-git-dir", "checksum", "unpack"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
KEYWORDS = frozenset(
    [
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ]
)
_MIN_ARGS = {"FROM": 1, "RUN": 1, "COPY": 2, "ADD": 2, "WORKDIR": 1, "USER": 1, "ENV": 1, "LABEL": 1, "ARG": 1}
MAX_BYTES = 1 << 20
MAX_LINES = 20_000
_NESTING = re.compile(r"\$\{|\}|\n")
_LOCATE_BYTES = 256 << 10  # above this, a parse error is reported without its line (finding it reparses)
_MIN_ARGS |= {"SHELL": 1, "EXPOSE": 1, "VOLUME": 1, "STOPSIGNAL": 1, "MAINTAINER": 1, "ONBUILD": 1}


@dataclass(frozen=True, slots=True)
class Heredoc:
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str  # upper case
    args: tuple[str, ...]  # as the parser splits them (shell form: one string, continuations joined)
    flags: tuple[tuple[str, str | None], ...]  # ("from", "build"), ("link", None)
    line: int  # 1-based first line
    end_line: int
    original: str  # the instruction as written, continuations joined (heredoc bodies included)
    json: bool = False  # exec (JSON array) form
    heredocs: tuple[Heredoc, ...] = ()
    trigger: Instruction | None = None  # the instruction an ONBUILD registers

    def flag(self, name: str) -> str | None:
        values = self.flag_values(name)
        return values[-1] if values else None

    def flag_values(self, name: str) -> list[str]:
        return [v if v is not None else "true" for k, v in self.flags if k == name]

    def has_flag(self, name: str) -> bool:
        value = self.flag(name)
        return value is not None and value.lower() != "false"

    @property
    def text(self) -> str:
        return self.original


@dataclass(frozen=True, slots=True)
class ParsedFile:
    instructions: tuple[Instruction, ...]
    directives: dict[str, str]
    escape: str


def _split_flags(raw: tuple[str, ...], keyword: str, line: int) -> tuple[tuple[str, str | None], ...]:
    out: list[tuple[str, str | None]] = []
    allowed = FLAGS.get(keyword, frozenset())
    for item in raw:
        body = item[2:] if item.startswith("--") else item
        name, eq, value = body.partition("=")
        if name not in allowed:
            raise FormatError(f"Dockerfile line {line}: unknown flag: --{name} (for {keyword})")
        out.append((name, value if eq else None))
    return tuple(out)


def _convert(cmd: dockerfile.Command, escape: str) -> Instruction:
    line = cmd.start_line
    if not cmd.cmd:  # the parser's node for a continuation that runs into the end of the file
        raise FormatError(f"Dockerfile line {line}: an empty instruction (a line continued into nothing)")
    keyword = cmd.cmd.upper()
    if keyword not in KEYWORDS:
        raise FormatError(f"Dockerfile line {line}: unknown instruction: {cmd.cmd}")
    trigger = None
    if keyword == "ONBUILD":
        if cmd.sub_cmd is None:
            raise FormatError(f"Dockerfile line {line}: ONBUILD requires at least one argument")
        inner_kw = cmd.sub_cmd.upper()
        if inner_kw in ("ONBUILD", "FROM", "MAINTAINER"):
            raise FormatError(f"Dockerfile line {line}: {inner_kw} isn't allowed as an ONBUILD trigger")
        # The package drops a trigger's flags: parse the trigger text on its own to keep them.
        body = cmd.original.split(None, 1)[1] if " " in cmd.original.strip() else ""
        inner = _parse_commands(f"# escape={escape}\n{body}\n")[0]
        shifted = dockerfile.Command(
            inner.cmd,
            inner.sub_cmd,
            inner.json,
            inner.original,
            line,
            cmd.end_line,
            inner.flags,
            inner.value,
            inner.heredocs,
        )
        trigger = _convert(shifted, escape)
    args = tuple(cmd.value)
    if keyword not in ("ONBUILD",) and len([a for a in args if a != ""]) < _MIN_ARGS.get(keyword, 0):
        need = _MIN_ARGS[keyword]
        what = "argument" if need == 1 else "arguments"
        raise FormatError(f"Dockerfile line {line}: {keyword} requires at least {need} {what}")
    return Instruction(
        keyword=keyword,
        args=args,
        flags=_split_flags(tuple(cmd.flags), keyword, line),
        line=line,
        end_line=cmd.end_line,
        original=cmd.original,
        json=bool(cmd.json),
        heredocs=tuple(Heredoc(h.name, h.content) for h in cmd.heredocs),
        trigger=trigger,
    )


def _parse_commands(text: str) -> tuple[dockerfile.Command, ...]:
    try:
        return tuple(dockerfile.parse_string(text))
    except dockerfile.GoParseError as err:
        if len(text) > _LOCATE_BYTES:
            raise FormatError(f"Dockerfile: {err}") from None
        raise FormatError(f"Dockerfile line {_error_line(text)}: {err}") from None


def _error_line(text: str) -> int:
    """The parser's errors carry no line: find the shortest failing prefix (a few parses, by bisection)."""
    lines = text.splitlines(keepends=True)

    def fails(n: int) -> bool:
        try:
            dockerfile.parse_string("".join(lines[:n]) + "\n")
        except dockerfile.GoParseError as err:
            return "no instructions" not in str(err)
        return False

    lo, hi = 1, len(lines)
    if not fails(hi):
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _check_nesting(text: str, escape: str) -> None:
    """Refuse `${` nested deeper than MAX_DEPTH within one instruction (lines joined by the escape
    character), in one linear pass, before the parser spends cubic time on it."""
    depth = 0
    for m in _NESTING.finditer(text):
        token = m.group()
        if token == "\n":
            end = m.start()
            while end and text[end - 1] in " \t\r":
                end -= 1
            if text[end - 1 : end] != escape:  # not a continued line: a new instruction
                depth = 0
        elif token == "}":
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise FormatError(f"Dockerfile line {line}: variable substitutions nested more than {MAX_DEPTH} deep")


def parse_dockerfile(text: str) -> ParsedFile:
    """Every instruction of a Dockerfile, or a FormatError naming the line."""
    if len(text) > MAX_BYTES:
        raise FormatError(f"the Dockerfile is too large to parse: {len(text)} characters (the limit is {MAX_BYTES})")
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise FormatError(f"the Dockerfile is too long to parse: {lines} lines (the limit is {MAX_LINES})")
    directives = read_directives(text)
    escape = directives.get("escape", "\\")
    if not text.strip():
        raise FormatError("Dockerfile line 1: the Dockerfile is empty")
    _check_nesting(text, escape)
    commands = _parse_commands(text)
    instructions = tuple(_convert(c, escape) for c in commands)
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword != "ARG":
            raise FormatError(
                f"Dockerfile line {ins.line}: {ins.keyword} before the first FROM (only ARG may precede it)"
            )
    else:
        raise FormatError("Dockerfile line 1: no FROM instruction")
    return ParsedFile(instructions=instructions, directives=directives, escape=escape)
