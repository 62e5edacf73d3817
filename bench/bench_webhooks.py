"""Webhook acknowledgement under load: `release-train serve` (default settings, 1 and 2
processes) against a minimal Probot app (1 process, and `node:cluster` x2) verifying the same
signed payloads, at 1, 16 and 64 concurrent clients, on the same machine, in the same run;
and the Action's cold start (install excluded) to its first API request.

Usage: .venv/bin/python bench/bench_webhooks.py [--quick] [--seconds N] [--clients 1,16,64]
       [--processes 1,2] [--no-cold-start] [--queue redis://HOST:PORT/0]

The load comes from a second process (this script re-run with `--load`): N client threads,
each with its own keep-alive connection, POST signed `pull_request.labeled` deliveries
(GitHub's published example) with fresh delivery ids for the given time; every response
must be 2xx. Probot 14 is installed with npm into `.cache/bench-probot` on first use (skipped
with a note when npm or the registry is unavailable).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBOT_DIR = ROOT / ".cache" / "bench-probot"
SECRET = "bench-secret"
PROBOT_APP = """\
import cluster from "node:cluster";
import { createServer } from "node:http";
import { createProbot, createNodeMiddleware } from "probot";

const probot = createProbot({ overrides: {
  appId: 1, privateKey: process.env.PRIVATE_KEY, secret: process.env.WEBHOOK_SECRET,
  logLevel: "warn" } });
const appFn = (app) => { app.on("pull_request", async () => {}); };
const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: "/webhook" });
const serve = () => createServer(
  (req, res) => middleware(req, res, () => { res.writeHead(404); res.end(); }))
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
const workers = Number(process.env.WORKERS || "1");
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  serve();
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def payload() -> bytes:
    examples = json.loads((ROOT / "tests/data/webhooks/pull_request.json").read_text())
    found = next(e for e in examples if e.get("action") == "labeled")
    return json.dumps(found).encode()


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


# -- the load process -------------------------------------------------------------------


def _request_bytes(body: bytes, signature: str) -> tuple[bytes, bytes]:
    """The request split around its delivery id, so each send only joins three parts."""
    head = (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-GitHub-Event: pull_request\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
        f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n"
        "X-GitHub-Delivery: "
    ).encode()
    return head, b"\r\n\r\n" + body


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length; (status, leftover bytes)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:]


def load(port: int, seconds: float, clients: int) -> dict[str, Any]:
    """N keep-alive connections sending as fast as answers come back (a lean client, so
    the servers, not the client, are measured)."""
    body = payload()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head, tail = _request_bytes(body, signature)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_at = time.monotonic() + 0.2
    stop_at = start_at + seconds

    def client(i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        n = 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while (now := time.monotonic()) < stop_at:
            n += 1
            try:
                sock.sendall(head + f"{i}-{n}-{uuid.uuid4().hex}".encode() + tail)
                status, buffer = _read_response(sock, buffer)
                ok = 200 <= status < 300
            except OSError:
                ok, buffer = False, b""
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port))
            if ok:
                latencies[i].append(time.monotonic() - now)
            else:
                errors[i] += 1
        sock.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = sorted(x for per in latencies for x in per)
    return {"n": len(flat), "errors": sum(errors), "seconds": seconds, "latencies": flat}


def run_load(port: int, seconds: float, clients: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load",
            str(port),
            "--seconds",
            str(seconds),
            "--clients",
            str(clients),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def summarize(name: str, result: dict[str, Any]) -> dict[str, Any]:
    lat = result["latencies"]

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "name": name,
        "rps": result["n"] / result["seconds"],
        "p50": pct(0.50),
        "p99": pct(0.99),
        "n": result["n"],
        "errors": result["errors"],
    }


# -- the servers ---------------------------------------------------------------------------


SERVE_EXTRA: list[str] = []  # `--queue URL`: serve hands deliveries to RQ on that Redis


@contextlib.contextmanager
def release_train_server(key: str, processes: int) -> Iterator[int]:
    """`release-train serve` with default settings and `--workers N`; yields its port."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY": key,
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "APP_SLUG": "release-train",
        "SCHEDULE_INTERVAL": "0",
        "LOG_LEVEL": "WARNING",  # as the Probot app (logLevel "warn")
    }
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", str(processes), *SERVE_EXTRA],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


def ensure_probot() -> bool:
    if (PROBOT_DIR / "node_modules" / "probot").is_dir():
        return True
    if not shutil.which("npm"):
        return False
    PROBOT_DIR.mkdir(parents=True, exist_ok=True)
    (PROBOT_DIR / "package.json").write_text('{"name": "bench-probot", "private": true}\n')
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "probot@14"],
        cwd=PROBOT_DIR,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


@contextlib.contextmanager
def probot_server(key: str, processes: int) -> Iterator[int]:
    """The minimal Probot app (`node:cluster` with N workers when N > 1); yields its port."""
    (PROBOT_DIR / "app.mjs").write_text(PROBOT_APP)
    port = free_port()
    env = {
        **os.environ,
        "PRIVATE_KEY": key,
        "WEBHOOK_SECRET": SECRET,
        "PORT": str(port),
        "WORKERS": str(processes),
    }
    proc = subprocess.Popen(
        ["node", "app.mjs"],
        cwd=PROBOT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, proc)
        time.sleep(0.5 if processes > 1 else 0)  # let every cluster worker listen
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


def probot_name(processes: int) -> str:
    version = json.loads((PROBOT_DIR / "node_modules/probot/package.json").read_text())
    how = "1 process" if processes == 1 else f"node:cluster x{processes}"
    return f"probot {version['version']} (node {node_version()}, {how})"


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


# -- hostile traffic: unsigned requests with random event names ---------------------------


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its children (granian's worker processes), in KB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def metrics_size(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    return len(conn.getresponse().read())


def hostile(key: str, count: int) -> dict[str, int]:
    """RSS and /metrics size before and after `count` unsigned 2 KB deliveries, each with a
    random event name and delivery id, over 8 keep-alive connections."""
    with release_train_server(key, 1) as port:
        pid = _server_pid(port)
        warm = _conn(port)
        for _ in range(200):  # warm up: the first requests import and allocate
            _unsigned(warm)
        before = {"rss_kb": rss_kb(pid), "metrics_bytes": metrics_size(port)}

        def client() -> None:
            conn = _conn(port)
            for _ in range(count // 8):
                _unsigned(conn)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = {"rss_kb": rss_kb(pid), "metrics_bytes": metrics_size(port)}
    return {f"{k}_before": v for k, v in before.items()} | {
        f"{k}_after": v for k, v in after.items()
    }


def _conn(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def _unsigned(conn: http.client.HTTPConnection) -> None:
    headers = {
        "X-GitHub-Event": uuid.uuid4().hex,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    conn.request("POST", "/webhook", body=b"{" + b" " * 2048 + b"}", headers=headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 401, response.status


def _server_pid(port: int) -> int:
    """The pid listening on `port` (the granian main process)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inode = fields[9]
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                return int(fd.parts[2])
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {port}")


# -- the Action's cold start -----------------------------------------------------------------


def action_cold_start(runs: int) -> list[float]:
    """Seconds from spawning `release-train action` to its first API connection."""
    times = []
    for _ in range(runs):
        with socket.socket() as listener, tempfile.TemporaryDirectory() as tmp:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            port = listener.getsockname()[1]
            env = {
                **os.environ,
                "GITHUB_EVENT_NAME": "schedule",
                "GITHUB_REPOSITORY": "o/r",
                "GITHUB_API_URL": f"http://127.0.0.1:{port}",
                "GITHUB_TOKEN": "t" * 40,
                "GITHUB_OUTPUT": f"{tmp}/out",
                "GITHUB_STEP_SUMMARY": f"{tmp}/summary",
            }
            started = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "action"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            listener.settimeout(30)
            conn, _ = listener.accept()
            times.append(time.monotonic() - started)
            conn.close()
            proc.kill()
            proc.wait()
    return times


def measure(
    key: str, processes: int, clients: list[int], seconds: float, rounds: int, probot: bool
) -> list[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """Per concurrency: (clients, release-train row, probot row or None). Both servers run
    side by side (idle while the other is loaded) and are loaded in alternation, `rounds`
    times each; a row is the round with the median acks/s (the machine's other load moves
    both alike)."""
    name = f"release-train (granian, {processes} process{'es' if processes > 1 else ''})"
    rows = []
    with contextlib.ExitStack() as stack:
        ours_port = stack.enter_context(release_train_server(key, processes))
        theirs_port = stack.enter_context(probot_server(key, processes)) if probot else None
        for c in clients:
            mine: list[dict[str, Any]] = []
            other: list[dict[str, Any]] = []
            for _ in range(rounds):
                run_load(ours_port, 0.5, c)  # warm-up
                mine.append(summarize(name, run_load(ours_port, seconds, c)))
                if theirs_port is not None:
                    run_load(theirs_port, 0.5, c)
                    other.append(
                        summarize(probot_name(processes), run_load(theirs_port, seconds, c))
                    )
            rows.append((c, median_row(mine), median_row(other) if other else None))
    return rows


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(rows, key=lambda r: float(r["rps"]))[len(rows) // 2]


def print_table(rows: list[tuple[int, dict[str, Any], dict[str, Any] | None]]) -> None:
    print("| clients | server | acks/s | p50 ms | p99 ms | requests | errors | ratio acks/s, p99 |")
    print("|---|---|---|---|---|---|---|---|")
    for c, ours, theirs in rows:
        for r in (ours, theirs):
            if r is None:
                continue
            ratio = ""
            if r is ours and theirs is not None:
                ratio = f"{ours['rps'] / theirs['rps']:.2f}x, {ours['p99'] / theirs['p99']:.2f}x"
            print(
                f"| {c} | {r['name']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
                f"| {r['n']} | {r['errors']} | {ratio} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per measurement instead of 10")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", default="1,16,64", help="concurrencies (default 1,16,64)")
    parser.add_argument("--processes", default="1,2", help="server processes (default 1,2)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per row (3)")
    parser.add_argument(
        "--hostile",
        type=int,
        default=0,
        metavar="N",
        help="only: memory and /metrics size around N unsigned random-event requests",
    )
    parser.add_argument("--no-cold-start", action="store_true", help="skip the Action timing")
    parser.add_argument("--queue", metavar="URL", help="serve --queue URL (a running Redis)")
    parser.add_argument("--load", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.queue:
        SERVE_EXTRA[:] = ["--queue", args.queue]
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    clients = [int(c) for c in str(args.clients).split(",")]
    if args.load is not None:
        print(json.dumps(load(args.load, seconds, clients[0])))
        return 0
    key = private_key()
    if args.hostile:
        found = hostile(key, args.hostile)
        print(
            f"{args.hostile} unsigned requests with random event names (1 process): "
            f"RSS {found['rss_kb_before'] / 1024:.1f} -> {found['rss_kb_after'] / 1024:.1f} MB, "
            f"/metrics {found['metrics_bytes_before']} -> {found['metrics_bytes_after']} bytes"
        )
        return 0
    probot = bool(shutil.which("node")) and ensure_probot()
    print(
        f"webhook acknowledgement: keep-alive clients in a second process, {seconds:.0f} s "
        f"per round after a 0.5 s warm-up, the two servers alternating, {args.rounds} rounds, "
        f"median round shown; signed pull_request.labeled ({len(payload())} bytes); "
        "ratio = release-train / probot\n"
    )
    for processes in (int(p) for p in str(args.processes).split(",")):
        print_table(measure(key, processes, clients, seconds, args.rounds, probot))
        print()
    if not probot:
        print("(probot not run: node, npm or the npm registry unavailable)")
    if not args.no_cold_start:
        cold = action_cold_start(3 if args.quick else 5)
        print(
            f"Action cold start to first API request (install excluded), {len(cold)} runs: "
            f"median {statistics.median(cold) * 1000:.0f} ms, max {max(cold) * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
