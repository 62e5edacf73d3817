"""SLO judgement during the soak against a real Prometheus, and the revert: a canary
breach reverts every bump newest first with evidence, opens the incident, holds the
services; no data and Prometheus down hold the stage, never promote and never revert;
`/train rollback` takes the same path by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train
from slo.prometheus_ports import closed_port
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient
from bot.core.ledger import parse_commit_message

M = timedelta(minutes=1)


def _story_start() -> datetime:
    """Forty minutes before the real clock: canary starts in Prometheus' recent past."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M


def _push_canary(prometheus: Any, service: str, error_fraction: float, end: datetime) -> None:
    stop = end.timestamp()
    labels = {"service": service, "stage": "canary"}
    prometheus.push(
        requests(labels, stop - 3 * 3600, stop, rps=const(10), error_fraction=const(error_fraction))
    )


def _to_canary(m: Merged, client: Any) -> datetime:
    """Merge, promote to staging, soak it: canary is committed; when it started."""
    m.story.reconcile(m.merged_at, prometheus=client)
    canary_at = m.merged_at + 10 * M
    m.story.reconcile(canary_at, prometheus=client)
    steps = m.record()["extra"]["promotion"]["steps"]
    assert [s["status"] for s in steps[:2]] == ["passed", "soaking"]
    return canary_at


def _incidents(m: Merged) -> list[dict[str, Any]]:
    issues = m.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    return [i for i in issues if "pull_request" not in i and "rolled back" in i["title"]]


def test_a_canary_breach_reverts_with_evidence_incident_and_holds(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_story_start())
    # Half the requests fail: six minutes into the soak that has used the fast rule's budget
    # share (51.8 s of full outage, docs/slo.md), so the breach is judged at once.
    _push_canary(prometheus, "web", 0.5, datetime.now(UTC))
    _push_canary(prometheus, "api", 0.0005, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        canary_at = _to_canary(m, client)
        promoted = m.record()["extra"]["promotion"]["steps"]
        result = m.story.reconcile(canary_at + 6 * M, prometheus=client)
        assert result.problems == ()
        record = m.record()
        assert record["state"] == "rolled_back"

        # the reverse of every bump, newest step first, each with Reverts and Evidence
        reverts = [(s, b) for s, b in m.main_log() if b.startswith("revert ")]
        assert [b.split("\n")[0] for _, b in reverts] == [
            f"revert {m.train_id} staging",
            f"revert {m.train_id} canary",
        ]  # git log is newest first: canary was reverted first
        by_stage = {b.split("\n")[0].rsplit(" ", 1)[1]: b for _, b in reverts}
        assert f"Reverts: {promoted[1]['commit']}" in by_stage["canary"]
        assert f"Reverts: {promoted[0]['commit']}" in by_stage["staging"]
        for body in by_stage.values():
            assert f"Train-Id: {m.train_id}" in body
            evidence = [line for line in body.splitlines() if line.startswith("Evidence: ")]
            assert evidence and evidence[0].startswith("Evidence: availability ")
            assert " > " in evidence[0] and evidence[0].endswith(")")
        assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
        assert 'newTag: "1.0.0"' in m.main_file("deploy/canary/kustomization.yaml")

        # services held, incident issue with the evidence table, comment on the train PR
        holds = json.loads(
            sandbox.git.out(REPO, "show", "refs/heads/release-train/ledger:holds.json")
        )
        assert sorted(h["service"] for h in holds["held"]) == ["api", "web"]
        (incident,) = _incidents(m)
        assert {label["name"] for label in incident["labels"]} == {"incident", "sev2"}
        assert [a["login"] for a in incident["assignees"]] == ["rm-dave"]
        assert "| availability | canary | web | fail |" in incident["body"]
        assert f"#{m.train_pr}" in incident["body"] and "/graph?g0.expr=" in incident["body"]
        assert record["extra"]["promotion"]["incident"] == incident["number"]
        comments = [c["body"] for c in m.story.comments(m.train_pr) if "rolled back" in c["body"]]
        assert len(comments) == 1 and f"#{incident['number']}" in comments[0]

        # deployments: canary failure, staging inactive
        deployments = {d["environment"]: d["id"] for d in m.deployments()}
        assert m.statuses(deployments["canary"])[0] == "failure"
        assert m.statuses(deployments["staging"])[0] == "inactive"

        # the ledger: a fail verdict, then rolled-back with incident and commits
        events = []
        for entry in m.story.ledger_log():
            event, _, trailers = parse_commit_message(entry.split("\x00", 1)[1])
            events.append((event, trailers))
        event, trailers = events[0]
        assert event == "rolled-back"  # the fail verdict rides along as an Event trailer
        assert [v for k, v in trailers if k == "Event"] == ["rolled-back", "stage-verdict", "held"]
        assert ("Incident", f"#{incident['number']}") in trailers
        assert {v for k, v in trailers if k == "Commit"} == {s for s, _ in reverts}
        assert any(k == "Evidence" for k, _ in trailers)
        # ONE ledger commit for the whole revert: the fail verdict rides on it
        assert ("Stage", "canary") in trailers and ("Verdict", "fail") in trailers
        assert ("Verdict", "fail") not in events[1][1]
        history = [e["event"] for e in record["history"]][-2:]
        assert history == ["stage-verdict", "rolled-back"]

        path = f"/repos/{REPO}/commits/{record['merge_sha']}/check-runs"
        runs = m.kit.call("GET", path, as_user="rm-dave")["check_runs"]
        (run,) = [r for r in runs if r["name"] == "release-train/promotion"]
        assert run["conclusion"] == "failure"

        # the audit reads the canary's fail verdict and the breach from that one commit
        from bot.insights.facts import train_facts
        from bot.insights.gitlog import read_history
        from bot.insights.timeline import build_timelines
        from bot.insights.verify import verify

        history = read_history(sandbox.git.path(REPO), base="main")
        (timeline,) = [t for t in build_timelines(history) if t.train_id == m.train_id]
        facts = train_facts(timeline)
        assert {s.stage: s.verdicts for s in facts.stages}["canary"][-1] == "fail"
        assert facts.breach is not None and facts.rolled_back is not None
        assert [f for f in verify(history) if f.kind == "missing-event"] == []

        # nothing more to do, and nothing written
        mark = m.story.log_mark()
        m.story.reconcile(canary_at + 8 * M, prometheus=client)
        assert m.story.writes_since(mark) == []


def _never_promotes_nor_reverts(m: Merged, client: Any, verdict: str) -> None:
    canary_at = _to_canary(m, client)
    for minutes in (5, 31, 90):
        assert m.story.reconcile(canary_at + minutes * M, prometheus=client).problems == ()
    record = m.record()
    assert record["state"] == "promoting"
    steps = record["extra"]["promotion"]["steps"]
    assert [s["status"] for s in steps] == ["passed", "soaking", "pending", "pending"]
    assert steps[1]["verdict"] == verdict and steps[1]["unsure_since"]
    assert not [b for _, b in m.main_log() if b.startswith("revert ")]
    assert "| canary |" in m.story.pull(m.train_pr)["body"]
    mark = m.story.log_mark()
    m.story.reconcile(canary_at + 95 * M, prometheus=client)
    assert m.story.writes_since(mark) == []


def test_no_data_holds_the_stage_and_never_promotes_nor_reverts(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    files = {"docs/guide.md": "# guide\n"}  # only `docs` rides: no series for it
    m = merged_train(sandbox, canary_slos=True, t0=_story_start(), files=files)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        _never_promotes_nor_reverts(m, client, "inconclusive")


def test_prometheus_down_holds_the_stage_and_never_promotes_nor_reverts(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_story_start())
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as client:
        _never_promotes_nor_reverts(m, client, "error")


def test_rollback_by_hand_reverts_holds_and_opens_the_incident(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    staging = m.record()["extra"]["promotion"]["steps"][0]["commit"]
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back" and "rm-dave" in record["end_reason"]
    (_sha, body), *_ = [(s, b) for s, b in m.main_log() if b.startswith("revert ")]
    assert body.startswith(f"revert {m.train_id} staging") and f"Reverts: {staging}" in body
    assert "Actor: rm-dave" in body
    assert len(_incidents(m)) == 1

    # the hold stays until someone with maintain permission resumes, and that is recorded
    holds_path = "refs/heads/release-train/ledger:holds.json"
    assert json.loads(sandbox.git.out(REPO, "show", holds_path))["held"]
    planned = m.story.reconcile(m.merged_at + 3 * M, dry_run=True).actions_planned
    assert any(p.startswith("promotion: held: api (train ") for p in planned)
    m.kit.comment(REPO, m.train_pr, "dev-alice", "/train resume")
    assert m.story.reconcile(m.merged_at + 3 * M).problems == ()
    assert [h["service"] for h in json.loads(sandbox.git.out(REPO, "show", holds_path))["held"]]
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train resume")
    assert m.story.reconcile(m.merged_at + 4 * M).problems == ()
    holds = json.loads(sandbox.git.out(REPO, "show", holds_path))
    assert holds["held"] == []
    assert sorted(e[2] for e in holds["history"] if e[1] == "released") == ["api", "web"]
    event, _, trailers = parse_commit_message(m.story.ledger_log()[0].split("\x00", 1)[1])
    assert event == "released" and ("Actor", "rm-dave") in trailers
    assert sorted(v for k, v in trailers if k == "Service") == ["api", "web"]
    mark = m.story.log_mark()
    m.story.reconcile(m.merged_at + 5 * M)
    assert m.story.writes_since(mark) == []
    # the audit accepts the holds a revert and a resume wrote beside the train's record
    from bot.insights.gitlog import read_history
    from bot.insights.verify import verify

    history = read_history(sandbox.git.path(REPO), base="main")
    assert [f for f in verify(history) if f.kind == "foreign-file"] == []


def test_unsure_past_inconclusive_after_does_what_the_config_says(sandbox) -> None:  # type: ignore[no-untyped-def]
    def revert_when_unsure(text: str) -> str:
        old = "    objective: 99.9\n"
        assert old in text
        return text.replace(old, old + "    inconclusive_after: 30m\n    on_inconclusive: revert\n")

    m = merged_train(sandbox, canary_slos=True, t0=_story_start(), edit_config=revert_when_unsure)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as client:
        canary_at = _to_canary(m, client)
        held = m.story.reconcile(canary_at + 5 * M, prometheus=client)
        assert m.record()["state"] == "promoting"
        assert held.next_due == canary_at + 30 * M  # the canary's soak ends then too
        m.story.reconcile(canary_at + 36 * M, prometheus=client)
    record = m.record()
    assert record["state"] == "rolled_back"
    assert "unsure past inconclusive_after" in record["end_reason"]
    assert len([b for _, b in m.main_log() if b.startswith("revert ")]) == 2
