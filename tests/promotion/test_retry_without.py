"""After a revert: the incident ranks suspects, and `/train retry without #N` opens one
revert PR of #N on the base, labelled for an emergency train that ships the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.retry_story import Three, three_pr_train
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient
from bot.core.retry_actions import OpenRetryPR
from bot.shell.retry_io import perform_retry

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
    # performed again (a crash before the ledger write): the PR is adopted by its head
    again = OpenRetryPR(m.train_id, head, "main", "Revert", "", (("src/web/app.py", ""),), "x")
    with m.story.client() as client:
        assert perform_retry(client, again) == pr["number"]
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


def test_the_emergency_train_ships_the_rest_without_the_pr(sandbox) -> None:  # type: ignore[no-untyped-def]
    t = _rolled_back(sandbox)
    m = t.merged
    story, kit = m.story, m.kit
    m.kit.comment(REPO, m.train_pr, "rm-dave", f"/train retry without #{t.web}")
    at = m.merged_at + 3 * M
    assert story.reconcile(at).problems == ()
    (pr,) = _pulls(t, f"release-train/retry-{m.train_id}")
    for who in ("rev-carol", "rm-dave"):  # an emergency train asks two approvals
        kit.review(REPO, pr["number"], who, "APPROVE")
    story.green(pr["head"]["sha"])
    for _ in range(3):
        at += M
        assert story.reconcile(at).problems == ()
    train_pr = story.open_train_pr()
    assert str(train_pr["number"]) != str(m.train_pr)
    story.green(train_pr["head"]["sha"])
    for who in ("rev-carol", "rm-dave"):
        kit.review(REPO, train_pr["number"], who, "APPROVE")
    states = []
    for minutes in (1, 2, 13, 45, 110, 175, 240):
        assert story.reconcile(at + minutes * M).problems == ()
        emergency = [tid for tid in _train_ids(sandbox) if tid != m.train_id]
        states.append(story.ledger(emergency[0])["state"])
    assert states[-1] == "completed", states
    record = story.ledger(emergency[0])
    assert record["emergency"] and [b["number"] for b in record["boarded"]] == [pr["number"]]
    # it promotes every service the rolled-back train carried, not only the revert's
    assert sorted(record["extra"]["promotion"]["tags"]) == ["api", "docs", "web"]
    # the base has the other PRs' changes and not #web's
    listing = sandbox.git.out(REPO, "ls-tree", "-r", "--name-only", "main").split()
    assert "src/web/app.py" not in listing
    assert "docs/guide.md" in listing and "src/api/app.py" in listing
    assert "ghcr.io/acme/web:1.0.0" not in m.main_file("deploy/staging/web.yaml")


def _train_ids(sandbox: Any) -> list[str]:
    listing = sandbox.git.out(
        REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    )
    return [line.rsplit("/", 1)[-1].removesuffix(".json") for line in listing.split()]


def test_a_breach_ranks_the_pr_touching_the_breaching_service_first(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    t = three_pr_train(sandbox, canary_slos=True, t0=t0)
    m = t.merged
    _push_canary(prometheus, "web", 0.5, datetime.now(UTC))
    _push_canary(prometheus, "api", 0.0005, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        m.story.reconcile(m.merged_at + 10 * M, prometheus=client)  # canary starts
        assert m.story.reconcile(m.merged_at + 16 * M, prometheus=client).problems == ()
    assert m.record()["state"] == "rolled_back"
    number = m.record()["extra"]["promotion"]["incident"]
    body = m.kit.call("GET", f"/repos/{REPO}/issues/{number}", as_user="rm-dave")["body"]
    rows = [line for line in body.split("### Suspects", 1)[1].splitlines() if line[:4] == "| 1 "]
    rows += [line for line in body.splitlines() if line.startswith(("| 2 ", "| 3 "))]
    # #web changed one line of the breaching service; #docs is larger, #api smaller
    assert [r.split(" | ")[1].split()[0] for r in rows] == [f"#{t.web}", f"#{t.docs}", f"#{t.api}"]
    assert "`web`" in rows[0] and "| 60 |" in rows[1]
    assert f"`/train retry without #{t.web}` here or on the train PR" in body


def _push_canary(prometheus: Any, service: str, error_fraction: float, end: datetime) -> None:
    stop = end.timestamp()
    labels = {"service": service, "stage": "canary"}
    prometheus.push(
        requests(labels, stop - 3 * 3600, stop, rps=const(10), error_fraction=const(error_fraction))
    )
