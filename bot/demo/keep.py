"""`demo --keep`: the insights dashboard over the sandbox, served in a thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def serve_dashboard(world: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `bot.insights.dashboard` for the demo repository (read over the sandbox API,
    as `reader-erin`) with Werkzeug in a thread; yields its URL ("" when this build has no
    dashboard) and stops it at exit."""
    try:
        from bot.insights.dashboard import api_source, dashboard_blueprint
    except ImportError:
        yield ""
        return
    import threading

    from flask import Flask
    from werkzeug.serving import make_server

    source = api_source(
        world.repo,
        lambda: world.sandbox.token("reader-erin"),
        api_url=world.sandbox.base_url,
        clock=world.clock,
    )
    app = Flask("release-train-demo")
    app.register_blueprint(dashboard_blueprint(source))
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)
