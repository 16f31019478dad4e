"""A tiny HTTP server for answers a real registry never gives (a token service answering
junk, a manifest larger than any registry stores): `answer(method, path, headers)` says
what to send. Real registries (tests/support/registry.py) are used for everything else."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Answer = Callable[[str, str, dict[str, str]], Reply]


class HostileServer:
    def __init__(self, answer: Answer, bind: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> None:
        """`bind` "0.0.0.0" to be reached off loopback; `tls`: (certificate, key) to speak HTTPS."""
        self.answer = answer
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer((bind, 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                headers = dict(self.headers.items())
                server.requests.append(Seen(self.command, self.path, headers))
                reply = server.answer(self.command, self.path, headers)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = _serve
            do_HEAD = _serve
            do_POST = _serve

        return Handler

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
