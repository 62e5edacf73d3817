"""A tiny real HTTP server that answers from a script and records what it was asked.

For testing the Prometheus adapter's retries, methods and headers over real sockets
(the happy paths are tested against a real Prometheus).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Script:
    replies: list[Reply]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""


def success(data: Any, warnings: list[str] | None = None) -> Reply:
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return Reply(200, body)


@contextmanager
def scripted(*replies: Reply) -> Iterator[Script]:
    """Serve `replies` in order (the last one repeats) on a free 127.0.0.1 port."""
    script = Script(list(replies))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            split = urlsplit(self.path)
            params = parse_qs(split.query)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                params |= parse_qs(self.rfile.read(length).decode())
            script.seen.append(Seen(self.command, split.path, params, dict(self.headers)))
            reply = script.replies[min(len(script.seen), len(script.replies)) - 1]
            time.sleep(reply.delay)
            raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = _answer
        do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
