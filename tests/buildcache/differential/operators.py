"""Mutation operators: each turns a seed into scenarios (a build before, a change, a build after).

A scenario here is a plain dict in the format of `tests/buildcache/scenario.py` (dockerfile, files, change,
options) plus `id`, `seed` and `op`. Operators are deterministic: the corpus is a pure function of the
seeds and this file (`generate.py` writes it; the fast tier checks the committed copy is current).
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import tarfile
from collections.abc import Callable, Iterator
from typing import Any

from tests.buildcache.differential.seeds import BASE, SEEDS, Seed

Scn = dict[str, Any]
KW = re.compile(r"^([A-Za-z]+)(\s+)(.*)$", re.S)


def text(lines: list[str] | tuple[str, ...]) -> str:
    return "\n".join(lines) + "\n"


def spans(lines: list[str] | tuple[str, ...]) -> list[tuple[int, int]]:
    """(first, last) line index of every instruction (continuation lines start with whitespace)."""
    out: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        if line[:1].isspace() and out:
            out[-1] = (out[-1][0], i)
        elif line.strip() and not line.startswith("#"):
            out.append((i, i))
    return out


def keyword(line: str) -> str:
    return line.split(None, 1)[0].upper()


def scenario(seed: Seed, op: str, after: list[str] | None = None, *, before: list[str] | None = None,
             files: dict[str, str] | None = None, **change: Any) -> Scn:  # fmt: skip
    before_lines = list(seed.lines) if before is None else before
    ch: dict[str, Any] = {k: v for k, v in change.items() if k != "options"}
    if after is not None and after != before_lines:
        ch["dockerfile"] = text(after)
    return {
        "id": f"{seed.name}-{op}",
        "seed": seed.name,
        "op": op.split(".")[0],
        "dockerfile": text(before_lines),
        "files": dict(seed.files if files is None else files),
        "change": ch,
        "options": change.get("options", {}),
    }


# --- per-instruction edits ---------------------------------------------------------------------
EDITS: dict[str, Callable[[str], str]] = {
    "RUN": lambda s: s + " && true",
    "WORKDIR": lambda s: s + "2",
    "ARG": lambda s: s + "x" if "=" in s else s + "=x",
    "ENV": lambda s: s + "x",
    "LABEL": lambda s: s + "x",
    "CMD": lambda s: 'CMD ["/bin/sh", "-c", "true"]',
    "ENTRYPOINT": lambda s: 'ENTRYPOINT ["/bin/sh", "-c"]',
    "EXPOSE": lambda s: s + "1",
    "USER": lambda s: "USER 0",
    "HEALTHCHECK": lambda s: "HEALTHCHECK --interval=5s CMD true",
}


def edit_copy(line: str) -> str:
    words = line.split(" ")
    for i, w in enumerate(words[1:-1], 1):
        if not w.startswith("--"):
            words[i] = w.rstrip("/") if w.endswith("/") else "./" + w if not w.startswith("/") else w + "/."
            return " ".join(words)
    return line


def per_instruction(seed: Seed) -> Iterator[Scn]:
    lines = list(seed.lines)
    sp = spans(lines)
    for n, (a, b) in enumerate(sp):
        kw = keyword(lines[a])
        if kw == "FROM" or (kw == "ARG" and n < 2 and seed.name == "args"):
            continue
        tag = f"{kw.lower()}{a + 1}"
        # edited
        new = list(lines)
        if kw in ("COPY", "ADD"):
            new[a] = edit_copy(lines[a])
        elif kw in EDITS:
            new[b] = EDITS[kw](lines[b])
        if new != lines:
            yield scenario(seed, f"edit.{tag}", new)
        # removed
        yield scenario(seed, f"remove.{tag}", lines[:a] + lines[b + 1 :])
        # moved up one (within the stage)
        if n > 0 and keyword(lines[sp[n - 1][0]]) != "FROM":
            pa, _pb = sp[n - 1]
            yield scenario(seed, f"move.{tag}", lines[:pa] + lines[a : b + 1] + lines[pa:a] + lines[b + 1 :])
        m = KW.match(lines[a])
        assert m is not None
        rest = m.group(3)
        # whitespace after the keyword, inside the arguments, trailing; keyword case
        yield scenario(seed, f"ws-keyword.{tag}", [*lines[:a], f"{m.group(1)}   {rest}", *lines[a + 1 :]])
        if " " in rest:
            inside = rest.replace(" ", "  ", 1)
            yield scenario(seed, f"ws-inside.{tag}", [*lines[:a], f"{m.group(1)} {inside}", *lines[a + 1 :]])
        yield scenario(seed, f"ws-trailing.{tag}", [*lines[:b], lines[b] + "   ", *lines[b + 1 :]])
        yield scenario(seed, f"case.{tag}", [*lines[:a], f"{m.group(1).lower()} {rest}", *lines[a + 1 :]])


INSERTS = {
    "env": "ENV N=1",
    "label": "LABEL n=1",
    "user": "USER root",
    "shell": 'SHELL ["/bin/sh", "-c"]',
    "expose": "EXPOSE 90",
    "cmd": 'CMD ["true"]',
    "onbuild": "ONBUILD RUN true",
    "healthcheck": "HEALTHCHECK NONE",
    "arg-valued": "ARG N=1",
    "arg-bare": "ARG N",
    "run": "RUN true",
    "workdir": "WORKDIR /w2",
    "workdir-root": "WORKDIR /",
    "stopsignal": "STOPSIGNAL SIGTERM",
    "volume": "VOLUME /v",
    "comment": "# a comment",
    "blank": "",
    "maintainer": "MAINTAINER someone",
    "entrypoint": 'ENTRYPOINT ["/bin/sh", "-c"]',
}


def inserts(seed: Seed, at: int) -> Iterator[Scn]:
    lines = list(seed.lines)
    for name, ins in INSERTS.items():
        yield scenario(seed, f"insert-{name}.at{at + 1}", [*lines[:at], ins, *lines[at:]])


# --- seed-specific operators -----------------------------------------------------------------
def replace(lines: list[str] | tuple[str, ...], old: str, new: str | list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line == old:
            out += [new] if isinstance(new, str) else new
        else:
            out.append(line)
    assert out != list(lines) or old == new, old
    return out


def b64(data: bytes) -> str:
    return "@b64:" + base64.b64encode(data).decode()


def tar_bytes(members: dict[str, str], mtime: int = 1_600_000_000, gz: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, body in members.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(body.encode()), mtime, 0o644
            t.addfile(ti, io.BytesIO(body.encode()))
    data = buf.getvalue()
    return gzip.compress(data, mtime=0) if gz else data


def app_ops(seed: Seed) -> Iterator[Scn]:
    L = list(seed.lines)
    s = seed
    cont = ("RUN echo a && \\", "    ls /app/src > /tmp/list")
    # continuations
    yield scenario(s, "continuation-indent", replace(L, cont[1], "  ls /app/src > /tmp/list"))
    yield scenario(s, "continuation-comment", replace(L, cont[0], [cont[0], "# inside"]))
    yield scenario(s, "continuation-comment-indented", replace(L, cont[0], [cont[0], "    # inside"]))
    yield scenario(s, "continuation-blank", replace(L, cont[0], [cont[0], ""]))
    yield scenario(s, "continuation-trailing-ws", replace(L, cont[0], cont[0] + "  "))
    yield scenario(
        s, "continuation-joined", replace(replace(L, cont[1], []), cont[0], "RUN echo a && ls /app/src > /tmp/list")
    )
    # escape directive (the file has a backslash continuation: the directive changes its meaning only there)
    yield scenario(s, "escape-directive-backslash", ["# escape=\\", *L])
    yield scenario(s, "directive-syntax-comment", ["# check=skip=all", *L])
    # shell form <-> exec form
    run = "RUN cat /app/a.txt > /tmp/out"
    yield scenario(s, "form-run-exec", replace(L, run, 'RUN ["/bin/sh", "-c", "cat /app/a.txt > /tmp/out"]'))
    yield scenario(s, "form-cmd-shell", replace(L, 'CMD ["/bin/sh"]', "CMD /bin/sh"))
    exec_before = replace(L, run, 'RUN ["/bin/sh", "-c", "cat /app/a.txt > /tmp/out"]')
    yield scenario(
        s,
        "form-run-exec-spacing",
        replace(
            exec_before,
            'RUN ["/bin/sh", "-c", "cat /app/a.txt > /tmp/out"]',
            'RUN [ "/bin/sh","-c","cat /app/a.txt > /tmp/out" ]',
        ),
        before=exec_before,
    )
    # heredocs
    hd = [run, "RUN <<EOF", "echo h > /h", "EOF"]
    with_hd = replace(L, run, hd)
    yield scenario(s, "heredoc-added", with_hd)
    yield scenario(s, "heredoc-body", replace(with_hd, "echo h > /h", "echo h2 > /h"), before=with_hd)
    yield scenario(
        s, "heredoc-delimiter", replace(replace(with_hd, "RUN <<EOF", "RUN <<END"), "EOF", "END"), before=with_hd
    )
    yield scenario(s, "heredoc-quoted", replace(with_hd, "RUN <<EOF", 'RUN <<"EOF"'), before=with_hd)
    yield scenario(
        s,
        "heredoc-dash",
        replace(replace(with_hd, "RUN <<EOF", "RUN <<-EOF"), "echo h > /h", "\techo h > /h"),
        before=with_hd,
    )
    yield scenario(s, "heredoc-to-run", replace(L, run, [run, "RUN echo h > /h"]), before=with_hd)
    cp_hd = replace(L, run, [run, "COPY <<EOF /app/h.txt", "hello", "EOF"])
    yield scenario(s, "heredoc-copy-body", replace(cp_hd, "hello", "hello2"), before=cp_hd)
    yield scenario(
        s, "heredoc-copy-dest", replace(cp_hd, "COPY <<EOF /app/h.txt", "COPY <<EOF /app/h2.txt"), before=cp_hd
    )
    # build args
    yield scenario(s, "arg-cli-value", args_before={}, args={"V": "2"})
    yield scenario(s, "arg-cli-same-as-default", args_before={}, args={"V": "1"})
    yield scenario(s, "arg-cli-changed", args_before={"V": "2"}, args={"V": "3"})
    yield scenario(s, "arg-undeclared", args_before={}, args={"U": "1"})
    yield scenario(s, "arg-proxy-undeclared", args_before={}, args={"HTTP_PROXY": "http://p:1"})
    yield scenario(s, "arg-proxy-undeclared-lower", args_before={"no_proxy": "a"}, args={"no_proxy": "b"})
    px = replace(L, "ARG V=1", ["ARG V=1", "ARG HTTP_PROXY"])
    yield scenario(
        s,
        "arg-proxy-declared",
        px,
        before=px,
        args_before={"HTTP_PROXY": "http://p:1"},
        args={"HTTP_PROXY": "http://p:2"},
    )
    late = replace(L, 'CMD ["/bin/sh"]', ["ARG LATE", 'CMD ["/bin/sh"]'])
    yield scenario(s, "arg-late-value", late, before=late, args_before={}, args={"LATE": "1"})
    envarg = replace(L, "ENV E=1", "ENV E=$V")
    yield scenario(s, "arg-used-in-env", envarg, before=envarg, args_before={}, args={"V": "2"})
    lab = replace(L, "ENV E=1", ["ENV E=1", "LABEL v=$V"])
    yield scenario(s, "arg-used-in-label", lab, before=lab, args_before={}, args={"V": "2"})
    masked = replace(L, "ENV E=1", "ENV V=fixed")
    yield scenario(s, "arg-masked-by-env", masked, before=masked, args_before={}, args={"V": "2"})
    yield scenario(
        s,
        "arg-in-copy-dest",
        replace(L, "COPY a.txt /app/a.txt", "COPY a.txt /app/$V.txt"),
        before=replace(L, "COPY a.txt /app/a.txt", "COPY a.txt /app/$V.txt"),
        args_before={},
        args={"V": "2"},
    )
    # COPY / ADD flags
    cp = "COPY a.txt /app/a.txt"
    for flag in ("--chown=1:1", "--chmod=755", "--link", "--chown=0:0"):
        yield scenario(
            s,
            f"copy-flag-add.{flag.strip('-').split('=')[0]}{'-root' if flag.endswith('0:0') else ''}",
            replace(L, cp, cp.replace("COPY ", f"COPY {flag} ")),
        )
    chown = replace(L, cp, "COPY --chown=1:1 a.txt /app/a.txt")
    yield scenario(s, "copy-chown-changed", replace(L, cp, "COPY --chown=2:2 a.txt /app/a.txt"), before=chown)
    chmod = replace(L, cp, "COPY --chmod=644 a.txt /app/a.txt")
    yield scenario(s, "copy-chmod-changed", replace(L, cp, "COPY --chmod=600 a.txt /app/a.txt"), before=chmod)
    yield scenario(s, "copy-chmod-source-mode", None, before=chmod, chmod={"a.txt": "755"})
    link = replace(L, cp, "COPY --link a.txt /app/a.txt")
    yield scenario(s, "copy-link-earlier-change", replace(link, "WORKDIR /app", "WORKDIR /app/"), before=link)
    yield scenario(s, "copy-link-env-change", replace(link, "ENV E=1", "ENV E=2"), before=link)
    yield scenario(s, "copy-link-source-edit", before=link) | {"change": {"files": {"a.txt": "a2\n"}}}
    srcs = "COPY src/ /app/src/"
    ex = replace(L, srcs, "COPY --exclude=y.txt src/ /app/src/")
    yield scenario(s, "copy-exclude-added", ex)
    yield scenario(s, "copy-exclude-excluded-edit", None, before=ex) | {"change": {"files": {"src/y.txt": "y2\n"}}}
    yield scenario(s, "copy-parents", replace(L, srcs, "COPY --parents src/x.txt /app/"))
    wild = replace(L, srcs, "COPY src/*.txt /app/src/")
    yield scenario(s, "wildcard-match-added", None, before=wild) | {"change": {"files": {"src/z.txt": "z\n"}}}
    yield scenario(s, "wildcard-nonmatch-added", None, before=wild) | {"change": {"files": {"src/z.md": "z\n"}}}
    yield scenario(s, "wildcard-match-edited", None, before=wild) | {"change": {"files": {"src/x.txt": "x2\n"}}}
    yield scenario(s, "wildcard-empty", replace(L, srcs, "COPY src/*.none /app/src/"))
    # context changes
    ctx: list[tuple[str, dict[str, Any]]] = [
        ("ctx-edit-copied", {"files": {"a.txt": "a2\n"}}),
        ("ctx-edit-dir-member", {"files": {"src/x.txt": "x2\n"}}),
        ("ctx-edit-unselected", {"files": {"notes.md": "n2\n"}}),
        ("ctx-mtime-only", {}),
        ("ctx-mode-file", {"chmod": {"a.txt": "755"}}),
        ("ctx-mode-dir-member", {"chmod": {"src/x.txt": "600"}}),
        ("ctx-mode-dir", {"chmod": {"src": "700"}}),
        ("ctx-owner", {"chown": {"a.txt": "1000"}}),
        ("ctx-owner-dir-member", {"chown": {"src/x.txt": "1000"}}),
        ("ctx-add-file", {"files": {"src/new.txt": "n\n"}}),
        ("ctx-add-unselected", {"files": {"other.txt": "o\n"}}),
        ("ctx-delete-file", {"remove": ["src/y.txt"]}),
        ("ctx-empty-dir", {"mkdir": ["src/empty"]}),
        ("ctx-empty-dir-unselected", {"mkdir": ["empty"]}),
        ("ctx-symlink-added", {"files": {"src/l": "@link:x.txt"}}),
        ("ctx-symlink-dangling", {"files": {"src/l": "@link:missing.txt"}}),
        ("ctx-ignore-selected", {"files": {".dockerignore": "src/y.txt\n"}}),
        ("ctx-ignore-unselected", {"files": {".dockerignore": "notes.md\n"}}),
        ("ctx-ignore-doublestar", {"files": {".dockerignore": "**/y.txt\n"}}),
        ("ctx-ignore-exception", {"files": {".dockerignore": "src/*\n!src/x.txt\n"}}),
        ("ctx-per-dockerfile-ignore", {"files": {"Dockerfile.dockerignore": "src/y.txt\n"}}),
        ("ctx-dockerfile-only-comment", {"dockerfile": text([*L, "# trailing comment"])}),
        ("base-changed", {"base_changed": True}),
    ]
    for name, change in ctx:
        yield scenario(s, name) | {"change": change}
    linked = {**s.files, "src/l": "@link:x.txt"}
    yield scenario(s, "ctx-symlink-retarget", files=linked) | {"change": {"files": {"src/l": "@link:y.txt"}}}
    yield scenario(s, "ctx-symlink-target-edited", files=linked) | {"change": {"files": {"src/x.txt": "x2\n"}}}
    # platform
    yield scenario(s, "platform-added", replace(L, f"FROM {BASE}", f"FROM --platform=linux/amd64 {BASE}"))
    yield scenario(s, "platform-buildplatform", replace(L, f"FROM {BASE}", f"FROM --platform=$BUILDPLATFORM {BASE}"))
    # RUN --mount
    m_run = "RUN cat /app/a.txt > /tmp/out"
    mounts = {
        "bind": "RUN --mount=type=bind,source=src,target=/m ls /m > /ml",
        "cache": "RUN --mount=type=cache,target=/c true",
        "secret": "RUN --mount=type=secret,id=s true",
        "tmpfs": "RUN --mount=type=tmpfs,target=/t true",
        "ssh": "RUN --mount=type=ssh true",
    }
    for mname, mline in mounts.items():
        yield scenario(s, f"mount-{mname}-added", replace(L, m_run, [m_run, mline]))
    mb = replace(L, m_run, [m_run, mounts["bind"]])
    yield scenario(s, "mount-bind-source-edit", before=mb) | {"change": {"files": {"src/x.txt": "x2\n"}}}
    yield scenario(s, "mount-bind-other-edit", before=mb) | {"change": {"files": {"notes.md": "n2\n"}}}
    yield scenario(s, "mount-bind-ignored-edit", before=mb, files={**s.files, ".dockerignore": "src/y.txt\n"}) | {
        "change": {"files": {"src/y.txt": "y2\n"}}
    }
    yield scenario(
        s,
        "mount-bind-target",
        replace(mb, mounts["bind"], "RUN --mount=type=bind,source=src,target=/m2 ls /m2 > /ml"),
        before=mb,
    )
    yield scenario(
        s,
        "mount-bind-rw",
        replace(mb, mounts["bind"], "RUN --mount=type=bind,source=src,target=/m,rw ls /m > /ml"),
        before=mb,
    )
    mc = replace(L, m_run, [m_run, mounts["cache"]])
    for name, new in (
        ("id-added", "id=c1,target=/c"),
        ("sharing", "target=/c,sharing=locked"),
        ("target", "target=/c2"),
        ("mode", "target=/c,mode=0700"),
    ):
        yield scenario(
            s, f"mount-cache-{name}", replace(mc, mounts["cache"], f"RUN --mount=type=cache,{new} true"), before=mc
        )
    mcid = replace(L, m_run, [m_run, "RUN --mount=type=cache,id=c1,target=/c true"])
    yield scenario(
        s,
        "mount-cache-id-renamed",
        replace(mcid, "RUN --mount=type=cache,id=c1,target=/c true", "RUN --mount=type=cache,id=c2,target=/c true"),
        before=mcid,
    )
    ms = replace(L, m_run, [m_run, mounts["secret"]])
    yield scenario(s, "mount-secret-id", replace(ms, mounts["secret"], "RUN --mount=type=secret,id=s2 true"), before=ms)
    yield scenario(
        s,
        "mount-secret-target",
        replace(ms, mounts["secret"], "RUN --mount=type=secret,id=s,target=/run/s true"),
        before=ms,
    )
    mt = replace(L, m_run, [m_run, mounts["tmpfs"]])
    yield scenario(
        s, "mount-tmpfs-size", replace(mt, mounts["tmpfs"], "RUN --mount=type=tmpfs,target=/t,size=1m true"), before=mt
    )
    msh = replace(L, m_run, [m_run, mounts["ssh"]])
    yield scenario(s, "mount-ssh-id", replace(msh, mounts["ssh"], "RUN --mount=type=ssh,id=k true"), before=msh)
    yield scenario(s, "run-network-none", replace(L, m_run, "RUN --network=none cat /app/a.txt > /tmp/out"))
    # ADD of a local file and archives
    add = replace(L, cp, "ADD a.txt /app/a.txt")
    yield scenario(s, "add-from-copy", add)
    arch = {**s.files, "v.tar": b64(tar_bytes({"m/one.txt": "one\n", "m/two.txt": "two\n"}))}
    addt = replace(L, cp, [cp, "ADD v.tar /app/v/"])
    for name, data in (
        ("member-changed", tar_bytes({"m/one.txt": "ONE\n", "m/two.txt": "two\n"})),
        ("repacked-mtime", tar_bytes({"m/one.txt": "one\n", "m/two.txt": "two\n"}, mtime=1_700_000_000)),
        ("compressed", tar_bytes({"m/one.txt": "one\n", "m/two.txt": "two\n"}, gz=True)),
    ):
        yield scenario(s, f"add-archive-{name}", before=addt, files=arch) | {"change": {"files": {"v.tar": b64(data)}}}
    yield scenario(s, "add-archive-unchanged-other-edit", before=addt, files=arch) | {
        "change": {"files": {"notes.md": "n2\n"}}
    }
    yield scenario(
        s, "add-archive-copy-instead", replace(addt, "ADD v.tar /app/v/", "COPY v.tar /app/v/"), before=addt, files=arch
    )


def multi_ops(seed: Seed) -> Iterator[Scn]:
    L = list(seed.lines)
    s = seed
    ft, ff = f"FROM {BASE} AS tools", f"FROM {BASE} AS final"
    tools = [ft, "RUN echo tools > /tools"]
    no_tools = [x for x in L if x not in tools]
    yield scenario(s, "stage-added-unused", replace(L, ff, [f"FROM {BASE} AS extra", "RUN echo extra > /e", ff]))
    yield scenario(s, "stage-removed-unused", no_tools)
    yield scenario(
        s, "stage-renamed", [x.replace("AS build", "AS builder").replace("--from=build", "--from=builder") for x in L]
    )
    yield scenario(s, "stage-reordered", tools + [x for x in L if x not in tools])
    yield scenario(s, "stage-unused-edited", replace(L, "RUN echo tools > /tools", "RUN echo tools2 > /tools"))
    yield scenario(s, "stage-final-from-build", replace(L, ff, "FROM build AS final"))
    from_build = replace(L, ff, "FROM build AS final")
    yield scenario(s, "stage-from-stage-parent-edit", before=from_build) | {"change": {"files": {"src/x.txt": "x2\n"}}}
    yield scenario(s, "copy-from-index", replace(L, "COPY --from=build /out/app /app", "COPY --from=0 /out/app /app"))
    yield scenario(
        s,
        "copy-from-image",
        replace(
            L,
            "COPY --from=build /out/app /app",
            ["COPY --from=build /out/app /app", f"COPY --from={BASE} /etc/passwd /p"],
        ),
    )
    yield scenario(
        s, "copy-from-other-path", replace(L, "COPY --from=build /out/app /app", "COPY --from=build /out/ /appdir/")
    )
    for target in ("build", "tools", "final"):
        for what, change in (
            ("src-edit", {"files": {"src/x.txt": "x2\n"}}),
            ("tools-edit", {"dockerfile": text(replace(L, "RUN echo tools > /tools", "RUN echo tools2 > /tools"))}),
            ("final-edit", {"files": {"a.txt": "a2\n"}}),
        ):
            yield scenario(s, f"target-{target}-{what}") | {"change": {**change, "target": target}}
    yield scenario(s, "target-changed-build-to-final") | {
        "change": {"target": "final"},
        "options": {"target_before": "build"},
    }
    # a re-run that writes the same bytes: the COPY --from outcome depends on the run's output
    yield scenario(s, "copy-from-rerun-same-bytes") | {"change": {"files": {"src/y.txt": "y2\n"}}}
    yield scenario(
        s,
        "copy-from-rerun-edit-run",
        replace(
            L,
            "RUN mkdir -p /out && cat /src/x.txt > /out/app",
            "RUN mkdir -p /out && cat /src/x.txt > /out/app && true",
        ),
    )
    yield scenario(s, "copy-from-rerun-new-bytes") | {"change": {"files": {"src/x.txt": "x2\n"}}}
    yield scenario(s, "escape-directive-added", ["# escape=`", *L])
    yield scenario(s, "base-changed") | {"change": {"base_changed": True}}
    yield scenario(s, "ctx-edit-final-only") | {"change": {"files": {"a.txt": "a2\n"}}}


def args_ops(seed: Seed) -> Iterator[Scn]:
    L = list(seed.lines)
    s = seed
    for name, before, after in (
        ("global-cli", {}, {"G": "g2"}),
        ("global-cli-changed", {"G": "g2"}, {"G": "g3"}),
        ("stage-cli", {}, {"S": "s2"}),
        ("stage-cli-changed", {"S": "s2"}, {"S": "s3"}),
        ("base-arg-same", {}, {"BASE": BASE}),
        ("undeclared", {}, {"U": "u"}),
    ):
        yield scenario(s, f"arg-{name}") | {"change": {"args_before": before, "args": after}}
    yield scenario(s, "arg-global-default-edited", replace(L, "ARG G=g1", "ARG G=g2"))
    yield scenario(s, "arg-stage-default-edited", replace(L, "ARG S=s1", "ARG S=s2"))
    nore = replace(L, "ARG G", [])
    yield scenario(s, "arg-global-not-redeclared", replace(nore, "ARG G=g1", "ARG G=g2"), before=nore)
    yield scenario(s, "arg-redeclare-added", L, before=nore)
    only_label = replace(L, "RUN echo $G $S > /gs", "RUN echo gs > /gs")
    yield scenario(s, "arg-only-label-env", only_label, before=only_label, args_before={}, args={"G": "g2"})
    yield scenario(s, "arg-only-env", only_label, before=only_label, args_before={}, args={"S": "s2"})
    yield scenario(s, "arg-child-stage", args_before={}, args={"S": "s9"}, options={"target": "two"})
    yield scenario(s, "target-one-child-edit", replace(L, "RUN echo two > /two", "RUN echo two2 > /two")) | {
        "options": {"target": "one"}
    }
    yield scenario(s, "base-changed") | {"change": {"base_changed": True}}


def ctx_ops(seed: Seed) -> Iterator[Scn]:
    s = seed
    L = list(seed.lines)
    for name, change in (
        ("edit-selected", {"files": {"a.txt": "a2\n"}}),
        ("edit-ignored", {"files": {"b.log": "b2\n"}}),
        ("edit-exception", {"files": {"keep.log": "keep2\n"}}),
        ("edit-doublestar-ignored", {"files": {"sub/tmp/t.txt": "t2\n"}}),
        ("add-wildcard-match", {"files": {"sub/q.txt": "q\n"}}),
        ("add-wildcard-nonmatch", {"files": {"sub/q.md": "q\n"}}),
        ("add-ignored", {"files": {"new.log": "n\n"}}),
        ("ignore-added-pattern", {"files": {".dockerignore": "*.log\n**/tmp\n!keep.log\n*.md\n"}}),
        ("ignore-unmatched-pattern", {"files": {".dockerignore": "*.log\n**/tmp\n!keep.log\n*.none\n"}}),
        ("ignore-exception-removed", {"files": {".dockerignore": "*.log\n**/tmp\n"}}),
        ("ignore-dockerfile", {"files": {".dockerignore": "*.log\n**/tmp\n!keep.log\nDockerfile\n"}}),
        ("ignore-itself", {"files": {".dockerignore": "*.log\n**/tmp\n!keep.log\n.dockerignore\n"}}),
        ("per-dockerfile-ignore", {"files": {"Dockerfile.dockerignore": "*.log\n**/tmp\n!keep.log\n"}}),
        ("dockerfile-comment", {"dockerfile": text([*L, "# c"])}),
        ("empty-dir", {"mkdir": ["sub/e"]}),
        ("empty-dir-ignored", {"mkdir": ["sub/tmp/e"]}),
        ("symlink", {"files": {"sub/l.txt": "@link:y.txt"}}),
        ("mode", {"chmod": {"sub/y.txt": "755"}}),
        ("owner", {"chown": {"sub/y.txt": "1000"}}),
        ("delete", {"remove": ["a.txt"]}),
        ("mtime-only", {}),
    ):
        yield scenario(s, f"ctx-{name}") | {"change": change}
    ig = {**s.files, ".dockerignore": "*.log\n**/tmp\n!keep.log\nDockerfile\n.dockerignore\n"}
    yield scenario(s, "ctx-ignored-dockerfile-edit", [*L[:-1], "RUN cat /w/*.txt > /all && true"], files=ig)


def meta_ops(seed: Seed) -> Iterator[Scn]:
    s = seed
    L = list(seed.lines)
    yield scenario(s, "ctx-edit") | {"change": {"files": {"a.txt": "a2\n"}}}
    yield scenario(s, "label-multi", replace(L, "LABEL a=1", "LABEL a=1 b=2"))
    yield scenario(s, "label-quoted", replace(L, "LABEL a=1", 'LABEL a="1"'))
    yield scenario(s, "expose-proto", replace(L, "EXPOSE 80", "EXPOSE 80/tcp"))
    yield scenario(s, "user-numeric", replace(L, "USER root", "USER 0:0"))
    yield scenario(s, "onbuild-added", replace(L, "LABEL a=1", ["LABEL a=1", "ONBUILD RUN echo ob"]))
    yield scenario(s, "healthcheck-none", replace(L, "HEALTHCHECK CMD true", "HEALTHCHECK NONE"))
    yield scenario(s, "base-changed") | {"change": {"base_changed": True}}


SPECIFIC = {"app": app_ops, "multi": multi_ops, "args": args_ops, "ctx": ctx_ops, "meta": meta_ops}
INSERT_AT = {"app": (2, 6), "multi": (8,), "args": (5,), "ctx": (2,), "meta": (5,)}


# generated, but left out: their outcome is a build failure decided by what a RUN does, not by the cache
EXCLUDED = {
    "multi-remove.run4": "COPY --from then reads /out/app, which only the removed RUN wrote",
    **dict.fromkeys(
        (
            "app-remove.copy5",
            "app-move.run6",
            "app-remove.copy7",
            "app-move.run8",
            "app-arg-in-copy-dest",
            "multi-remove.copy3",
            "multi-move.run4",
            "multi-remove.copy8",
            "multi-remove.copy9",
            "multi-move.run10",
            "multi-copy-from-other-path",
            "ctx-remove.copy4",
            "ctx-move.run5",
            "meta-remove.copy5",
            "meta-move.run6",
        ),
        "a RUN then reads a file the change removed or moved away: the command fails",
    ),
}


def all_scenarios() -> list[Scn]:
    out: list[Scn] = []
    for seed in SEEDS:
        out += per_instruction(seed)
        for at in INSERT_AT[seed.name]:
            out += inserts(seed, at)
        out += SPECIFIC[seed.name](seed)
    out = [s for s in out if s["id"] not in EXCLUDED]
    ids = [s["id"] for s in out]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup
    return out
