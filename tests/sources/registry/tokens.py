"""A small token issuer that a real docker-registry trusts (distribution's `auth: token:`).

distribution 2.8.2 accepts a JWT whose header carries the signing certificate in `x5c`
when that certificate verifies against `rootcertbundle`; a self-signed certificate that is
itself in the bundle does. Claims checked: `iss` (== issuer), `aud` (== service, a
string), `exp`/`nbf` (60 s leeway) and `access` (what was granted).
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ISSUER = "layerscope-test-issuer"
SERVICE = "layerscope-test-registry"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """Issues tokens: to known users for anything, anonymously for pulls of public repositories."""

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str],
        refresh_tokens: dict[str, str] | None = None,
        anonymous_prefix: str | None = None,
    ) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens or {}
        self.anonymous_prefix = anonymous_prefix  # repositories anyone may pull
        self.issued: list[str] = []
        self.expires_in = 300  # what the answers say (the JWTs themselves stay valid longer)
        self.lifetime = 300  # what the JWTs say (below -60, expired even for distribution's leeway)
        self.requests: list[dict[str, Any]] = []
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(self._key, hashes.SHA256())
        )
        self.bundle = workdir / "token-root.pem"
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def registry_auth_config(self) -> dict[str, Any]:
        return {
            "token": {"realm": self.realm, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": str(self.bundle)}
        }

    def sign(self, subject: str, access: list[dict[str, Any]], lifetime: int = 300) -> str:
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + lifetime,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        token = signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        self.issued.append(token)
        return token

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            public = self.anonymous_prefix is not None and name.startswith(self.anonymous_prefix)
            allowed = wanted if user else [a for a in wanted if a == "pull" and public]
            if allowed:
                access.append({"type": kind, "name": name, "actions": allowed})
        return access

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _user(self) -> tuple[bool, str | None]:
                auth = self.headers.get("Authorization")
                if not auth:
                    return True, None
                scheme, _, value = auth.partition(" ")
                if scheme.lower() != "basic":
                    return False, None
                user, _, password = base64.b64decode(value).decode().partition(":")
                return issuer.users.get(user) == password, user

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                ok, user = self._user()
                issuer.requests.append({"method": "GET", "query": query, "user": user, "ok": ok})
                if not ok:
                    self._answer(401, {"details": "bad credentials"})
                    return
                token = issuer.sign(user or "", issuer.grant(user, query.get("scope", [])), issuer.lifetime)
                self._answer(200, {"token": token, "access_token": token, "expires_in": issuer.expires_in})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                grant = form.get("grant_type", [""])[0]
                user = None
                if grant == "refresh_token":
                    user = issuer.refresh_tokens.get(form.get("refresh_token", [""])[0])
                elif grant == "password":
                    name, password = form.get("username", [""])[0], form.get("password", [""])[0]
                    user = name if issuer.users.get(name) == password else None
                issuer.requests.append({"method": "POST", "grant": grant, "user": user, "form_keys": sorted(form)})
                if user is None:
                    self._answer(401, {"error": "invalid_grant"})
                    return
                scopes = " ".join(form.get("scope", [])).split()
                token = issuer.sign(user, issuer.grant(user, scopes))
                self._answer(200, {"access_token": token, "expires_in": issuer.expires_in, "scope": " ".join(scopes)})

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
