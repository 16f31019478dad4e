"""Seed scenarios of the differential corpus: small busybox-based Dockerfiles and contexts.

Each seed is a Dockerfile (a list of lines) and a context (path -> text). The mutation operators
(`operators.py`) change one thing in a seed at a time; the corpus is every applicable (seed, operator).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASE = "sample/busybox:base"


@dataclass(frozen=True)
class Seed:
    name: str
    lines: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)


SEEDS = (
    Seed(
        "app",
        (
            f"FROM {BASE}",
            "WORKDIR /app",
            "ARG V=1",
            "ENV E=1",
            "COPY a.txt /app/a.txt",
            "RUN cat /app/a.txt > /tmp/out",
            "COPY src/ /app/src/",
            "RUN echo a && \\",
            "    ls /app/src > /tmp/list",
            'CMD ["/bin/sh"]',
        ),
        {"a.txt": "a\n", "src/x.txt": "x\n", "src/y.txt": "y\n", "notes.md": "notes\n"},
    ),
    Seed(
        "multi",
        (
            f"FROM {BASE} AS build",
            "WORKDIR /src",
            "COPY src/ /src/",
            "RUN mkdir -p /out && cat /src/x.txt > /out/app",
            f"FROM {BASE} AS tools",
            "RUN echo tools > /tools",
            f"FROM {BASE} AS final",
            "COPY --from=build /out/app /app",
            "COPY a.txt /a.txt",
            "RUN cat /app /a.txt > /seen",
        ),
        {"a.txt": "a\n", "src/x.txt": "x\n", "src/y.txt": "y\n"},
    ),
    Seed(
        "args",
        (
            f"ARG BASE={BASE}",
            "ARG G=g1",
            "FROM ${BASE} AS one",
            "ARG G",
            "ARG S=s1",
            "RUN echo $G $S > /gs",
            "LABEL g=$G",
            "ENV P=$S",
            "RUN echo one > /one",
            "FROM one AS two",
            "RUN echo two > /two",
        ),
        {"a.txt": "a\n"},
    ),
    Seed(
        "ctx",
        (
            f"FROM {BASE}",
            "COPY . /ctx/",
            "RUN find /ctx | sort > /list",
            "COPY sub/*.txt /w/",
            "RUN cat /w/*.txt > /all",
        ),
        {
            ".dockerignore": "*.log\n**/tmp\n!keep.log\n",
            "a.txt": "a\n",
            "b.log": "b\n",
            "keep.log": "keep\n",
            "sub/y.txt": "y\n",
            "sub/z.md": "z\n",
            "sub/tmp/t.txt": "t\n",
        },
    ),
    Seed(
        "meta",
        (
            f"FROM {BASE}",
            "LABEL a=1",
            "EXPOSE 80",
            "USER root",
            "COPY a.txt /a.txt",
            "RUN cat /a.txt > /b",
            "HEALTHCHECK CMD true",
            'ENTRYPOINT ["/bin/sh"]',
        ),
        {"a.txt": "a\n"},
    ),
)
