"""What must never ship: forbidden paths and secrets, in any layer, hidden or not.

A file a later layer deletes is gone from the final filesystem but still in the blob
everyone pulls, so every layer is searched, and each finding says whether a later layer
hides it. Three sources:

* paths: globs matched against every entry of every layer (directories too: `**/.git/`);
* file contents: the secret detectors of layers/secrets.py, run while the layer was read
  (records carry the findings, or None when the contents were not scanned);
* the config: `Env` and every history line (`ENV`, `ARG`, build args recorded in `RUN`),
  for detector matches and for secret-looking names set to a literal value.

Glob syntax: `/` separates components, `*` and `?` stay within one, `**` spans any number
of them (none included), a trailing `/` matches directories only, and a glob without any
other `/` matches its name at any depth (`.env` is `**/.env`). Paths are relative to the
image root; a leading `/` in a glob is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from layerscope.analysis.filetree import FileTree
from layerscope.buildfile.glob import ALL, CLASS, DIRS, LIT, ONE, STAR, Glob, Token, unbounded
from layerscope.layers.secrets import scan_text
from layerscope.model import DIR, Exposure, Finding, Image
from layerscope.textsafe import visible

# inspect's default: names that are a leak wherever they are. Not `*.pem` or `*.key`: CA
# bundles and distribution packages (ca-certificates, ssl-cert) put those in most images.
DEFAULT_GLOBS: tuple[str, ...] = (
    "**/.git/",
    "**/.env",
    "**/.git-credentials",
    "**/.netrc",
    "**/.pypirc",
    "**/.aws/credentials",
    "**/id_rsa",
    "**/id_dsa",
    "**/id_ecdsa",
    "**/id_ed25519",
)
SECRET_NAME = "secret-name"  # the detector name of a secret-looking variable set to a literal

_META = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class _Glob:
    text: str
    match: Callable[[str], object] | None  # None: the base name alone decides (`**/NAME`, `**/*SUFFIX`)
    dir_only: bool


Piece = tuple[str, Token]  # a glob's piece as a regular expression and as a token of buildfile/glob.py


def _component(part: str) -> list[Piece]:
    out: list[Piece] = []
    i = 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append(("[^/]*", Token(STAR)))
        elif c == "?":
            out.append(("[^/]", Token(ONE)))
        elif c == "[":
            j = part.find("]", i + 2)
            if j < 0:
                out.append((re.escape(c), Token(LIT, c)))
            else:
                body = part[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                cls = "[" + body.replace("\\", "\\\\") + "]"
                out.append((cls, Token(CLASS, cls=re.compile(cls, re.DOTALL))))
                i = j
        else:
            out.append((re.escape(c), Token(LIT, c)))
        i += 1
    return out


def _compile(glob: str) -> tuple[str, _Glob]:
    """(the base-name key: a literal name, "*SUFFIX", or "" for any), the compiled glob.

    A glob with two or more unbounded parts (`*`, `**`) is matched by buildfile/glob.py's
    automaton, never by `re`: `*b*b*b*b*b*b*b*b*b*b*b*b*b*b*bx` against a name of 40 `b`s
    had backtracked for minutes (`check --config` with such a forbid-paths)."""
    text = glob
    dir_only = glob.endswith("/")
    body = glob.strip("/")
    if not body:
        raise ValueError(f"empty glob {glob!r}")
    if "/" not in body and body != "**":
        body = "**/" + body
    parts = body.split("/")
    last = parts[-1]
    pieces: list[Piece] = []
    for k, part in enumerate(parts):
        final = k == len(parts) - 1
        if part == "**":
            pieces.append((".*", Token(ALL)) if final else ("(?:[^/]+/)*", Token(DIRS)))
        else:
            pieces += _component(part)
            if not final:
                pieces.append(("/", Token(LIT, "/")))
    # DOTALL: a name may hold a newline, and `**` must not stop at it (the automaton's tokens take any
    # character but `/` already). The regex also says when a glob is malformed (re.error).
    regex = re.compile("".join(p for p, _ in pieces), re.DOTALL)
    tokens = [t for _, t in pieces]
    match: Callable[[str], object] = regex.fullmatch if unbounded(tokens) <= 1 else Glob(tokens).match
    if not _META.search(last):
        key = last
    elif last.startswith("*") and not _META.search(last[1:]) and len(last) > 1:
        key = last  # "*SUFFIX"
    else:
        key = ""
    any_depth = parts[:-1] == ["**"]
    return key, _Glob(text, None if any_depth and key else match, dir_only)


class PathMatcher:
    """Globs indexed by the base name they need, so most paths cost one dict lookup."""

    def __init__(self, globs: Sequence[str]) -> None:
        self.by_name: dict[str, list[_Glob]] = {}
        self.by_suffix: dict[str, list[_Glob]] = {}
        self.general: list[_Glob] = []
        for g in globs:
            key, compiled = _compile(g)
            if key.startswith("*"):
                self.by_suffix.setdefault(key[1:], []).append(compiled)
            elif key:
                self.by_name.setdefault(key, []).append(compiled)
            else:
                self.general.append(compiled)
        self.suffixes = tuple(self.by_suffix)

    def match(self, path: str, is_dir: bool) -> str | None:
        """The first glob matching ``path``, or None."""
        name = path[path.rfind("/") + 1 :]
        candidates = self.by_name.get(name)
        if candidates is None and not self.general and not (self.suffixes and name.endswith(self.suffixes)):
            return None
        pool: list[_Glob] = [*(candidates or []), *self._suffixed(name), *self.general]
        for g in pool:
            if (is_dir or not g.dir_only) and (g.match is None or g.match(path)):
                return g.text
        return None

    def _suffixed(self, name: str) -> Iterator[_Glob]:
        if self.suffixes and name.endswith(self.suffixes):
            for suffix, globs in self.by_suffix.items():
                if name.endswith(suffix):
                    yield from globs


def check_globs(globs: Sequence[str]) -> None:
    """Raise ValueError for a glob that cannot be compiled."""
    for g in globs:
        try:
            _compile(g)
        except re.error as err:
            raise ValueError(f"bad glob {g!r}: {err}") from None


# -- the config: Env and history ----------------------------------------------------------

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_KEY|SECRET_KEY|PRIVATE_KEY|CREDENTIALS?)$"
    r"|PASSWORD",
    re.IGNORECASE,
)
_NOT_A_VALUE = re.compile(r"(?:_FILE|_PATH|_DIR|_NAME|_LENGTH)$", re.IGNORECASE)  # names of where, not what
_ASSIGN = re.compile(r"""(?<![\w$])([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s;&|)]*)""")


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_A_VALUE.search(name)


def _literal(value: str) -> bool:
    """A value written out, not empty and not a reference to another variable."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1].strip()
    return bool(v) and not v.startswith("$")


def _config_findings(image: Image) -> list[Finding]:
    out: list[Finding] = []
    cfg = image.config.get("config") if isinstance(image.config, dict) else None
    env = cfg.get("Env") if isinstance(cfg, dict) else None
    for item in env if isinstance(env, list) else ():
        if not isinstance(item, str) or "=" not in item:
            continue
        name, _, value = item.partition("=")
        detectors = scan_text(value)
        for d in detectors:
            out.append(Finding("env", d, name=name))
        if not detectors and secret_name(name) and _literal(value):
            out.append(Finding("env", SECRET_NAME, name=name))
    for h in image.history:
        text = h.created_by or ""
        detectors = scan_text(text)
        for d in detectors:
            out.append(Finding("history", d, layer=h.layer_index, history_index=h.index))
        if detectors:
            continue
        seen: set[str] = set()
        for m in _ASSIGN.finditer(text):
            name = m.group(1)
            if name not in seen and secret_name(name) and _literal(m.group(2)):
                seen.add(name)
                out.append(Finding("history", SECRET_NAME, layer=h.layer_index, name=name, history_index=h.index))
    return out


# -- layers ----------------------------------------------------------------------------------


class _Hider:
    """Which later layer hides a (layer, path): a whiteout or opaque directory above it, or
    the layer that overwrote it (from the tree's dead bytes). Built only when needed."""

    def __init__(self, image: Image, tree: FileTree) -> None:
        self.image = image
        self.tree = tree
        self._dead: dict[tuple[str, int], int] | None = None

    def visible(self, layer: int, path: str, is_dir: bool) -> bool:
        node = self.tree.nodes.get(path)
        if node is None:
            return False
        return node.record.type == DIR if is_dir else node.layer == layer

    def hidden_by(self, layer: int, path: str) -> int | None:
        """The first later layer that deleted it (a whiteout or opaque directory above it) or
        overwrote it (the tree charged its bytes to that layer); None when neither says."""
        above = [path]
        p = path
        while "/" in p:
            p = p.rpartition("/")[0]
            above.append(p)
        deleted = None
        for later in self.image.layers[layer + 1 :]:
            rec = later.record
            if rec is None:
                continue
            if any(a in rec.whiteouts for a in above) or any(a in rec.opaque_dirs for a in above[1:]):
                deleted = later.index
                break
        if self._dead is None:
            self._dead = {(w.path, w.layer): w.hidden_by for w in self.tree.dead}
        killers = [k for k in (deleted, self._dead.get((path, layer))) if k is not None]
        return min(killers) if killers else None


def find(image: Image, tree: FileTree, globs: Sequence[str], secrets: bool) -> Exposure:
    """Every finding in ``image`` (stacked into ``tree``): paths by ``globs``, the config's, and
    with ``secrets`` those its records' content scans found. Without it, findings a cached
    record happens to hold are left out: what is reported depends on what was asked, not on
    the state of the cache."""
    matcher = PathMatcher(globs)
    hider = _Hider(image, tree)
    findings: list[Finding] = []
    scanned = True
    for layer in image.layers:
        rec = layer.record
        if rec is None:
            scanned = False
            continue
        i = layer.index
        hits: list[tuple[str, str, bool, str]] = []  # (kind, path, is a directory, glob or detector)
        if globs:
            # This loop runs once per entry of the image: one base-name lookup decides most.
            match, names, suffixes, general = matcher.match, matcher.by_name, matcher.suffixes, matcher.general
            for f in rec.files:
                name = f.path.rpartition("/")[2]
                if name in names or general or (suffixes and name.endswith(suffixes)):
                    is_dir = f.type == DIR
                    g = match(f.path, is_dir)
                    if g is not None:
                        hits.append(("path", f.path, is_dir, g))
        if not secrets or rec.secrets is None:
            scanned = False
        else:
            hits.extend(("file", path, False, det) for path, det in rec.secrets)
        for kind, path, is_dir, detector in hits:
            hidden = not hider.visible(i, path, is_dir)
            by = hider.hidden_by(i, path) if hidden else None
            findings.append(Finding(kind, detector, path=path, layer=i, hidden=hidden, hidden_by=by))
    findings += _config_findings(image)
    return Exposure(tuple(findings), tuple(globs), scanned and bool(image.layers))


# -- documents and words ---------------------------------------------------------------------


def exposure_json(e: Exposure) -> dict[str, Any]:
    return {
        "path_globs": list(e.path_globs),
        "secrets_scanned": e.secrets_scanned,
        "findings": [finding_json(f) for f in e.findings],
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "detector": f.detector,
        "path": f.path,
        "layer": f.layer,
        "hidden": f.hidden,
        "hidden_by": f.hidden_by,
        "name": f.name,
        "history_index": f.history_index,
    }


def exposure_from(doc: Any) -> Exposure | None:
    if not isinstance(doc, dict):
        return None
    return Exposure(
        tuple(Finding(**f) for f in doc["findings"]), tuple(doc["path_globs"]), bool(doc["secrets_scanned"])
    )


def shown(text: str) -> str:
    """Image text (a path, a variable name) for a human: escaped as everywhere (textsafe)."""
    return visible(text)


def describe(f: Finding) -> str:
    """One line naming a finding; never the secret itself."""
    if f.kind in ("path", "file"):
        what = f"glob {f.detector}" if f.kind == "path" else f.detector
        where = f"/{shown(f.path or '')}: {what}, layer {f.layer}"
        if f.hidden:
            by = f"layer {f.hidden_by}" if f.hidden_by is not None else "a later layer"
            where += f", hidden by {by} (still in layer {f.layer}'s blob)"
        return where
    var = f" {shown(f.name)}" if f.name else ""
    what = "set to a literal value" if f.detector == SECRET_NAME else f.detector
    if f.kind == "env":
        return f"config Env{var}: {what}"
    layer = f" (layer {f.layer})" if f.layer is not None else ""
    return f"history #{f.history_index}{layer}{var}: {what}"
