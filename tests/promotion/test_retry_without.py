"""After a revert: the incident ranks suspects, and `/train retry without #N` opens one
revert PR of #N on the base, labelled for an emergency train that ships the rest."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.retry_story import Three, three_pr_train

M = timedelta(minutes=1)


def _rolled_back(sandbox: Any) -> Three:
    t = three_pr_train(sandbox)
    m = t.merged
    m.story.reconcile(m.merged_at)  # staging committed
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    assert m.record()["state"] == "rolled_back"
    return t


def _pulls(t: Three, head: str) -> list[dict[str, Any]]:
    path = f"/repos/{REPO}/pulls?state=all&per_page=100"
    return [
        p for p in t.merged.kit.call("GET", path, as_user="rm-dave") if p["head"]["ref"] == head
    ]


def _replies(t: Three, issue: int) -> list[str]:
    bodies = [c["body"] for c in t.merged.story.comments(issue)]
    return [b for b in bodies if "/train retry" in b and "release-train:key=reply:" in b]


def test_retry_without_one_pr_opens_one_revert_pr_labelled_for_an_emergency_train(sandbox) -> None:  # type: ignore[no-untyped-def]
    t = _rolled_back(sandbox)
    m = t.merged
    head = f"release-train/retry-{m.train_id}"
    m.kit.comment(REPO, m.train_pr, "rm-dave", f"/train retry without #{t.web}")
    planned = m.story.reconcile(m.merged_at + 3 * M, dry_run=True)
    wanted = f"promotion: open the revert PR {head} -> main"
    assert any(a.startswith(wanted) for a in planned.actions_planned)
    assert _pulls(t, head) == []  # a plan writes nothing
    assert m.story.reconcile(m.merged_at + 3 * M).problems == ()
    (pr,) = _pulls(t, head)
    assert pr["base"]["ref"] == "main" and [x["name"] for x in pr["labels"]] == ["train:emergency"]
    files = m.kit.call("GET", f"/repos/{REPO}/pulls/{pr['number']}/files", as_user="rm-dave")
    assert [(f["filename"], f["status"]) for f in files] == [("src/web/app.py", "removed")]
    (reply,) = _replies(t, m.train_pr)
    assert head in reply and "train:emergency" in reply
    history = [e["event"] for e in m.record()["history"]]
    assert history[-1] == "retry"
    holds = json.loads(sandbox.git.out(REPO, "show", "refs/heads/release-train/ledger:holds.json"))
    assert holds["held"] == []  # released with it: the emergency train may bump them
    # a re-run and a second command open nothing new
    m.kit.comment(REPO, m.train_pr, "rm-dave", f"/train retry without #{t.web}")
    assert m.story.reconcile(m.merged_at + 4 * M).problems == ()
    assert len(_pulls(t, head)) == 1


def test_bad_input_gets_a_clear_reply_and_nothing_else(sandbox) -> None:  # type: ignore[no-untyped-def]
    t = _rolled_back(sandbox)
    m = t.merged
    incident = m.record()["extra"]["promotion"]["incident"]
    asked = [
        ("dev-alice", m.train_pr, f"/train retry without #{t.web}", "needs maintain or admin"),
        ("rm-dave", incident, "/train retry without #999", "#999 did not ride"),
        ("rm-dave", incident, "/train retry #3", "usage: `/train retry without #N"),
    ]
    for i, (who, issue, text, expected) in enumerate(asked):
        m.kit.comment(REPO, issue, who, text)
        assert m.story.reconcile(m.merged_at + (3 + i) * M).problems == ()
        replies = _replies(t, issue)
        assert any(expected in r for r in replies), (expected, replies)
    assert _pulls(t, f"release-train/retry-{m.train_id}") == []
    holds = json.loads(sandbox.git.out(REPO, "show", "refs/heads/release-train/ledger:holds.json"))
    assert sorted(h["service"] for h in holds["held"]) == ["api", "docs", "web"]  # kept
    assert m.record()["history"][-1]["event"] == "rolled-back"


def test_a_train_that_was_not_rolled_back_is_told_so(sandbox) -> None:  # type: ignore[no-untyped-def]
    t = three_pr_train(sandbox)
    m = t.merged
    m.story.reconcile(m.merged_at)  # merged, staging committed: promoting
    m.kit.comment(REPO, m.train_pr, "rm-dave", f"/train retry without #{t.web}")
    assert m.story.reconcile(m.merged_at + 1 * M).problems == ()
    (reply,) = _replies(t, m.train_pr)
    assert "does nothing while" in reply and m.record()["state"] in ("merged", "promoting")
    assert _pulls(t, f"release-train/retry-{m.train_id}") == []
