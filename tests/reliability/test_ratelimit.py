"""GitHub's rate limits (issue 10, bug D): the pure rules of `bot.adapters.ratelimit`, the
limiter with an injected clock, and the real bot against the sandbox when the primary limit
runs out or a secondary limit answers `Retry-After`: no request before the reset, then
resume without hammering; a wait longer than the bound is deferred by the worker."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle_sandbox import REPO, board_three
from matrix import Outcome, differences, fresh_sandbox
from scenario import Knobs, Run, depart, final_state, merge, play, promote, rollback

from bot.adapters.ratelimit import (
    Budget,
    RateLimited,
    RateLimiter,
    Refusal,
    classify,
    limiter_for,
    pace_interval,
)
from bot.sandbox.faults import FaultInjector, FaultPlan, install
from bot.transports.worker import Job, Trigger, Worker

pytestmark = pytest.mark.reliability

NOW = 1_800_000_000.0
PRIMARY = "API rate limit exceeded for installation ID 1."
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


# -- the rules (pure) ----------------------------------------------------------------------


def _spent(reset: float) -> dict[str, str]:
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset))}


@pytest.mark.parametrize("status", [403, 429])
def test_retry_after_is_a_secondary_limit_for_that_many_seconds(status: int) -> None:
    refusal = classify(status, {"retry-after": "30"}, SECONDARY, NOW)
    assert refusal == Refusal("secondary", NOW + 30)


def test_remaining_zero_is_the_primary_limit_until_just_after_the_reset() -> None:
    assert classify(403, _spent(NOW + 120), PRIMARY, NOW) == Refusal("primary", NOW + 121)


def test_remaining_zero_with_a_secondary_message_is_secondary() -> None:
    refusal = classify(403, _spent(NOW + 10), SECONDARY, NOW)
    assert refusal is not None and refusal.kind == "secondary"


def test_a_rate_limit_without_headers_waits_a_minute() -> None:
    assert classify(403, {}, SECONDARY, NOW) == Refusal("secondary", NOW + 60)
    assert classify(429, {}, "", NOW) == Refusal("secondary", NOW + 60)


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (403, {"x-ratelimit-remaining": "4999"}, "Resource not accessible by integration"),
        (200, _spent(NOW + 5), ""),
        (404, {"retry-after": "5"}, "Not Found"),
    ],
)
def test_other_answers_are_not_refusals(status: int, headers: dict[str, str], message: str) -> None:
    assert classify(status, headers, message, NOW) is None


def test_a_low_budget_is_spread_over_what_is_left_of_the_window() -> None:
    assert pace_interval(Budget(9, NOW + 100), NOW, low_water=10) == 10.0
    assert pace_interval(Budget(10, NOW + 100), NOW, low_water=10) == 0.0  # not low yet
    assert pace_interval(Budget(3, NOW - 1), NOW, low_water=10) == 0.0  # window over


# -- the limiter, on a clock that moves only when it sleeps --------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_limiter_waits_out_the_reset_then_lets_requests_through() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t.clock, sleep=t.sleep)
    assert limiter.observe(403, _spent(NOW + 30), PRIMARY) == Refusal("primary", NOW + 31)
    limiter.acquire()
    assert t.slept == [31.0] and t.now == NOW + 31
    limiter.acquire()
    assert t.slept == [31.0]


def test_a_reset_further_off_than_max_wait_is_refused_without_sleeping() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t.clock, sleep=t.sleep, max_wait=60)
    limiter.observe(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 300)})
    for _ in range(2):
        with pytest.raises(RateLimited) as caught:
            limiter.acquire()
        assert caught.value.kind == "primary"
        assert caught.value.retry_at == NOW + 301 and caught.value.retry_in == 301
    assert t.slept == []
    assert "rate limit" in caught.value.message and caught.value.exit_code == 3


def test_a_budget_seen_spent_on_a_success_blocks_too() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t.clock, sleep=t.sleep)
    limiter.observe(200, _spent(NOW + 20))  # the last request of the window succeeded
    limiter.acquire()
    assert t.slept == [21.0]


def test_a_low_budget_paces_requests() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t.clock, sleep=t.sleep, low_water=10)
    limiter.observe(200, {"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(NOW + 40)})
    for _ in range(3):
        limiter.acquire()
    assert t.slept == [10.0, 10.0]  # 40 s left for 3 requests: one every 10 s


def test_clients_of_one_installation_share_a_limiter() -> None:
    assert limiter_for("https://x/", "tok-a") is limiter_for("https://x", "tok-a")
    assert limiter_for("https://x", "tok-a") is not limiter_for("https://x", "tok-b")


# -- the real bot against the sandbox ------------------------------------------------------


def _exhausted_at_boarding(sb: Any, limiter: RateLimiter) -> tuple[Run, FaultInjector, int]:
    """Three PRs labelled; the primary limit runs out at the bot's next request (403,
    x-ratelimit-remaining: 0, reset in 2 s). Returns where the request log stood."""
    run = play(sb, knobs=Knobs(limiter=limiter), phases=[])
    a, b, c = board_three(run.story)
    run.prs.update(a=a, b=b, c=c)
    injector = install(sb.server, FaultPlan(primary_exhaustion_after=0, primary_reset_s=2))
    return run, injector, len(sb.server.request_log)


def test_primary_exhaustion_waits_for_the_reset_then_resumes(baseline: Outcome) -> None:
    """One reconcile meets the spent limit: one refused request, nothing until the reset
    (every request before it would be refused and logged as 403), then it carries on, and
    the story ends like the fault-free run."""
    limiter = RateLimiter()  # the real clock and sleep: about two seconds
    with fresh_sandbox() as sb:
        run, injector, mark = _exhausted_at_boarding(sb, limiter)
        result = run.reconcile(run.t0)
        statuses = [r[2] for r in sb.server.request_log[mark:]]
        assert statuses[0] == 403 and statuses.count(403) == 1 and len(statuses) > 1
        assert limiter.refused == 1 and limiter.waited >= 1.0  # the reset was 2 s off
        assert result.problems == () and injector.exhausted_reset() is None
        run.settle(run.t0)
        run.kit.comment(REPO, run.prs["a"], "dev-bob", "/train hold")
        run.kit.comment(REPO, run.prs["b"], "dev-alice", "/train status")
        run.settle(run.t0 + timedelta(seconds=5))
        for phase in (depart, merge, promote, rollback):
            phase(run)
        assert differences(baseline.state, final_state(run)) == []
        assert [r for r in sb.server.request_log[mark:] if r[2] == 403] == [
            sb.server.request_log[mark]
        ]


def test_no_request_is_made_before_the_reset() -> None:
    """A wait longer than the bound is not slept: the reconcile stops with `RateLimited`
    (the reset time in it), and later reconciles inside the window send nothing at all."""
    limiter = RateLimiter(max_wait=0.5)
    with fresh_sandbox() as sb:
        run, injector, mark = _exhausted_at_boarding(sb, limiter)
        with pytest.raises(RateLimited) as first:
            run.reconcile(run.t0)
        assert [r[2] for r in sb.server.request_log[mark:]] == [403]
        seen = len(sb.server.request_log)
        for _ in range(3):
            with pytest.raises(RateLimited):
                run.reconcile(run.t0)
        reset = injector.exhausted_reset()
        assert reset is not None, "the window ended during the test"
        assert sb.server.request_log[seen:] == []
        assert first.value.kind == "primary" and first.value.retry_at > reset


def _secondary_on_first_pulls_read(retry_after: int, status: int = 403) -> FaultPlan:
    script = {(f"GET /repos/{REPO}/pulls", 0): "secondary_rate_limit"}
    return FaultPlan(script=script, retry_after_s=retry_after, secondary_status=status)


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_is_waited_out_as_retry_after_says(status: int) -> None:
    """Retry-After: 7 → the bot waits 7 s (recorded on the run's virtual clock, not slept)
    and sends the refused read again once; the reconcile ends without a problem."""
    with fresh_sandbox() as sb:
        run = play(sb, phases=[])
        a, _b, _c = board_three(run.story)
        install(sb.server, _secondary_on_first_pulls_read(7, status))
        mark = len(sb.server.request_log)
        result = run.reconcile(run.t0)
        pulls = [r[2] for r in sb.server.request_log[mark:] if r[1] == f"/repos/{REPO}/pulls"]
    assert pulls[:2] == [status, 200]
    assert 7.0 in run.knobs.waits and result.problems == ()
    assert a  # the PRs were there to read


def test_a_secondary_limit_longer_than_the_bound_is_deferred() -> None:
    with fresh_sandbox() as sb:
        run = play(sb, phases=[])
        board_three(run.story)
        install(sb.server, _secondary_on_first_pulls_read(120))
        mark = len(sb.server.request_log)
        with pytest.raises(RateLimited) as caught:
            run.reconcile(run.t0)
        log = sb.server.request_log[mark:]
    assert log[-1][1:3] == (f"/repos/{REPO}/pulls", 403)  # nothing sent after the refusal
    assert caught.value.kind == "secondary" and 119 <= caught.value.retry_in <= 120


def test_the_worker_defers_a_rate_limited_reconcile_to_the_reset() -> None:
    """The webhook server's worker (one attempt allowed, so a failure would be dropped)
    runs the real reconcile; the spent limit's reset is further off than the client may
    wait: the job comes back after the reset, not as a failed attempt, and succeeds with
    the one refused request in the log."""
    limiter = RateLimiter(max_wait=0.5)
    with fresh_sandbox() as sb:
        run, injector, mark = _exhausted_at_boarding(sb, limiter)
        jobs: list[Job] = []
        done = threading.Event()

        def handle(job: Job) -> None:
            jobs.append(job)
            result = run.reconcile(run.t0)
            assert not result.problems
            done.set()

        worker = Worker(handle, threads=1, debounce=0.0, max_attempts=1)
        worker.start()
        try:
            worker.submit(Trigger(REPO, event="pull_request"))
            assert done.wait(15), "the deferred reconcile never ran"
            assert worker.wait_idle(5)
        finally:
            worker.stop()
        statuses = [r[2] for r in sb.server.request_log[mark:]]
    assert len(jobs) == 2 and [j.attempt for j in jobs] == [0, 0]
    assert statuses[0] == 403 and statuses.count(403) == 1
    assert injector.exhausted_reset() is None


def test_a_low_budget_is_never_spent_to_zero() -> None:
    """The sandbox's own window allows 25 requests an hour: the bot paces itself once fewer
    than 10 remain (one request per 1/10 of the hour: longer than it may wait, so
    deferred) and is never refused."""
    with fresh_sandbox() as sb:
        sb.server.rate_limits["user"] = 25
        run = play(sb, knobs=Knobs(limiter=RateLimiter(low_water=10)), phases=[])
        board_three(run.story)
        mark = len(sb.server.request_log)
        deferred: list[RateLimited] = []
        for _ in range(5):
            try:
                run.reconcile(run.t0)
            except RateLimited as exc:
                deferred.append(exc)
        statuses = [r[2] for r in sb.server.request_log[mark:]]
        window = sb.server.rate_window(run.story.sandbox.bot_token(), anonymous=False)
    assert deferred and 403 not in statuses
    assert window.remaining == 8  # the first request below 10 went, then the bot paused
    assert all(300 < d.retry_in <= 400 for d in deferred)  # ~3600 s / 9 remaining


def test_the_cli_exits_3_naming_the_reset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`release-train reconcile` meets a limit that resets in two minutes: one refused
    request, then exit 3 (held: try again later) with the reset time, no traceback."""
    from bot.cli import main

    with fresh_sandbox() as sb:
        run = play(sb, phases=[])
        board_three(run.story)
        install(sb.server, FaultPlan(primary_exhaustion_after=0, primary_reset_s=120))
        mark = len(sb.server.request_log)
        monkeypatch.setenv("GITHUB_TOKEN", sb.bot_token())
        args = ["reconcile", "--repo", REPO, "--api-url", sb.base_url]
        code = main([*args, "--now", run.t0.isoformat()])
        statuses = [r[2] for r in sb.server.request_log[mark:]]
    err = capsys.readouterr().err
    assert code == 3 and statuses == [403]
    assert "GitHub primary rate limit: no request before" in err and "UTC" in err
    assert "Traceback" not in err


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["primary", "secondary", "ok", "low"]),
            st.integers(min_value=0, max_value=200),  # seconds to the reset / Retry-After
            st.integers(min_value=0, max_value=30),  # seconds that pass before the next one
        ),
        max_size=12,
    )
)
def test_no_request_is_ever_let_through_before_a_refusal_ends(events: list[Any]) -> None:
    """Any sequence of answers: each `acquire` either returns at or after the end of every
    refusal seen (and of a spent budget), or raises `RateLimited` without sleeping, with a
    retry time that is not earlier than that end."""
    t = FakeTime()
    limiter = RateLimiter(clock=t.clock, sleep=t.sleep, max_wait=60, low_water=5)
    not_before = NOW
    for kind, seconds, idle in events:
        if kind == "primary":
            limiter.observe(403, _spent(t.now + seconds), PRIMARY)
            not_before = max(not_before, int(t.now + seconds) + 1)
        elif kind == "secondary":
            limiter.observe(429, {"retry-after": str(seconds)}, SECONDARY)
            not_before = max(not_before, t.now + seconds)
        elif kind == "low":
            reset = str(int(t.now + seconds))
            limiter.observe(200, {"x-ratelimit-remaining": "2", "x-ratelimit-reset": reset})
        else:
            limiter.observe(200, {"x-ratelimit-remaining": "4000", "x-ratelimit-reset": "0"})
        slept = len(t.slept)
        try:
            limiter.acquire()
        except RateLimited as exc:
            assert len(t.slept) == slept and exc.retry_at >= not_before - 1e-6
        else:
            assert t.now >= not_before - 1e-6
        t.now += idle
