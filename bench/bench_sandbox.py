"""Benchmark the sandbox on loopback: simple GETs per second, and a three-way merge through
the API on a 1,000-file repository. Prints a table; not a test.

    .venv/bin/python bench/bench_sandbox.py [--seconds 3] [--files 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit

from bot.commands._common import render_table
from bot.sandbox.runner import Sandbox, run_sandbox


def _conn(sb: Sandbox) -> http.client.HTTPConnection:
    url = urlsplit(sb.base_url)
    return http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)


def request(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: object = None
) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Authorization": f"token {token}"})
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, json.loads(raw) if raw else None


def gets_per_second(sb: Sandbox, path: str, seconds: float, threads: int) -> tuple[float, float]:
    """(requests per second, median latency in ms) over keep-alive connections."""
    token = sb.token("dev-alice")
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn, mine = _conn(sb), []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = request(conn, "GET", path, token)
            assert status == 200, status
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, statistics.median(latencies)


def timed(fn: Callable[[], tuple[int, object]]) -> tuple[float, int]:
    started = time.perf_counter()
    status, _ = fn()
    return (time.perf_counter() - started) * 1000, status


def merge_rows(sb: Sandbox, files: int) -> list[list[str]]:
    """Create a repository of `files` files, diverge two branches, merge through the API."""
    content = {f"src/module{i // 50}/file{i}.txt": f"line {i}\n" * 20 for i in range(files)}
    started = time.perf_counter()
    sb.scenario.create_repo("acme/big", content)
    setup = (time.perf_counter() - started) * 1000
    sc = sb.scenario
    n = sc.open_pr(
        "acme/big",
        "dev-alice",
        "feat",
        {f"src/module0/file{i}.txt": f"changed {i}\n" for i in range(0, 40, 2)},
        title="feature",
    )
    sc.push(
        "acme/big",
        "main",
        {f"src/module1/file{i}.txt": "main\n" for i in range(50, 90, 2)},
        "main moves",
        "rm-dave",
    )
    sc.push(
        "acme/big", "other", {"src/module2/file100.txt": "other\n"}, "other", "dev-bob", base="main"
    )
    token = sb.token("rm-dave")
    conn = _conn(sb)
    rows = [[f"create {files}-file repo (scenario kit)", f"{setup:.0f}", ""]]
    for label, method, path, body in (
        ("GET pull (mergeable via merge-tree)", "GET", f"/repos/acme/big/pulls/{n}", None),
        ("GET compare main...feat", "GET", "/repos/acme/big/compare/main...feat", None),
        (
            "PUT pull merge (three-way)",
            "PUT",
            f"/repos/acme/big/pulls/{n}/merge",
            {"merge_method": "merge"},
        ),
        (
            "POST /merges (three-way)",
            "POST",
            "/repos/acme/big/merges",
            {"base": "main", "head": "other"},
        ),
    ):
        ms, status = timed(lambda m=method, p=path, b=body: request(conn, m, p, token, b))
        rows.append([label, f"{ms:.1f}", str(status)])
    conn.close()
    return rows


def list_rows(sb: Sandbox, count: int) -> list[list[str]]:
    """Open `count` PRs, then time listing them (one page of 100) and fetching one."""
    for i in range(count):
        sb.scenario.open_pr(
            "acme/app", "dev-alice", f"list-{i}", {f"l{i}.txt": "x"}, title=f"pr {i}"
        )
    token = sb.token("dev-alice")
    conn = _conn(sb)
    rows = []
    for label, path in (
        (f"GET pulls?per_page=100 ({count} open)", "/repos/acme/app/pulls?per_page=100"),
        ("GET issues?per_page=100", "/repos/acme/app/issues?per_page=100"),
        ("GET one pull", "/repos/acme/app/pulls/1"),
    ):
        ms, status = timed(lambda p=path: request(conn, "GET", p, token))
        rows.append([label, f"{ms:.1f}", str(status)])
    conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--pulls", type=int, default=100)
    args = parser.parse_args()
    with TemporaryDirectory() as tmp, run_sandbox(Path(tmp) / "sb", durable=False) as sb:
        sb.scenario.create_repo("acme/app", {"README.md": "hi\n"})
        sb.server.rate_limits["user"] = 10**9  # measure the server, not the rate limiter
        rows = []
        for path in ("/users/dev-bob", "/repos/acme/app", "/repos/acme/app/contents/README.md"):
            for threads in (1, 4):
                rps, median = gets_per_second(sb, path, args.seconds, threads)
                rows.append([f"GET {path}", str(threads), f"{rps:.0f}", f"{median:.2f}"])
        print(render_table(["request", "clients", "req/s", "median ms"], rows))
        print()
        print(render_table(["step", "ms", "status"], merge_rows(sb, args.files)))
        print()
        print(render_table(["listing", "ms", "status"], list_rows(sb, args.pulls)))


if __name__ == "__main__":
    main()
