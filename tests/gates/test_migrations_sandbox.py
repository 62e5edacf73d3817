"""The migrations gate in the real reconcile against the sandbox: a train carrying a Rails
migration waits for the `acme/dba` team's approval, then for the migration window, and
merges inside it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, config_text, start_time

from bot.adapters.github import ResponseCache

MIGRATION = "db/migrate/20261102_add_sku.rb"


def gate_run(story: Story, sha: str) -> dict[str, Any]:
    out = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    runs = [r for r in out["check_runs"] if r["name"] == "release-train/migrations"]
    return dict(max(runs, key=lambda r: r["id"]))


def test_a_migration_train_waits_for_its_approver_and_its_window(sandbox: Any) -> None:
    t0 = start_time()
    opens = t0 + timedelta(hours=3)
    gates = (
        "gates:\n  migrations:\n    approvers: acme/dba\n    windows:\n"
        f'      - cron: "{opens.minute} {opens.hour} * * *"\n        duration: 1h\n'
    )
    sandbox.scenario.create_repo(
        REPO, {".github/release-train.yml": config_text(t0).replace("gates:\n", gates, 1)}
    )
    sandbox.scenario.install_bot(REPO)
    sandbox.scenario.add_user("dba-erin", {REPO: "write"}, teams=["acme/dba"])
    story = Story(sandbox, ResponseCache())
    number = story.kit.open_pr(REPO, "dev-alice", "sku", {MIGRATION: "class AddSku; end\n"})
    story.kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    story.kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    sha = train_pr["head"]["sha"]
    story.green(sha)
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=3))
    waiting = gate_run(story, sha)
    assert waiting["conclusion"] == "action_required", waiting["output"]
    assert "waiting for migration approvers" in waiting["output"]["title"]
    assert MIGRATION in waiting["output"]["summary"]

    story.approve(train_pr["number"], "dba-erin", t0 + timedelta(minutes=4))
    story.reconcile(t0 + timedelta(minutes=5))
    closed = gate_run(story, sha)
    assert closed["status"] == "in_progress", closed
    assert "closed; opens" in closed["output"]["title"]
    assert story.pull(train_pr["number"])["merged"] is False

    story.reconcile(opens + timedelta(minutes=5))
    assert gate_run(story, sha)["conclusion"] == "success"
    assert story.pull(train_pr["number"])["merged"] is True
