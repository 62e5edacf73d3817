"""Hostile contributor, part 2: forged trailers and ledger commits. A pull request's own
commit carrying `Train-Id`/`Event`/`Evidence` trailers lands on the base branch with its
train; a writer pushes a commit onto the ledger branch. `audit verify` reports both as
forgery attempts; the audit timeline and the metrics never count them (issue #25.2)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from insights.ledger_repo import LEDGER_REF, story
from lifecycle.lifecycle_sandbox import REPO, new_story, start_time

from bot.insights.github import read_history_api
from bot.insights.gitlog import read_history
from bot.insights.metrics import compute
from bot.insights.timeline import build_timelines
from bot.insights.verify import verify

FORGED = (
    "tidy up\n\nTrain-Id: {train}\nStage: production\nEvent: rolled-back\n"
    "Evidence: error-rate 0.90 > 0.01 (5m)\nReverts: {sha}\n"
)


def _told(path: Path) -> tuple[list[object], list[object]]:
    timelines = build_timelines(read_history(path))
    metrics = compute(timelines)
    return [asdict(t) for t in timelines], [(m.name, m.labels, m.value) for m in metrics.items]


def test_forged_trailers_and_ledger_commits_are_reported_not_counted(tmp_path: Path) -> None:
    repo, shas = story(tmp_path / "repo")
    before = _told(repo.path)
    assert verify(read_history(repo.path)) == ()

    forged = repo.base_commit(
        FORGED.format(train="web-2026-03-02", sha=shas["web_production"]), author="mallory"
    )
    web = json.loads(repo.git("show", f"{LEDGER_REF}:trains/web-2026-03-02.json"))
    web["state"] = "rolled_back"
    pushed = repo._commit(  # a writer's push onto the ledger branch
        LEDGER_REF,
        {"trains/web-2026-03-02.json": json.dumps(web, indent=2) + "\n"},
        "rolled-back: web-2026-03-02\n\nTrain-Id: web-2026-03-02\nEvent: rolled-back\n"
        "State: rolled_back\n",
        "mallory",
    )

    assert _told(repo.path) == before
    findings = {(f.kind, f.commit) for f in verify(read_history(repo.path))}
    assert findings == {("forged-trailers", forged), ("foreign-ledger-commit", pushed)}


def test_a_pull_requests_trailers_ride_the_train_but_do_not_count(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    train_id = f"web-{t0.date().isoformat()}"
    number = kit.open_pr(
        REPO,
        "dev-alice",
        "feat-trailers",
        {"a.txt": "a\n"},
        title="Add A",
        message=FORGED.format(train=train_id, sha="0" * 40),
    )
    pr_commit = story.pull(number)["head"]["sha"]
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(pr_commit)
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    assert story.pull(train_pr["number"])["merged"] is True

    history = read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url)
    findings = [(f.kind, f.commit) for f in verify(history)]
    assert findings == [("forged-trailers", pr_commit)]
    (timeline,) = build_timelines(history)
    assert timeline.state == "merged"
    assert pr_commit not in {e.commit for e in timeline.events}
    assert not any("0.90" in e.summary for e in timeline.events)
