"""`release-train doctor` against the sandbox: per stage direct / needs pull-request mode /
cannot be written, missing permissions named, exit 1 when a train could not complete."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO, new_story, start_time
from promotion.promotion_story import config

from bot.cli import main
from bot.sandbox.rules import state

PR_RULE = {"type": "pull_request", "parameters": {"required_approving_review_count": 2}}


def _doctor(sandbox: Any, monkeypatch: Any, capsys: Any, *, token: str = "") -> tuple[int, Any]:
    monkeypatch.setenv("RT_TOKEN", token or sandbox.bot_token())
    args = ["--repo", REPO, "--api-url", sandbox.base_url, "--token-env", "RT_TOKEN", "--json"]
    capsys.readouterr()
    code = main(["doctor", *args])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def story(sandbox: Any) -> Any:
    t0 = start_time() - timedelta(minutes=10)
    return new_story(sandbox, t0, config(t0))


def _ruleset(sandbox: Any, bypass: list[dict[str, Any]] | None = None) -> None:
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["77"] = {
            "name": "protect main", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["refs/heads/main"], "exclude": []}},
            "rules": [PR_RULE], "bypass_actors": bypass or [],
        }  # fmt: skip


def test_no_rules_every_stage_is_direct(
    story: Any, sandbox: Any, monkeypatch: Any, capsys: Any
) -> None:
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert code == 0 and report["ok"] is True, report
    assert [(s["stage"], s["verdict"]) for s in report["stages"]] == [
        ("staging", "direct"), ("canary", "direct"), ("production", "direct")]  # fmt: skip
    assert report["missing_permissions"] == []


def test_a_ruleset_needs_pull_request_mode_then_a_bypass_makes_it_direct(
    story: Any, sandbox: Any, monkeypatch: Any, capsys: Any
) -> None:
    _ruleset(sandbox)
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert code == 1 and report["ok"] is False
    staging = report["stages"][0]
    assert staging["verdict"] == "needs pull-request mode"
    assert staging["reasons"] == [
        'ruleset "protect main": changes must be made through a pull request'
    ]
    assert staging["waits_for"] == ["2 approving review(s)"]
    assert "set `mode: pull_request` on the stage" in staging["problem"]

    text = story.sandbox.git.out(REPO, "show", "main:.github/release-train.yml")
    story.set_config(text.replace("    soak: 10m\n", "    soak: 10m\n    mode: pull_request\n", 1))
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert report["stages"][0]["mode"] == "pull_request" and report["stages"][0]["problem"] == ""
    assert code == 1  # canary and production still commit directly

    _ruleset(sandbox, [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}])
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert code == 0 and {s["verdict"] for s in report["stages"]} == {"direct"}


def test_push_restrictions_without_the_app_cannot_be_written(
    story: Any, sandbox: Any, monkeypatch: Any, capsys: Any
) -> None:
    with sandbox.store.transaction():
        state.set_protection(sandbox.store, REPO, "main", {
            "enforce_admins": {"enabled": True},
            "restrictions": {"users": ["rm-dave"], "teams": [], "apps": []},
        })  # fmt: skip
    code, report = _doctor(sandbox, monkeypatch, capsys)  # the App may not read how
    assert report["stages"][0]["verdict"] == "unknown"
    assert "`administration: read`" in report["stages"][0]["reasons"][0]
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["permissions"]["administration"] = "read"
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert code == 1
    assert report["stages"][0]["verdict"] == "cannot be written"
    assert "bypass list" in report["stages"][0]["problem"]


def test_missing_permissions_and_a_personal_token_are_named(
    story: Any, sandbox: Any, monkeypatch: Any, capsys: Any
) -> None:
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["permissions"].pop("security_events")
    code, report = _doctor(sandbox, monkeypatch, capsys)
    assert code == 1
    assert report["missing_permissions"] == [
        "security_events: read (the security gate reads code scanning)"
    ]
    code, report = _doctor(sandbox, monkeypatch, capsys, token=sandbox.token("rm-dave"))
    assert report["token"] == "personal access token"
    assert any(m.startswith("checks: write") for m in report["missing_permissions"])
    assert code == 1


def test_text_output_and_usage(story: Any, sandbox: Any, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("RT_TOKEN", sandbox.bot_token())
    args = ["--repo", REPO, "--api-url", sandbox.base_url, "--token-env", "RT_TOKEN"]
    assert main(["doctor", *args]) == 0
    out = capsys.readouterr().out
    assert "staging" in out and "ok: a train can complete" in out
    assert main(["doctor", "--repo", "nope", "--api-url", sandbox.base_url,
                 "--token-env", "RT_TOKEN"]) == 2  # fmt: skip
