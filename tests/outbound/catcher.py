"""Catcher servers: real HTTP servers on 127.0.0.1 that record every connection and
request, answering like Prometheus (or with a redirect)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VECTOR = {"resultType": "vector", "result": [{"metric": {}, "value": [1.5, "0.25"]}]}
OK_BODY = json.dumps({"status": "success", "data": VECTOR}).encode()


@dataclass
class Catcher:
    """A real HTTP server on 127.0.0.1 that records what reaches it."""

    url: str = ""
    port: int = 0
    connections: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    redirect_to: str = ""  # answer every request with a 302 there
    body: bytes = OK_BODY  # what a 200 answers
    gzip: bool = False  # send the body gzip-encoded

    def raw(self) -> str:
        """Everything received (request lines, headers and bodies), for secret scanning."""
        return "\n".join(r["raw"] for r in self.requests)


def _serve(catcher: Catcher) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            head = f"{self.requestline}\n{self.headers}"
            catcher.requests.append(
                {"path": self.path, "headers": dict(self.headers), "raw": head + body}
            )
            if catcher.redirect_to:
                self.send_response(302)
                self.send_header("Location", catcher.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = gzip.compress(catcher.body) if catcher.gzip else catcher.body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if catcher.gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            catcher.connections += 1
            return True

    server = Server(("127.0.0.1", 0), Handler)
    catcher.port = server.server_address[1]
    catcher.url = f"http://127.0.0.1:{catcher.port}"
    return server


@contextmanager
def running(count: int) -> Iterator[list[Catcher]]:
    """`count` catcher servers, each on its own free loopback port."""
    made = [Catcher() for _ in range(count)]
    servers = [_serve(c) for c in made]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield made
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
