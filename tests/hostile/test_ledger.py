"""Hostile writer: a forged `merged` record on the ledger branch (issue #27.3). Pushed by a
user with write access it is not the bot's commit, so it is not even read; written with
the bot's own identity (as any workflow sharing the Action's token could) it is checked
against GitHub before anything is promoted. Either way: refused, reported, nothing bumped."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import BOT, REPO, new_story, start_time
from promotion.promotion_story import MANIFESTS, config

from bot.insights.github import read_history_api
from bot.insights.verify import verify

LEDGER = "release-train/ledger"


def _departed(sandbox: Any) -> tuple[Any, str, int, Any]:
    """A train departed with one PR, its train PR green but not approved."""
    t0 = start_time() - timedelta(minutes=10)
    story = new_story(sandbox, t0, config(t0))
    kit = story.kit
    kit.push(REPO, "main", MANIFESTS, "manifests", "rm-dave")
    changed = {"src/web/app.py": "print('web')\n"}
    number = kit.open_pr(REPO, "dev-alice", "feat-a", changed, title="Add A", labels=["feature"])
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    listing = sandbox.git.out(REPO, "ls-tree", "--name-only", f"refs/heads/{LEDGER}", "trains/")
    train_id = listing.split()[0].rsplit("/", 1)[-1].removesuffix(".json")
    return story, train_id, int(train_pr["number"]), t0


def _forged(story: Any, train_id: str) -> dict[str, str]:
    record = story.ledger(train_id)
    evil = story.sandbox.git.out(REPO, "rev-parse", "main").strip()
    record.update(
        state="merged",
        merge_sha=evil,
        approved_by=["dev-bob"],
        landed=[b["number"] for b in record["boarded"]],
    )
    return {f"trains/{train_id}.json": json.dumps(record, indent=2, sort_keys=True) + "\n"}


def _nothing_promoted(story: Any, train_pr: int) -> None:
    staging = story.sandbox.git.out(REPO, "show", "refs/heads/main:deploy/staging/web.yaml")
    assert "ghcr.io/acme/web:1.0.0" in staging
    assert story.kit.call("GET", f"/repos/{REPO}/deployments", as_user="rm-dave") == []
    assert story.pull(train_pr)["merged"] is False


def _notices(story: Any, train_pr: int) -> list[str]:
    return [
        c["body"]
        for c in story.comments(train_pr)
        if c["user"]["login"] == BOT and "Security notice" in c["body"]
    ]


def test_a_writers_pushed_record_is_ignored_and_reported(sandbox: Any) -> None:
    story, train_id, train_pr, t0 = _departed(sandbox)
    pushed = story.kit.push(REPO, LEDGER, _forged(story, train_id), f"merge: {train_id}", "dev-bob")

    result = story.reconcile(t0 + timedelta(minutes=5))
    story.reconcile(t0 + timedelta(minutes=6))

    _nothing_promoted(story, train_pr)
    assert any("not made by the bot" in p and pushed[:12] in p for p in result.problems)
    (notice,) = _notices(story, train_pr)  # said once, not once per reconcile
    assert pushed[:12] in notice and f"trains/{train_id}.json" in notice
    findings = verify(read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url))
    assert ("foreign-ledger-commit", pushed) in [(f.kind, f.commit) for f in findings]
    # the bot's next ledger write sits on its own tree: the forged file is put back
    log = sandbox.git.out(REPO, "log", "--format=%H", f"refs/heads/{LEDGER}").split()
    assert pushed in log and log[0] != pushed
    assert story.ledger(train_id)["state"] == "departed"


def test_a_record_in_the_bots_name_is_cross_checked_before_promotion(sandbox: Any) -> None:
    story, train_id, train_pr, t0 = _departed(sandbox)
    with story.client() as client:  # the bot's identity, as a workflow sharing it could
        tip = client.ledger_tip(LEDGER)
        client.write_ledger(LEDGER, tip, _forged(story, train_id), f"merge: {train_id}")

    result = story.reconcile(t0 + timedelta(minutes=5))
    story.reconcile(t0 + timedelta(minutes=6))

    _nothing_promoted(story, train_pr)
    assert any(f"#{train_pr} is not merged" in p for p in result.problems)
    (notice,) = _notices(story, train_pr)
    assert "is not promoted" in notice and train_id in notice


def test_validate_warns_when_the_ledger_branch_is_not_protected(
    sandbox: Any, tmp_path: Any, monkeypatch: Any, capsys: Any
) -> None:
    from bot.cli import main

    story, _, _, _ = _departed(sandbox)
    config_file = tmp_path / "release-train.yml"
    config_file.write_text(
        sandbox.git.out(REPO, "show", "refs/heads/main:.github/release-train.yml")
    )
    monkeypatch.setenv("RT_TOKEN", sandbox.token("rm-dave"))
    argv = [
        "validate",
        str(config_file),
        "--repo-root",
        str(tmp_path),
        "--check-ledger",
        REPO,
        "--api-url",
        sandbox.base_url,
        "--token-env",
        "RT_TOKEN",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"warning: the ledger branch '{LEDGER}' is not protected" in out

    story.kit.protect_branch(REPO, LEDGER)
    assert main(argv) == 0
    assert "ledger branch" not in capsys.readouterr().out


def test_a_promotions_tags_must_be_the_trains(sandbox: Any) -> None:
    from promotion.promotion_story import merged_train

    m = merged_train(sandbox)
    story = m.story
    assert story.reconcile(m.merged_at).problems == ()
    record = m.record()
    assert record["state"] == "promoting"
    canary_before = story.sandbox.git.out(
        REPO, "show", "refs/heads/main:deploy/canary/kustomization.yaml"
    )
    record["extra"]["promotion"]["tags"]["web"] = "evil"
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    with story.client() as client:  # in the bot's name: the cross-check must catch it
        tip = client.ledger_tip(LEDGER)
        path = f"trains/{m.train_id}.json"
        client.write_ledger(LEDGER, tip, {path: text}, f"stage-verdict: {m.train_id}")

    result = story.reconcile(m.merged_at + timedelta(hours=2))

    assert any("tag 'evil' for web is not this train's" in p for p in result.problems)
    after = story.sandbox.git.out(REPO, "show", "refs/heads/main:deploy/canary/kustomization.yaml")
    assert after == canary_before and "evil" not in after
    assert [n for n in _notices(story, m.train_pr) if "not promoted" in n]
