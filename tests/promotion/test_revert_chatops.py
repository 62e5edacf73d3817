"""ChatOps on a promoting train: `/train promote <why>` keeps the why (ledger trailer,
record, stage table, reply)."""

from __future__ import annotations

from datetime import timedelta

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import merged_train

from bot.core.ledger import parse_commit_message

M = timedelta(minutes=1)


def test_promote_with_a_reason_records_and_shows_it(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    why = "hotfix for INC-42, staging checked by hand"
    m.kit.comment(REPO, m.train_pr, "rm-dave", f"/train promote {why}")
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    record = m.record()
    staging = record["extra"]["promotion"]["steps"][0]
    assert staging["status"] == "passed" and staging["skipped_by"] == "rm-dave"
    assert staging["skip_reason"] == why
    assert "promote_reason" not in record["extra"]  # used once: the next soak runs in full
    assert ("promote-requested", "rm-dave", why) in [
        (e["event"], e["actor"], e["detail"]) for e in record["history"]
    ]

    verdicts = []
    for entry in m.story.ledger_log():
        event, _, trailers = parse_commit_message(entry.split("\x00", 1)[1])
        if event == "stage-verdict":
            verdicts.append(dict(trailers))
    (skipped,) = [t for t in verdicts if "Skipped-By" in t]
    assert skipped["Skipped-By"] == "rm-dave" and skipped["Reason"] == why

    body = m.story.pull(m.train_pr)["body"]
    assert f"| pass (soak skipped by @rm-dave: {why}) |" in body
    replies = [c["body"] for c in m.story.comments(m.train_pr) if "promotion of" in c["body"]]
    assert len(replies) == 1 and why in replies[0]

    # the next stage soaks in full, and its pass carries no reason
    m.story.reconcile(m.merged_at + 45 * M)
    canary = m.record()["extra"]["promotion"]["steps"][1]
    assert canary["status"] == "passed" and canary["skipped_by"] == "" == canary["skip_reason"]
