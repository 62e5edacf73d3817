"""`/metrics` on a listener of its own (`METRICS_ADDR`), apart from the public one.

GitHub must reach `/webhook`; only the operator's Prometheus needs `/metrics`. With
`METRICS_ADDR` set (loopback by default, or a pod or private address the operator picks),
each server process runs this small threaded HTTP server beside the event loop: `GET
/metrics` answers there (with `METRICS_TOKEN` set, only with that bearer token), every
other path is 404, and the public listener stops serving `/metrics`. Several processes
share the address with SO_REUSEPORT; as on the public listener, a scrape sees the counters
of the process that answered it. Connections idle for `TIMEOUT` seconds are closed.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.transports.access import bearer

TIMEOUT = 10.0
LOG = logging.getLogger("release_train.app")
Render = Callable[[], tuple[bytes, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        if hasattr(socket, "SO_REUSEPORT"):  # one address for every server process
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def _handler(render: Render, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = TIMEOUT
        server_version = "release-train"
        sys_version = ""

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                return self._send(404, b"not found\n", "text/plain; charset=utf-8")
            if token:
                given = bearer(dict(self.headers.items())) or ""
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return self._send(401, b"/metrics needs a bearer token\n", "text/plain")
            data, content_type = render()
            self._send(200, data, content_type)

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if code == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="metrics"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # no access log
            pass

    return Handler


class MetricsListener:
    """The `/metrics` listener of one process: `start` binds and serves in a daemon thread."""

    def __init__(self, address: tuple[str, int], render: Render, token: str = "") -> None:
        self.address = address
        self._render = render
        self._token = token
        self._server: _Server | None = None

    def start(self) -> None:
        host, port = self.address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("MetricsServer", (_Server,), {"address_family": family})
        self._server = server_class((host, port), _handler(self._render, self._token))
        threading.Thread(
            target=self._server.serve_forever, name="metrics-listener", daemon=True
        ).start()
        LOG.info("metrics on %s:%d", host, port, extra={"host": host, "port": port})

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
