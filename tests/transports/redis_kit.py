"""A real Redis for the transport tests: Debian's redis-server, unpacked by
.ci/install-system-deps.sh into .cache/redis (or $REDIS_SERVER_BIN), on 127.0.0.1 with
no persistence, startable and stoppable (a "Redis restart" loses everything)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNPACKED = ROOT / ".cache" / "redis" / "usr"
MISSING = "no redis-server: run `bash .ci/install-system-deps.sh` or set REDIS_SERVER_BIN"


def redis_binary() -> str | None:
    given = os.environ.get("REDIS_SERVER_BIN")
    if given:
        return given
    unpacked = UNPACKED / "bin" / "redis-server"
    return str(unpacked) if unpacked.exists() else shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process on a fixed loopback port; `restart()` empties it."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data = tempfile.TemporaryDirectory()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        env = {**os.environ, "LD_LIBRARY_PATH": str(UNPACKED / "lib" / "x86_64-linux-gnu")}
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", self._data.name]
        self._proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                assert self._proc.poll() is None and time.monotonic() < deadline, "no redis"
                time.sleep(0.05)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()  # no shutdown save: a crash, everything in memory is gone
            self._proc.wait(10)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._data.cleanup()
