"""A real Prometheus for tests: start it on a free 127.0.0.1 port, push samples, stop it.

Reusable by any suite::

    with PrometheusServer.start(tmp_path) as prom:
        prom.push([({"__name__": "up", "job": "x"}, [(t0, 1.0), (t0 + 15, 1.0)])])
        ... query prom.url ...

The binary comes from ``$PROMETHEUS_BIN`` or ``.cache/prometheus/usr/bin/prometheus``
(unpacked from Debian's package by ``.ci/install-system-deps.sh``). Samples go in through
the remote-write receiver: a WriteRequest protobuf, snappy-compressed, both encoded here
by hand (protobuf's wire format for four message types, snappy's literal-only block
format), so no extra dependency is needed. The TSDB accepts out-of-order samples up to a
day old, but send each series' oldest samples first.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.demo.preflight import openmetrics

REPO = Path(__file__).resolve().parent.parent
CONFIG = """\
global:
  scrape_interval: 1h
storage:
  tsdb:
    out_of_order_time_window: 1d
"""

# (labels including __name__, [(unix seconds, value), ...])
SeriesData = tuple[Mapping[str, str], Sequence[tuple[float, float]]]


def prometheus_bin() -> Path | None:
    return _binary("PROMETHEUS_BIN", "prometheus")


def promtool_bin() -> Path | None:
    return _binary("PROMTOOL_BIN", "promtool")


def _binary(env: str, name: str) -> Path | None:
    explicit = os.environ.get(env)
    candidates = [Path(explicit)] if explicit else []
    candidates.append(REPO / ".cache" / "prometheus" / "usr" / "bin" / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- protobuf wire format (prometheus.WriteRequest) -------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _sample(value: float, timestamp_ms: int) -> bytes:
    # Sample { double value = 1; int64 timestamp = 2; }
    return _varint(1 << 3 | 1) + struct.pack("<d", value) + _varint(2 << 3) + _varint(timestamp_ms)


def encode_write_request(series: Iterable[SeriesData]) -> bytes:
    """WriteRequest { repeated TimeSeries timeseries = 1; } with labels sorted by name."""
    out = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for name, value in sorted(labels.items()):
            ts += _field(1, _field(1, name.encode()) + _field(2, value.encode()))
        for t, v in samples:
            ts += _field(2, _sample(float(v), round(t * 1000)))
        out += _field(1, bytes(ts))
    return bytes(out)


def snappy_block(data: bytes) -> bytes:
    """Snappy block format using only literal elements (valid, just not compressed)."""
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i : i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


# --- OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` -------------------


def backfill(data_dir: Path, series: Iterable[SeriesData]) -> None:
    """Write `series` as TSDB blocks into `data_dir` with promtool (before the server starts)."""
    tool = promtool_bin()
    if tool is None:
        raise FileNotFoundError("no promtool binary: set PROMTOOL_BIN")
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / "backfill.om"
    source.write_text(openmetrics(series))
    subprocess.run(
        [str(tool), "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        check=True,
        capture_output=True,
    )


# --- the server ---------------------------------------------------------------------------


@dataclass
class PrometheusServer:
    """A running Prometheus; stop it with `stop()` (the `start` context manager does)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    @contextmanager
    def start(
        cls,
        workdir: Path,
        *,
        ready_timeout: float = 30.0,
        history: Iterable[SeriesData] = (),
        rules: str = "",
        scrape: str = "",
    ) -> Iterator[PrometheusServer]:
        """Start on a free port; `history` is backfilled into blocks with promtool first
        (for data older than the out-of-order window, e.g. weeks of error-budget history);
        `rules` is a rule file's YAML (recording rules) to load; `scrape` is the YAML of
        the config's `scrape_configs:` section (its list, indented), for targets to scrape."""
        binary = prometheus_bin()
        if binary is None:
            raise FileNotFoundError(
                "no prometheus binary: run `bash .ci/install-system-deps.sh` or set PROMETHEUS_BIN"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        config = CONFIG
        if rules:
            (workdir / "rules.yml").write_text(rules)
            config += f"rule_files: [{workdir / 'rules.yml'}]\n"
        if scrape:
            config += "scrape_configs:\n" + scrape
        (workdir / "prometheus.yml").write_text(config)
        history = list(history)
        if history:
            backfill(workdir / "data", history)
        port = free_port()
        log = workdir / "prometheus.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--web.enable-remote-write-receiver",
                    "--log.level=warn",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = cls(f"http://127.0.0.1:{port}", process, log)
        try:
            server.wait_ready(ready_timeout)
            yield server
        finally:
            server.stop()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"prometheus not ready after {timeout}s: {self.log.read_text()[-2000:]}")

    def push(self, series: Iterable[SeriesData], *, batch: int = 50) -> None:
        """Remote-write `series` (each series' samples oldest first), `batch` series a request."""
        pending = list(series)
        for i in range(0, len(pending), batch):
            body = snappy_block(encode_write_request(pending[i : i + batch]))
            request = urllib.request.Request(
                self.url + "/api/v1/write",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/x-protobuf",
                    "Content-Encoding": "snappy",
                    "X-Prometheus-Remote-Write-Version": "0.1.0",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")
                raise RuntimeError(f"remote write failed: HTTP {exc.code}: {detail}") from None

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
