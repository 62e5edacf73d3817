"""The same audit through GitHub's REST API (the sandbox over HTTP) and from a plain clone of
the same repository: the real bot's lifecycle writes the ledger, both readers agree."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, board_three, new_story, start_time

from bot.insights.github import read_history_api
from bot.insights.gitlog import read_history
from bot.insights.timeline import LEDGER, build_timelines
from bot.insights.verify import verify


def _merged_train(sandbox: Any) -> str:
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    pr = story.open_train_pr()
    story.green(pr["head"]["sha"])
    story.approve(pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    return str(pr["number"])


def _bare_path(sandbox: Any) -> Path:
    return Path(sandbox.data_dir) / "git" / f"{REPO}.git"


def test_api_and_clone_tell_the_same_story(sandbox: Any, tmp_path: Path) -> None:
    train_pr = _merged_train(sandbox)
    api = read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(_bare_path(sandbox)), str(clone)], check=True)
    local = read_history(clone)

    assert [c.sha for c in api.ledger] == [c.sha for c in local.ledger]
    assert {c.sha for c in api.base} == {c.sha for c in local.base}
    by_api = {t.train_id: t for t in build_timelines(api)}
    by_git = {t.train_id: t for t in build_timelines(local)}
    assert set(by_api) == set(by_git) and len(by_api) == 2
    for train_id, timeline in by_git.items():
        assert [e.kind for e in by_api[train_id].events if e.branch == LEDGER] == [
            e.kind for e in timeline.events if e.branch == LEDGER
        ]
    merged = next(t for t in by_api.values() if t.state == "merged")
    kinds = [e.kind for e in merged.events]
    assert kinds[0] in ("create", "board")
    assert {"depart", "merge", "train-merge"} <= set(kinds)
    depart = next(e for e in merged.events if e.kind == "depart")
    assert "missed #3" in depart.summary and "conflict" in depart.summary
    merge = next(e for e in merged.events if e.kind == "train-merge")
    assert "approved by rm-dave" in merge.summary and merged.record is not None
    assert merged.record.train_pr == int(train_pr)
    assert verify(api) == () and verify(local) == ()


def test_api_verify_sees_a_bump_made_by_hand(sandbox: Any) -> None:
    _merged_train(sandbox)
    message = (
        "promote web-2099-01-01 to production\n\nTrain-Id: web-2099-01-01\nStage: production\n"
    )
    sha = sandbox.scenario.push(
        REPO, "main", {"deploy/web.yaml": "tag: evil\n"}, message, "dev-bob"
    )
    findings = verify(read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url))
    assert [(f.kind, f.commit) for f in findings] == [("forged-trailers", sha)]
    assert "dev-bob" in findings[0].message and "not verified by GitHub" in findings[0].message


def test_cli_audit_over_the_api(sandbox: Any) -> None:
    import json
    import os
    import sys

    _merged_train(sandbox)
    env = {**os.environ, "SANDBOX_TOKEN": sandbox.bot_token()}
    args = ["--repo", REPO, "--api-url", sandbox.base_url, "--token-env", "SANDBOX_TOKEN"]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    states = {t["state"] for t in json.loads(done.stdout)["trains"]}
    assert states == {"merged", "boarding"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stdout + done.stderr


def test_dashboard_over_the_api(sandbox: Any) -> None:
    from flask import Flask

    from bot.insights.dashboard import api_source, dashboard_blueprint

    _merged_train(sandbox)
    app = Flask("api-dashboard")
    source = api_source(REPO, sandbox.bot_token, api_url=sandbox.base_url)
    app.register_blueprint(dashboard_blueprint(source))
    html = app.test_client().get("/").get_data(as_text=True)
    assert "merged" in html and "<svg" in html and "/acme/lifeline/pull/" in html
    assert "calendar unavailable" not in html  # the config came through the contents API
    assert "<td>web</td>" in html


def test_hold_and_deadline_abort_by_the_real_bot_verify_clean(sandbox: Any) -> None:
    from lifecycle.lifecycle_sandbox import config_text

    t0 = start_time()
    story = new_story(sandbox, t0, config_text(t0, departed="1h"))
    a, _, _ = board_three(story)
    story.reconcile(t0)
    story.kit.comment(REPO, a, "rm-dave", "/train hold waiting for QA")
    story.reconcile(t0 + timedelta(seconds=5))
    story.kit.comment(REPO, a, "rm-dave", "/train resume")
    story.reconcile(t0 + timedelta(seconds=10))
    story.reconcile(t0 + timedelta(minutes=2))
    story.reconcile(t0 + timedelta(hours=2))  # the departed deadline passes: abort

    history = read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url)
    assert verify(history) == ()
    first = build_timelines(history)[0]
    assert first.state == "aborted"
    hold = next(e for e in first.events if "held" in e.summary)
    assert "waiting for QA" in hold.summary and hold.actor == "rm-dave"
    abort = next(e for e in first.events if e.summary.startswith("aborted"))
    assert "deadline" in abort.summary


def test_api_verify_sees_an_edited_file_at_the_tip(sandbox: Any) -> None:
    import json

    _merged_train(sandbox)
    ledger = "refs/heads/release-train/ledger"
    message = sandbox.git.out(REPO, "log", "-1", "--format=%B", ledger)
    train_id = message.split(": ", 1)[1].split("\n", 1)[0].strip()
    path = f"trains/{train_id}.json"
    record = json.loads(sandbox.git.out(REPO, "show", f"{ledger}:{path}"))
    record["approved_by"] = ["mallory"]
    text = json.dumps(record, sort_keys=True, indent=2) + "\n"
    sha = sandbox.scenario.push(REPO, "release-train/ledger", {path: text}, message, "dev-bob")
    findings = verify(read_history_api(REPO, sandbox.bot_token(), api_url=sandbox.base_url))
    assert ("foreign-ledger-commit", sha) in [(f.kind, f.commit) for f in findings]
    edited = [f for f in findings if f.kind == "edited-file"]
    assert len(edited) == 1 and "mallory" in edited[0].message
