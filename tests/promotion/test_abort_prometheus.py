"""`on_inconclusive: abort` against a real Prometheus with no data: past
`inconclusive_after` the train ends `aborted` (reason `slo-inconclusive`), promotion stops,
bumped stages stay as they are, the step's deployment fails, the promotion check run fails,
the train PR says what to do, the ledger records it once, and nothing is reverted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.adapters.prometheus import PrometheusClient
from bot.core.ledger import parse_commit_message

M = timedelta(minutes=1)


def _abort_when_unsure(text: str) -> str:
    old = "    objective: 99.9\n"
    assert old in text
    return text.replace(old, old + "    inconclusive_after: 30m\n    on_inconclusive: abort\n")


def _no_data_train(sandbox: Any) -> Merged:
    """Only `docs` rides: Prometheus has no series for it, so canary stays inconclusive."""
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    files = {"docs/guide.md": "# guide\n"}
    return merged_train(
        sandbox, canary_slos=True, t0=t0, files=files, edit_config=_abort_when_unsure
    )


def _ledger_events(m: Merged) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    out = []
    for entry in m.story.ledger_log():
        event, _, trailers = parse_commit_message(entry.split("\x00", 1)[1])
        out.append((event, tuple(trailers)))
    return out


def test_unsure_past_inconclusive_after_aborts_the_train(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = _no_data_train(sandbox)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        canary_at = m.merged_at + 10 * M
        m.story.reconcile(canary_at, prometheus=client)
        held = m.story.reconcile(canary_at + 5 * M, prometheus=client)
        assert m.record()["state"] == "promoting"
        assert held.next_due == canary_at + 30 * M
        bumped_canary = m.main_file("deploy/canary/kustomization.yaml")
        assert "newTag: 0.1" not in bumped_canary.replace('"', "")

        result = m.story.reconcile(canary_at + 36 * M, prometheus=client)
        assert result.problems == ()
        record = m.record()
        assert record["state"] == "aborted" and record["end_reason"] == "slo-inconclusive"
        steps = record["extra"]["promotion"]["steps"]
        assert [s["status"] for s in steps] == ["passed", "soaking", "pending", "pending"]
        assert steps[1]["verdict"] == "inconclusive (aborted)"
        assert "inconclusive" in record["extra"]["promotion"]["error"]

        # nothing reverted: the bumped stages stay as they are, nothing further is bumped
        assert not [b for _, b in m.main_log() if b.startswith("revert ")]
        assert m.main_file("deploy/canary/kustomization.yaml") == bumped_canary
        assert "0.1" in m.main_file("deploy/production-eu/values.yaml")

        # the canary's deployment failed; staging's (passed) is left alone
        deployments = {d["environment"]: d["id"] for d in m.deployments()}
        assert m.statuses(deployments["canary"])[0] == "failure"
        assert m.statuses(deployments["staging"])[0] == "success"
        assert "production-eu" not in deployments

        # the check run fails; the train PR says what happened and what to do
        path = f"/repos/{REPO}/commits/{record['merge_sha']}/check-runs"
        runs = m.kit.call("GET", path, as_user="rm-dave")["check_runs"]
        (run,) = [r for r in runs if r["name"] == "release-train/promotion"]
        assert run["conclusion"] == "failure"
        (notice,) = [c["body"] for c in m.story.comments(m.train_pr) if "aborted" in c["body"]]
        assert "slo-inconclusive" in notice and "What to do" in notice
        assert "`staging`" in notice and "`canary`" in notice and "`production-eu`" in notice
        assert "Promotion stopped" in m.story.pull(m.train_pr)["body"]

        # the ledger: one `aborted` commit with the stage, verdict and reason
        event, trailers = _ledger_events(m)[0]
        assert event == "abort"  # as the lifecycle names it (history: aborted)
        assert ("Stage", "canary") in trailers and ("Verdict", "inconclusive") in trailers
        assert ("Reason", "slo-inconclusive") in trailers and ("State", "aborted") in trailers

        # the audit tells it: "aborted: slo-inconclusive"
        from bot.insights.gitlog import read_history
        from bot.insights.timeline import build_timelines

        history = read_history(sandbox.git.path(REPO), base="main")
        (timeline,) = [t for t in build_timelines(history) if t.train_id == m.train_id]
        assert timeline.state == "aborted"
        assert timeline.events[-1].summary.startswith("aborted: slo-inconclusive")

        # terminal: later rounds (even past every soak) write nothing
        mark = m.story.log_mark()
        m.story.reconcile(canary_at + 40 * M, prometheus=client)
        m.story.reconcile(canary_at + 200 * M, prometheus=client)
        assert m.story.writes_since(mark) == []


def test_a_rollback_still_reverts_an_unsure_stage_before_the_abort(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    """`/train rollback` while the stage holds (before `inconclusive_after`) reverts."""
    m = _no_data_train(sandbox)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        canary_at = m.merged_at + 10 * M
        m.story.reconcile(canary_at, prometheus=client)
        m.story.reconcile(canary_at + 5 * M, prometheus=client)
        m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
        assert m.story.reconcile(canary_at + 6 * M, prometheus=client).problems == ()
        assert m.record()["state"] == "rolled_back"
        assert len([b for _, b in m.main_log() if b.startswith("revert ")]) == 2
