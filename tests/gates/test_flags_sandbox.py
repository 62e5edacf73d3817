"""The flags gate in the real reconcile against the sandbox: a train whose PRs add an
expired flag, an ownerless one and one switched on for everyone, and remove an old one,
gets a `release-train/flags` check run that fails and lists every touched flag."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, config_text, start_time

from bot.adapters.github import ResponseCache

GATES = "gates:\n  flags:\n    files: [flags/*.flagd.json]\n    on_expired: fail\n"

FLAGS = "flags/shop.flagd.json"


def flag(on: bool = False, **meta: str) -> dict[str, Any]:
    return {"state": "ENABLED", "variants": {"on": True, "off": False},
            "defaultVariant": "on" if on else "off", "metadata": meta}  # fmt: skip


def flag_file(**flags: dict[str, Any]) -> str:
    return json.dumps({"flags": flags}, indent=2) + "\n"


def test_the_train_pr_carries_a_flags_check_run(sandbox: Any) -> None:
    t0 = start_time()
    base = flag_file(old=flag(owner="shop", expires="2026-01-01"), kept=flag(owner="shop"))
    config = config_text(t0).replace("gates:\n", GATES, 1)
    sandbox.scenario.create_repo(
        REPO,
        {".github/release-train.yml": config, FLAGS: base, "app.txt": "one\n"},
    )
    sandbox.scenario.install_bot(REPO)
    story = Story(sandbox, ResponseCache())
    head = flag_file(
        kept=flag(owner="shop"),
        stale=flag(owner="shop", expires="2000-01-01"),
        orphan=flag(expires="2099-01-01"),
        launch=flag(on=True, owner="shop", expires="2099-01-01"),
    )
    number = story.kit.open_pr(REPO, "dev-alice", "flags", {FLAGS: head}, title="Flags")
    story.kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    story.kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    # main moves on after departure: a flag added there is not this train's to judge
    moved = flag_file(old=flag(owner="shop", expires="2026-01-01"), kept=flag(owner="shop"),
                      hotfix=flag(owner="ops", expires="2099-01-01"))  # fmt: skip
    story.kit.push(REPO, "main", {FLAGS: moved}, "Hotfix flag", "rm-dave")
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=3))
    sha = train_pr["head"]["sha"]
    out = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    runs = [r for r in out["check_runs"] if r["name"] == "release-train/flags"]
    gate = max(runs, key=lambda r: r["id"])
    assert gate["conclusion"] == "failure", gate["output"]
    text = gate["output"]["summary"]
    assert "| stale |" in text and "expired on 2000-01-01" in text
    assert "flag `orphan`: has no owner" in text
    assert "| launch |" in text and "already on for everyone" in text
    assert "| old |" in text and "credited (removed)" in text
    assert "| kept |" not in text and "hotfix" not in text
    assert story.pull(train_pr["number"])["merged"] is False
