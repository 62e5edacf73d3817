"""Against the sandbox: a train whose canary is held (Prometheus down: SLO verdict `error`)
passes its `promoting` deadline, ends `aborted` (reason `deadline`), bumps nothing more,
reverts nothing, and the train PR says what happened and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import merged_train
from slo.prometheus_ports import closed_port

from bot.adapters.prometheus import PrometheusClient
from bot.insights.github import read_history_api
from bot.insights.verify import verify

M = timedelta(minutes=1)


def test_a_held_canary_past_the_promoting_deadline_stops_the_train(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as prometheus:
        m.story.reconcile(m.merged_at, prometheus=prometheus)  # merge, staging
        canary_at = m.merged_at + 10 * M
        m.story.reconcile(canary_at, prometheus=prometheus)  # canary, held: no verdict
        held = m.record()
        assert held["state"] == "promoting"
        steps = [s["status"] for s in held["extra"]["promotion"]["steps"]]
        assert steps == ["passed", "soaking", "pending", "pending"]
        main_before = m.main_log()

        late = canary_at + timedelta(weeks=2, minutes=1)
        result = m.story.reconcile(late, prometheus=prometheus)
        assert result.problems == ()
        record = m.record()
        assert record["state"] == "aborted" and record["end_reason"] == "deadline"
        # promotion stopped where it stood: no bump, no revert on main
        assert m.main_log() == main_before
        assert record["extra"]["promotion"] == held["extra"]["promotion"]
        notice = [c["body"] for c in m.story.comments(m.train_pr) if "⏰" in c["body"]]
        assert len(notice) == 1
        assert "`canary`: soaking" in notice[0] and "Not bumped: `production-eu`" in notice[0]
        log = m.story.ledger_log()
        assert log[0].split("\x00", 1)[1].startswith("abort: " + m.train_id)
        assert "Reason: deadline" in log[0]
        # and it stays stopped: the next reconcile writes nothing
        mark = m.story.log_mark()
        m.story.reconcile(late + timedelta(hours=1), prometheus=prometheus)
        assert m.story.writes_since(mark) == []
    # the audit accepts promoting -> aborted, and the ledger agrees with the base branch
    history = read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url)
    assert verify(history) == ()


def test_the_promotion_check_run_ends_timed_out_when_the_deadline_stops_the_train(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as prometheus:
        m.story.reconcile(m.merged_at, prometheus=prometheus)
        merge_sha = m.record()["merge_sha"]
        assert _promotion_run(m, merge_sha)["status"] == "in_progress"
        m.story.reconcile(m.merged_at + timedelta(weeks=3), prometheus=prometheus)
    assert m.record()["state"] == "aborted"
    newest = _promotion_run(m, merge_sha)
    assert (newest["status"], newest["conclusion"]) == ("completed", "timed_out")
    # the step soaking when the train stopped: its deployment is not left in_progress
    staging = m.kit.call("GET", f"/repos/{REPO}/deployments?environment=staging", as_user="rm-dave")
    [deployment] = staging
    path = f"/repos/{REPO}/deployments/{deployment['id']}/statuses"
    newest_status = m.kit.call("GET", path, as_user="rm-dave")[0]
    assert newest_status["state"] == "failure"
    assert "deadline" in newest_status["description"]


def _promotion_run(m, sha: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    path = f"/repos/{REPO}/commits/{sha}/check-runs?per_page=100"
    runs = m.kit.call("GET", path, as_user="rm-dave")["check_runs"]
    ours = [r for r in runs if r["name"] == "release-train/promotion"]
    return dict(max(ours, key=lambda r: r["id"]))
