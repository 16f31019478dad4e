"""`python -m agent_service`: POST /ask {"question": ...}, GET /healthz."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent_service import __version__, agent
from agent_service.config import Settings
from agent_service.llm import LLMClient

SETTINGS = Settings.from_env()
CLIENT = LLMClient(SETTINGS)


class Handler(BaseHTTPRequestHandler):
    server_version = f"agent-service/{__version__}"

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"status": "ok", "version": __version__})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/ask":
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            question = json.loads(self.rfile.read(length))["question"]
        except (ValueError, KeyError):
            self._send(400, {"error": 'expected {"question": ...}'})
            return
        self._send(200, agent.run(CLIENT, question, SETTINGS.max_steps))


def main() -> None:
    ThreadingHTTPServer(("0.0.0.0", SETTINGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
