"""`release-train plan` and `reconcile` end to end against the sandbox, and bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from lifecycle_sandbox import REPO, board_three, new_story, start_time

from bot.cli import main


def test_plan_prints_numbered_actions_and_writes_nothing(sandbox, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, _, _ = board_three(story)
    monkeypatch.setenv("RT_TOKEN", sandbox.bot_token())
    args = ["--repo", REPO, "--api-url", sandbox.base_url, "--token-env", "RT_TOKEN"]
    mark = story.log_mark()
    assert main(["plan", *args, "--now", t0.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "  1. comment on #" in out and "boarded train" in out
    assert "record create" in out or "record board" in out
    assert story.writes_since(mark) == []

    assert main(["reconcile", *args, "--now", t0.isoformat(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["actions_done"] and report["problems"] == []
    assert any(f"comment on #{a}" in line for line in report["actions_done"])

    later = (t0 + timedelta(seconds=5)).isoformat()
    assert main(["plan", *args, "--now", later]) == 0
    out = capsys.readouterr().out
    assert "nothing to do" in out and "boarding" in out

    # at departure time the plan shows the departure, the train PR it opens, and the step
    # after it (which does not open the train PR again)
    mark = story.log_mark()
    departure = (t0 + timedelta(minutes=2)).isoformat()
    assert main(["plan", *args, "--now", departure]) == 0
    out = capsys.readouterr().out
    assert "create branch release/" in out and f"merge #{a}" in out
    assert "open pull request release/" in out
    assert "then: open pull request" not in out
    assert story.writes_since(mark) == []


def test_missing_token_is_a_usage_error(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    code = main(["reconcile", "--repo", "a/b", "--token-env", "NO_SUCH_TOKEN"])
    assert code == 2
    assert "NO_SUCH_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize("repo", ["nonsense", "/"])
def test_bad_repo_is_a_usage_error(repo: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("T", "x")
    assert main(["plan", "--repo", repo, "--token-env", "T"]) == 2


def test_config_error_stops_the_trains_with_a_comment(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.set_config("version: 1\ntrains:\n  - name: web\n    cadence: every tuesday\n")
    result = story.reconcile(t0 + timedelta(minutes=3))
    assert result.problems and result.actions_done
    notes = [c for c in story.comments(train_pr["number"]) if "configuration" in c["body"]]
    assert len(notes) == 1 and "release-train.yml" in notes[0]["body"]
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=4))  # said once
    assert story.writes_since(mark) == []
    assert story.pull(train_pr["number"])["state"] == "open"


def test_config_error_without_a_train_opens_one_issue(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0, "version: 1\ntrains: []\nsurprise: true\n")
    first = story.reconcile(t0)
    assert first.problems and "open an issue: configuration error" in first.actions_done
    story.reconcile(t0 + timedelta(seconds=1))
    issues = story.kit.call("GET", f"/repos/{REPO}/issues?state=open", as_user="rm-dave")
    titles = [i["title"] for i in issues if "pull_request" not in i]
    assert titles == ["Release train: invalid configuration"]
