"""The server's behaviour: pagination, ETags, rate limits, errors, hooks, events, restarts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.http import ApiError, RequestContext, Response
from bot.sandbox.runner import Sandbox, run_sandbox
from bot.sandbox.store import Store

R = "/repos/acme/app"


def call(
    sb: Sandbox,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(sb.base_url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, dict(err.headers), json.loads(raw) if raw else None


def test_link_pagination(sandbox: Sandbox, api: Any) -> None:
    sandbox.scenario.create_repo("acme/app", {"a": "1"})
    for i in range(7):
        api("dev-bob", "POST", f"{R}/issues", {"title": f"i{i}"})
    first = api("dev-bob", "GET", f"{R}/issues", params={"per_page": 3})
    assert [i["number"] for i in first.json] == [7, 6, 5]
    link = first.headers["link"]
    assert 'page=2>; rel="next"' in link and 'page=3>; rel="last"' in link
    last = api("dev-bob", "GET", f"{R}/issues", params={"per_page": 3, "page": 3})
    assert [i["number"] for i in last.json] == [1]
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]
    assert api("dev-bob", "GET", f"{R}/issues", params={"per_page": 500}).json[-1]["number"] == 1
    assert api("dev-bob", "GET", f"{R}/issues", params={"page": "x"}).status == 422


def test_etag_304_does_not_count(sandbox: Sandbox) -> None:
    sandbox.scenario.create_repo("acme/app", {"a": "1"})
    token = sandbox.token("dev-alice")
    status, headers, _ = call(sandbox, "GET", R, token=token)
    assert status == 200
    etag, used = headers["ETag"], int(headers["X-RateLimit-Used"])
    status, again, body = call(sandbox, "GET", R, token=token, headers={"If-None-Match": etag})
    assert (status, body) == (304, None)
    assert int(again["X-RateLimit-Used"]) == used
    status, headers, _ = call(sandbox, "GET", R, token=token)
    assert int(headers["X-RateLimit-Used"]) == used + 1
    assert headers["ETag"] == etag
    sandbox.scenario.push("acme/app", "main", {"b": "2"}, "b", "dev-alice")
    status, _, _ = call(
        sandbox, "GET", f"{R}/commits/main", token=token, headers={"If-None-Match": etag}
    )
    assert status == 200


def test_rate_limit_counts_down_per_token_and_runs_out(sandbox: Sandbox) -> None:
    alice, bob = sandbox.token("dev-alice"), sandbox.token("dev-bob")
    _, h1, _ = call(sandbox, "GET", "/user", token=alice)
    _, h2, _ = call(sandbox, "GET", "/user", token=alice)
    assert int(h1["X-RateLimit-Remaining"]) - 1 == int(h2["X-RateLimit-Remaining"])
    assert h2["X-RateLimit-Resource"] == "core"
    assert int(h2["X-RateLimit-Reset"]) > 0
    _, h3, _ = call(sandbox, "GET", "/user", token=bob)
    assert h3["X-RateLimit-Remaining"] == "4999"
    sandbox.server.rate_windows[alice].used = 4999
    status, h4, _ = call(sandbox, "GET", "/user", token=alice)
    assert (status, h4["X-RateLimit-Remaining"]) == (200, "0")
    status, h5, body = call(sandbox, "GET", "/user", token=alice)
    assert status == 403
    assert body["message"].startswith("API rate limit exceeded")
    assert h5["X-RateLimit-Remaining"] == "0"
    _, anon, _ = call(sandbox, "GET", "/users/dev-bob")
    assert anon["X-RateLimit-Limit"] == "60"


def test_handler_crash_is_500_and_server_lives(sandbox: Sandbox) -> None:
    def boom(ctx: RequestContext) -> Response:
        raise RuntimeError("bug")

    sandbox.server.router.add("GET", "/boom", boom)
    status, _, body = call(sandbox, "GET", "/boom")
    assert status == 500
    assert set(body) >= {"message", "documentation_url"}
    assert call(sandbox, "GET", "/users/dev-bob")[0] == 200


def test_oversized_body_is_refused(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.sandbox.server as server

    monkeypatch.setattr(server, "MAX_BODY", 1000)
    status, _, body = call(
        sandbox, "POST", "/user/repos", token=sandbox.token("dev-alice"), data=b"x" * 5000
    )
    assert status == 413
    assert "too large" in body["message"]


def test_before_request_hook_and_request_log(sandbox: Sandbox) -> None:
    def hook(ctx: RequestContext) -> Response | None:
        if ctx.path == "/users/dev-bob":
            raise ApiError(503, "Service Unavailable")
        return None

    sandbox.server.before_request = hook
    assert call(sandbox, "GET", "/users/dev-bob")[0] == 503
    assert call(sandbox, "GET", "/users/dev-alice")[0] == 200
    log = sandbox.server.request_log
    assert [(m, p, s) for m, p, s, _ in log[-2:]] == [
        ("GET", "/users/dev-bob", 503),
        ("GET", "/users/dev-alice", 200),
    ]
    assert all(d >= 0 for *_, d in log)


def test_events_reach_the_deliverer(sandbox: Sandbox) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    sandbox.server.deliver = lambda event, payload, repo: seen.append((event, payload))
    sc = sandbox.scenario
    sc.create_repo("acme/app", {"a": "1"})
    n = sc.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f", labels=["train:next"])
    sc.push("acme/app", "feat", {"x": "2"}, "more", "dev-alice")
    sc.review("acme/app", n, "rev-carol", "APPROVE")
    sc.comment("acme/app", n, "rm-dave", "/train status")
    sc.merge("acme/app", n, "rm-dave")
    kinds = [(e, p.get("action")) for e, p in seen]
    assert ("pull_request", "opened") in kinds
    assert ("pull_request", "labeled") in kinds
    assert ("pull_request", "synchronize") in kinds
    assert ("pull_request_review", "submitted") in kinds
    assert ("issue_comment", "created") in kinds
    closed = [p for e, p in seen if e == "pull_request" and p["action"] == "closed"]
    assert closed[0]["pull_request"]["merged"] is True
    pushes = [p for e, p in seen if e == "push"]
    assert pushes[-1]["ref"] == "refs/heads/main"
    assert closed[0]["installation"]["id"] == 1
    assert closed[0]["sender"]["login"] == "rm-dave"


def test_restart_keeps_state(tmp_path: Path) -> None:
    data = tmp_path / "sb"
    with run_sandbox(data) as sb:
        sb.scenario.create_repo("acme/app", {"a": "1"})
        n = sb.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="kept")
        token = sb.token("dev-alice")
    with run_sandbox(data) as sb:
        assert sb.token("dev-alice") == token
        status, _, pr = call(sb, "GET", f"{R}/pulls/{n}", token=token)
        assert (status, pr["title"]) == (200, "kept")
        assert sb.scenario.open_pr("acme/app", "dev-bob", "b", {"y": "1"}, title="b") == n + 1


def test_store_transaction_rolls_back_and_writes_atomically(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    store = Store(path)
    with store.transaction() as data:
        data["extra"]["kept"] = 1
    with pytest.raises(RuntimeError), store.transaction() as data:
        data["extra"]["lost"] = 1
        raise RuntimeError
    assert "lost" not in store.data["extra"]
    assert json.loads(path.read_text())["extra"] == {"kept": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["store.json"]
    assert Store(path).data["extra"] == {"kept": 1}


def test_failed_write_request_changes_nothing(sandbox: Sandbox, api: Any) -> None:
    sandbox.scenario.create_repo("acme/app", {"a": "1"})
    before = sandbox.store.snapshot()
    r = api("dev-bob", "POST", f"{R}/issues", {"title": ""})
    assert r.status == 422
    after = sandbox.store.snapshot()
    assert after["issues"] == before["issues"]
    assert after["counters"] == before["counters"]


def test_head_answers_like_get_without_a_body(sandbox: Sandbox) -> None:
    status, headers, body = call(sandbox, "HEAD", "/users/dev-bob")
    assert (status, body) == (200, None)
    assert "ETag" in headers


def test_concurrent_writers_get_distinct_numbers(sandbox: Sandbox) -> None:
    import threading

    sandbox.scenario.create_repo("acme/app", {"a": "1"})
    tokens = [sandbox.token(u) for u in ("dev-alice", "dev-bob", "rev-carol", "rm-dave")]
    numbers: list[int] = []
    lock = threading.Lock()

    def writer(token: str) -> None:
        for i in range(10):
            status, _, body = call(
                sandbox,
                "POST",
                f"{R}/issues",
                token=token,
                data=json.dumps({"title": f"t{i}"}).encode(),
            )
            assert status == 201
            with lock:
                numbers.append(body["number"])

    threads = [threading.Thread(target=writer, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 41))


def test_concurrent_merges_all_land(sandbox: Sandbox, api: Any) -> None:
    import threading

    sc = sandbox.scenario
    sc.create_repo("acme/app", {"a": "1"})
    prs = [
        sc.open_pr("acme/app", "dev-alice", f"b{i}", {f"f{i}": "x"}, title=f"p{i}")
        for i in range(4)
    ]
    token = sandbox.token("rm-dave")
    statuses: list[int] = []

    def merge(n: int) -> None:
        statuses.append(
            call(
                sandbox,
                "PUT",
                f"{R}/pulls/{n}/merge",
                token=token,
                data=b'{"merge_method": "merge"}',
            )[0]
        )

    threads = [threading.Thread(target=merge, args=(n,)) for n in prs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    tree = api("rm-dave", "GET", f"{R}/git/trees/main").json["tree"]
    assert {e["path"] for e in tree} == {"a", "f0", "f1", "f2", "f3"}


def test_acknowledged_writes_survive_a_kill(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    data = tmp_path / "d"

    def start() -> tuple[subprocess.Popen[str], dict[str, Any]]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "--json", "--data", str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, "sandbox exited"
            lines.append(line)
        return proc, json.loads("".join(lines))

    proc, info = start()
    token = info["tokens"]["dev-bob"]
    req = urllib.request.Request(
        info["base_url"] + "/repos/acme/shop/issues",
        method="POST",
        data=b'{"title": "survives"}',
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc, info = start()
    try:
        req = urllib.request.Request(
            info["base_url"] + "/repos/acme/shop/issues/1",
            headers={"Authorization": f"token {token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["title"] == "survives"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_anonymous_reads_public_but_cannot_write(sandbox: Sandbox) -> None:
    sandbox.scenario.create_repo("acme/app", {"a": "1"})
    assert call(sandbox, "GET", R)[0] == 200
    status, _, body = call(sandbox, "POST", f"{R}/issues", data=b'{"title": "x"}')
    assert (status, body["message"]) == (401, "Requires authentication")


def test_errors_count_against_the_limit_and_carry_headers(sandbox: Sandbox) -> None:
    token = sandbox.token("dev-alice")
    _, first, _ = call(sandbox, "GET", "/user", token=token)
    status, headers, _ = call(sandbox, "GET", "/repos/acme/none", token=token)
    assert status == 404
    assert int(headers["X-RateLimit-Used"]) == int(first["X-RateLimit-Used"]) + 1
    assert headers["X-GitHub-Request-Id"] != first["X-GitHub-Request-Id"]


def test_rate_limit_endpoint_is_free_and_answers_when_exhausted(sandbox: Sandbox) -> None:
    alice = sandbox.token("dev-alice")
    _, before, body = call(sandbox, "GET", "/rate_limit", token=alice)
    _, after, again = call(sandbox, "GET", "/rate_limit", token=alice)
    assert before["X-RateLimit-Remaining"] == after["X-RateLimit-Remaining"] == "5000"
    assert body["resources"]["core"]["used"] == again["resources"]["core"]["used"] == 0
    call(sandbox, "GET", "/user", token=alice)
    assert call(sandbox, "GET", "/rate_limit", token=alice)[2]["rate"]["used"] == 1
    sandbox.server.rate_windows[alice].used = 5000
    assert call(sandbox, "GET", "/user", token=alice)[0] == 403
    status, headers, body = call(sandbox, "GET", "/rate_limit", token=alice)
    assert (status, headers["X-RateLimit-Remaining"], body["rate"]["remaining"]) == (200, "0", 0)


def test_a_client_that_hangs_up_leaves_no_traceback(
    sandbox: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import struct
    import time

    from bot.sandbox import faults

    faults.install(sandbox.server, faults.FaultPlan(latency_ms=200))
    for _ in range(3):  # the answer is written after the client has reset the connection
        sock = socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=5)
        sock.sendall(b"GET /rate_limit HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    deadline = time.monotonic() + 5
    while len(sandbox.server.request_log) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    assert len(sandbox.server.request_log) == 3
    assert call(sandbox, "GET", "/rate_limit")[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err
