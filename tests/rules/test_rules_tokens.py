"""Tokens meet GitHub's rules: a personal access token cannot write check runs (the Checks
API is App-only), and an installation without `security_events`/`members` is told so —
a configuration problem naming the permission, never a neutral gate or an empty team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time
from promotion.promotion_story import MANIFESTS, config, merged_train

from bot.adapters.github import GitHubClient
from bot.errors import PermissionMissing
from bot.sandbox.rules import state
from bot.shell.reconcile import reconcile
from bot.transports.action import exit_code_of
from bot.transports.result import view

M = timedelta(minutes=1)


def test_a_personal_token_writing_check_runs_is_a_configuration_problem(sandbox: Any) -> None:
    t0 = start_time() - timedelta(minutes=10)
    story = new_story(sandbox, t0, config(t0))
    kit = story.kit
    kit.push(REPO, "main", dict(MANIFESTS), "manifests", "rm-dave")
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"src/web/app.py": "x\n"}, title="A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    state.configure(sandbox.store, checks_apps_only=True)
    token = sandbox.token("rm-dave")
    problems: list[str] = []
    for at in (t0, t0 + 2 * M):
        with GitHubClient(REPO, token, api_url=sandbox.base_url, bot_login="rm-dave") as client:
            result = reconcile(REPO, at, client=client)
        problems += result.problems
    found = [p for p in problems if "Checks API accepts only GitHub App tokens" in p]
    assert found, problems
    assert "give the bot an App token" in found[0]
    assert exit_code_of(view(result), held_fails=True) == 1
    runs = sandbox.store.where("check_runs", repo=REPO)
    assert not [r for r in runs if str(r["name"]).startswith("release-train/")]


def test_a_missing_permission_is_named_from_the_answer(sandbox: Any) -> None:
    merged_train(sandbox)
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["permissions"].pop("members")
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        try:
            client.team_member("acme/reviewers", "rev-carol")
        except PermissionMissing as exc:
            assert (exc.permission, exc.level) == ("members", "read")
            assert "`members: read`" in exc.message and exc.exit_code == 1
        else:
            raise AssertionError("a team read without `members` must not count nobody")


def test_without_security_events_the_gate_is_not_neutral_the_permission_is_named(
    sandbox: Any,
) -> None:
    t0 = start_time() - timedelta(minutes=10)
    story = new_story(sandbox, t0, config(t0))
    kit = story.kit
    kit.push(REPO, "main", dict(MANIFESTS), "manifests", "rm-dave")
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"src/web/app.py": "x\n"}, title="A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["permissions"].pop("security_events")
    problems = [p for at in (t0, t0 + 2 * M) for p in story.reconcile(at).problems]
    named = [p for p in problems if "`security_events: read`" in p]
    assert named, problems
    assert "security-events: read" in named[0]  # the workflow's spelling of the fix
    runs = sandbox.store.where("check_runs", repo=REPO, name="release-train/security")
    assert [r for r in runs if r.get("conclusion") == "neutral"] == []
