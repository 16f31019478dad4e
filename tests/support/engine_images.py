"""A small image built with the real builder of each engine: files added, overwritten and
deleted, a directory replaced, an empty-layer ENV. Expected figures are from the Dockerfile."""

from __future__ import annotations

from pathlib import Path

from tests.engines import BASE_IMAGE

DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY data/ /data/
ENV APP_MODE=test
RUN rm /data/junk && echo version-two > /data/conf
RUN mkdir /cfg && echo a > /cfg/a && echo bb > /cfg/b
RUN rm -rf /cfg && mkdir /cfg && echo ccc > /cfg/c
CMD ["/bin/sh"]
"""
FILES = {"data/keep": b"keep\n", "data/junk": b"j" * 3000, "data/conf": b"v1\n"}
LAYERS = 5  # the imported base + COPY + three RUNs
EMPTY_LAYER = [False, False, True, False, False, False, True]  # import, COPY, ENV, RUN x3, CMD
# Hidden in the final filesystem: junk deleted, conf overwritten (3 B), /cfg/a and /cfg/b gone with /cfg.
WASTED = 3000 + 3 + 2 + 3


def write_context(ctx: Path) -> Path:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    for name, data in FILES.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_bytes(data)
    return ctx
