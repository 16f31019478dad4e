"""An image that ships what it must not: a `.git/` directory, a `.env` with a token, and a
private key that a later layer deletes (still in the blob). As a crafted archive (no engine)
and as a build context for the engines' BuildKit.

Secrets are made at run time (a fresh key, tokens assembled from parts): no secret-shaped
literal sits in the repository for a scanner to trip on.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.factory import ImageSpec, d, f, layer_tar, wh


def private_key() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def github_token() -> str:
    return "gh" + "p_" + "Zq3" * 12  # 36 characters after the prefix


def aws_key_id() -> str:
    return "AK" + "IA" + "Q7ZW3X4Y5V6U2T8S"


ENV_FILE = "DB_HOST=db\nGITHUB_TOKEN={token}\n"
GIT_FILES = {".git/HEAD": b"ref: refs/heads/main\n", ".git/config": b"[core]\n\tbare = false\n"}

DOCKERFILE = """\
FROM {base}
COPY . /app/
RUN rm /app/id_rsa
ENV API_TOKEN=literal-value-123
CMD ["/bin/sh"]
"""


def write_context(ctx: Path, base: str) -> dict[str, bytes]:
    """The build context; returns the secret bytes that must never appear in any output."""
    ctx.mkdir(parents=True, exist_ok=True)
    key, token = private_key(), github_token()
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    (ctx / "main.py").write_text("print('hello')\n")
    (ctx / ".env").write_text(ENV_FILE.format(token=token))
    (ctx / "id_rsa").write_bytes(key)
    for name, data in GIT_FILES.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_bytes(data)
    return {"key": key, "token": token.encode()}


def crafted(path: Path) -> dict[str, bytes]:
    """The same image as a docker-archive, layers written by tarfile; also a secret in ENV and
    in a build arg recorded in history. Returns the secrets."""
    key, token, aws = private_key(), github_token(), aws_key_id()
    base = layer_tar([d("bin"), f("bin/sh", b"\x7fELF" + bytes(200), mode=0o755)])
    app = layer_tar(
        [
            d("app"),
            d("app/.git"),
            *(f(f"app/{n}", v) for n, v in GIT_FILES.items()),
            f("app/.env", ENV_FILE.format(token=token)),
            f("app/id_rsa", key, mode=0o600),
            f("app/main.py", "print('hello')\n"),
        ]
    )
    rm = layer_tar([wh("app/id_rsa")])
    history = [
        {"created_by": "ADD rootfs.tar / # buildkit"},
        {"created_by": "COPY . /app/ # buildkit"},
        {"created_by": "ARG NPM_TOKEN=npm-literal-value", "empty_layer": True},
        {"created_by": "RUN |1 NPM_TOKEN=npm-literal-value /bin/sh -c rm /app/id_rsa # buildkit"},
        {"created_by": "ENV API_TOKEN=literal-value-123", "empty_layer": True},
    ]
    env = ["PATH=/bin", "API_TOKEN=literal-value-123", f"UPLOAD_ID={aws}", "PASSWORD_FILE=/run/secrets/pw"]
    spec = ImageSpec([base, app, rm], history=history)
    spec.config_extra = {"config": {"Cmd": ["/bin/sh"], "Env": env}}
    spec.docker_archive(str(path))
    return {"key": key, "token": token.encode(), "aws": aws.encode()}


CONFIG = """\
[images.app]
forbid-paths = ["**/.git/", "**/.env", "**/id_rsa", "**/*.pem"]
forbid-secrets = true
"""
