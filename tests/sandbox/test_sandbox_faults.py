"""Fault injection: seeded and replayable, writes not applied on pre-faults, GitHub's shapes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox import faults
from bot.sandbox.faults import FaultPlan, decide
from bot.sandbox.runner import Sandbox


def call(sb: Sandbox, method: str, path: str, body: object = None, *, timeout: float = 10,
         token: str | None = None) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sb.base_url + path, data=data, method=method)
    req.add_header("Authorization", f"token {token or sb.bot_token()}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, dict(err.headers), json.loads(text) if text else None


def test_same_seed_same_faults_and_another_seed_differs() -> None:
    plan = FaultPlan(seed=7, probability=0.3)
    first = [decide(plan, "GET", "/repos/acme/shop", n) for n in range(300)]
    assert first == [decide(plan, "GET", "/repos/acme/shop", n) for n in range(300)]
    other = FaultPlan(seed=8, probability=0.3)
    assert first != [decide(other, "GET", "/repos/acme/shop", n) for n in range(300)]
    share = sum(f is not None for f in first) / len(first)
    assert 0.2 < share < 0.4
    assert {f for f in first if f is not None} == set(faults.DEFAULT_KINDS)


def test_per_endpoint_probability_overrides_the_global_one() -> None:
    plan = FaultPlan(seed=1, probability=0.0, kinds=(502,),
                     per_endpoint={"PATCH /repos/*/git/refs/*": 1.0})  # fmt: skip
    assert decide(plan, "PATCH", "/repos/acme/shop/git/refs/heads/main", 0) == 502
    assert decide(plan, "GET", "/repos/acme/shop/git/refs/heads/main", 0) is None
    assert decide(plan, "PATCH", "/repos/acme/shop/pulls/1", 0) is None


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(kinds=(418,))


def test_live_replay_gives_the_same_statuses(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    plan = FaultPlan(seed=3, probability=0.4, kinds=(500, 502, 503, "secondary_rate_limit"))

    def run() -> list[int]:
        faults.install(sandbox.server, plan)
        return [call(sandbox, "GET", "/repos/acme/shop")[0] for _ in range(25)]

    first = run()
    assert first == run()
    assert set(first) - {200} and 200 in first
    faults.uninstall(sandbox.server)
    assert call(sandbox, "GET", "/repos/acme/shop")[0] == 200


def _runs(sb: Sandbox) -> int:
    status, _, body = call(sb, "GET", "/repos/acme/shop/commits/main/check-runs?filter=all")
    assert status == 200
    return int(body["total_count"])


def test_a_pre_fault_does_not_apply_the_write_and_after_does(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    sha = sandbox.git.resolve("acme/shop", "main")
    post = "POST /repos/acme/shop/check-runs"
    injector = faults.install(
        sandbox.server, FaultPlan(script={(post, 0): 503, (post, 1): "after"})
    )
    body = {"name": "gate", "head_sha": sha, "conclusion": "success"}
    status, _, error = call(sandbox, "POST", "/repos/acme/shop/check-runs", body)
    assert status == 503 and error["message"]
    assert _runs(sandbox) == 0
    status, _, _ = call(sandbox, "POST", "/repos/acme/shop/check-runs", body)
    assert status == 502
    assert _runs(sandbox) == 1
    status, _, _ = call(sandbox, "POST", "/repos/acme/shop/check-runs", body)
    assert status == 201
    assert [(i.kind, i.occurrence) for i in injector.injected] == [(503, 0), ("after", 1)]


@pytest.mark.parametrize("code", [403, 429])
def test_secondary_rate_limit_has_retry_after_and_githubs_message(
    sandbox: Sandbox, code: int
) -> None:
    faults.install(sandbox.server, FaultPlan(probability=1.0, kinds=("secondary_rate_limit",),
                                             retry_after_s=30, secondary_status=code))  # fmt: skip
    status, headers, body = call(sandbox, "GET", "/rate_limit")
    assert status == code
    assert headers["Retry-After"] == "30"
    assert "secondary rate limit" in body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com")


def test_githubkit_waits_out_a_secondary_limit_and_succeeds(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    injector = faults.install(
        sandbox.server,
        FaultPlan(script={("GET /repos/acme/shop", 0): "secondary_rate_limit"}, retry_after_s=1),
    )
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url) as gh:
        assert gh.rest.repos.get("acme", "shop").json()["full_name"] == "acme/shop"
    assert len(injector.injected) == 1
    assert [s for m, p, s, _ in sandbox.server.request_log if p == "/repos/acme/shop"] == [403, 200]


def test_primary_exhaustion_until_reset(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    now = [1_000_000.0]
    faults.install(sandbox.server, FaultPlan(primary_exhaustion_after=2, primary_reset_s=60),
                   clock=lambda: now[0])  # fmt: skip
    assert call(sandbox, "GET", "/repos/acme/shop")[0] == 200
    assert call(sandbox, "GET", "/repos/acme/shop")[0] == 200
    status, headers, body = call(sandbox, "GET", "/repos/acme/shop")
    assert status == 403
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset"] == "1000060"
    assert body["message"].startswith("API rate limit exceeded for installation ID")
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url, auto_retry=False) as gh:
        with pytest.raises(RequestFailed) as failed:
            gh.rest.repos.get("acme", "shop")
        assert type(failed.value).__name__ == "PrimaryRateLimitExceeded"
        core = gh.rest.rate_limit.get().json()["resources"]["core"]
        assert (core["remaining"], core["reset"]) == (0, 1000060)
    now[0] += 61
    assert call(sandbox, "GET", "/repos/acme/shop")[0] == 200
    assert call(sandbox, "GET", "/rate_limit")[2]["resources"]["core"]["remaining"] > 0


def test_timeout_outlasts_the_clients_read_timeout(sandbox: Sandbox) -> None:
    faults.install(sandbox.server, FaultPlan(probability=1.0, kinds=("timeout",), timeout_s=1.0))
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        call(sandbox, "GET", "/rate_limit", timeout=0.2)


def test_timeout_drops_the_connection_without_an_answer(sandbox: Sandbox) -> None:
    """A client that waits longer than the server's stall sees the connection close
    with no status line: not a 504 it could mistake for GitHub's answer."""
    faults.install(sandbox.server, FaultPlan(probability=1.0, kinds=("timeout",), timeout_s=0.1))
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=5) as sock:
        sock.sendall(b"GET /rate_limit HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536) == b""  # orderly close, zero bytes
    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
        call(sandbox, "GET", "/rate_limit", timeout=5)
    assert [s for _, p, s, _ in sandbox.server.request_log if p == "/rate_limit"] == [504, 504]


def test_latency_is_added_to_matching_requests(sandbox: Sandbox) -> None:
    slept: list[float] = []
    plan = FaultPlan(latency_ms=250, latency_endpoints=("/rate_limit",))
    faults.install(sandbox.server, plan, sleep=slept.append)
    call(sandbox, "GET", "/rate_limit")
    call(sandbox, "GET", "/user")
    call(sandbox, "GET", "/rate_limit")
    assert slept == [0.25, 0.25]


@given(
    seed=st.integers(0, 2**32),
    probability=st.floats(0, 1),
    path=st.from_regex(r"/repos/[a-z]{1,5}/[a-z]{1,5}(/pulls/[0-9]{1,3})?", fullmatch=True),
    occurrence=st.integers(0, 10_000),
)
def test_decide_is_a_pure_function_of_its_inputs(
    seed: int, probability: float, path: str, occurrence: int
) -> None:
    plan = FaultPlan(seed=seed, probability=probability)
    kind = decide(plan, "GET", path, occurrence)
    assert kind == decide(FaultPlan(seed=seed, probability=probability), "GET", path, occurrence)
    assert kind is None or kind in plan.kinds
    if probability == 0:
        assert kind is None
    if probability == 1:
        assert kind is not None


def test_an_after_fault_makes_a_retrying_client_write_twice(sandbox: Sandbox) -> None:
    """Why the bot must be idempotent: the write landed, the answer was 502, githubkit
    retried, and the comment now exists twice."""
    sandbox.scenario.demo()
    number = sandbox.scenario.open_pr("acme/shop", "dev-alice", "f", {"f.txt": "1"}, title="F")
    post = f"POST /repos/acme/shop/issues/{number}/comments"
    faults.install(sandbox.server, FaultPlan(script={(post, 0): "after"}))
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url) as gh:  # default retries
        gh.rest.issues.create_comment("acme", "shop", number, body="/train board")
        bodies = [c["body"] for c in gh.rest.issues.list_comments("acme", "shop", number).json()]
    assert bodies == ["/train board", "/train board"]
    statuses = [s for m, p, s, _ in sandbox.server.request_log if m == "POST"]
    assert statuses == [502, 201]


def test_a_plan_from_plain_values() -> None:
    plan = faults.plan_from_mapping(
        {"seed": 7, "probability": 0.5, "kinds": [502, "timeout"], "latency_ms": 20,
         "per_endpoint": {"PUT /repos/*/pulls/*/merge": 1.0},
         "script": {"POST /repos/acme/shop/check-runs#0": "after"}}
    )  # fmt: skip
    assert plan.kinds == (502, "timeout")
    assert decide(plan, "POST", "/repos/acme/shop/check-runs", 0) == "after"
    assert decide(plan, "PUT", "/repos/acme/shop/pulls/3/merge", 0) in (502, "timeout")
    with pytest.raises(ValueError, match="unknown fault plan keys: chaos"):
        faults.plan_from_mapping({"chaos": 1})
    with pytest.raises(ValueError, match="METHOD /path#N"):
        faults.plan_from_mapping({"script": {"POST /x": 502}})
    with pytest.raises(ValueError, match="unknown fault kinds"):
        faults.plan_from_mapping({"kinds": [404]})


def test_run_sandbox_installs_a_fault_plan(tmp_path: Any) -> None:
    from bot.sandbox.runner import run_sandbox

    plan = FaultPlan(script={("GET /rate_limit", 0): 502})
    with run_sandbox(tmp_path / "s", durable=False, faults=plan) as sb:
        assert sb.faults is not None
        assert [call(sb, "GET", "/rate_limit")[0] for _ in range(2)] == [502, 200]
        assert [(i.path, i.kind) for i in sb.faults.injected] == [("/rate_limit", 502)]
    with run_sandbox(tmp_path / "t", durable=False) as plain:
        assert plain.faults is None


@pytest.mark.parametrize(
    "values",
    [{"probability": 1.5}, {"per_endpoint": {"/x": -0.1}}, {"latency_ms": "slow"},
     {"probability": True}, {"timeout_s": -1}],
)  # fmt: skip
def test_plans_with_impossible_numbers_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        faults.plan_from_mapping(values)
