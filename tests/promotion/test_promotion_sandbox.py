"""The real bot promotes a merged train through staging, canary and two production waves
against the sandbox over HTTP: one commit per step, soak, deployments, holds, a concurrent
push to the base branch, idempotence, bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import MANIFESTS, STEPS, merged_train

from bot.adapters.github import GitHubClient
from bot.core.holds import HOLDS_PATH
from bot.core.ledger import parse_commit_message
from bot.shell.reconcile import reconcile

M = timedelta(minutes=1)

# the GitOps repository accepts trains from the app repository (two-party consent)
CONSENT = {".github/release-train.yml": f"version: 1\naccept_from: [{REPO}]\n"}


def _diff_lines(sandbox: Any, sha: str) -> list[str]:
    out = sandbox.git.out(REPO, "show", "--format=", "--unified=0", sha)
    return [
        line
        for line in out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)


def _ledger_events(story: Any) -> list[tuple[str, dict[str, list[str]]]]:
    out = []
    for entry in reversed(story.ledger_log()):
        event, _, trailers = parse_commit_message(entry.split("\x00", 1)[1])
        found: dict[str, list[str]] = {}
        for key, value in trailers:
            found.setdefault(key, []).append(value)
        out.append((event, found))
    return out


def test_promotes_through_stages_and_waves_with_soak_deployments_and_holds(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    story, kit = m.story, m.kit
    # `api` is held (by an earlier incident): no train bumps it until released
    holds = {
        "held": [
            {"service": "api", "train": "web-old", "reason": "incident", "since": m.t0.isoformat()}
        ],
        "history": [],
    }
    # recorded as the bot records a hold (a human's push onto the ledger would be ignored)
    with story.client() as client:
        tip = client.ledger_tip("release-train/ledger")
        client.write_ledger("release-train/ledger", tip, {HOLDS_PATH: json.dumps(holds)}, "hold")

    result = story.reconcile(m.merged_at)
    assert result.problems == ()
    record = m.record()
    assert record["state"] == "promoting", record
    promotion = record["extra"]["promotion"]
    assert sorted(promotion["tags"]) == ["web"]  # docs untouched by the PR, api held
    merge_sha = record["merge_sha"]
    assert promotion["tags"]["web"] == merge_sha[:7]
    staging = promotion["steps"][0]
    assert staging["status"] == "soaking" and staging["started"]

    # one commit on main, one changed line, the trailers insights reads
    head_sha, message = m.main_log(1)[0]
    assert staging["commit"] == head_sha
    assert message.startswith(f"promote {m.train_id} to staging")
    assert f"Train-Id: {m.train_id}" in message and "Stage: staging" in message
    assert "Services: web" in message and f"Bump: web 1.0.0 -> {merge_sha[:7]}" in message
    assert _diff_lines(sandbox, head_sha) == [
        "-          image: ghcr.io/acme/web:1.0.0   # bumped by the bot",
        f"+          image: ghcr.io/acme/web:{merge_sha[:7]}   # bumped by the bot",
    ]
    assert '"ghcr.io/acme/api:2.0.0"' in m.main_file("deploy/staging/web.yaml")

    # a deployment for staging at the bump commit, in progress
    (dep,) = m.deployments()
    assert dep["environment"] == "staging" and dep["sha"] == head_sha
    assert dep["payload"]["train"] == m.train_id and dep["payload"]["tags"] == {
        "web": merge_sha[:7]
    }
    assert m.statuses(dep["id"]) == ["in_progress"]

    # soaking: a second reconcile writes nothing at all
    mark = story.log_mark()
    again = story.reconcile(m.merged_at + 5 * M)
    assert again.problems == () and story.writes_since(mark) == []
    assert again.next_due == m.merged_at + 10 * M

    # staging soaked: verdict, completed, canary committed; then the waves, then completed
    times = [m.merged_at + 10 * M, m.merged_at + 40 * M, m.merged_at + 100 * M]
    for at in times:
        assert story.reconcile(at).problems == ()
    assert [s["status"] for s in m.record()["extra"]["promotion"]["steps"]] == [
        "passed",
        "passed",
        "passed",
        "soaking",
    ]
    assert story.reconcile(m.merged_at + 160 * M).problems == ()
    record = m.record()
    assert record["state"] == "completed"

    # four promote commits, each its own step, each one line per file; api never bumped
    promotes = [(sha, body) for sha, body in m.main_log() if body.startswith("promote ")]
    assert [body.split("\n")[0] for _, body in reversed(promotes)] == [
        f"promote {m.train_id} to {step}" for step in STEPS
    ]
    for sha, _ in promotes:
        assert len(_diff_lines(sandbox, sha)) == 2
    # compared as YAML values: a short sha that reads as a number (`3084685`, `1e12345`)
    # is rightly quoted by the updater
    values = _yaml(m.main_file("deploy/production-us/values.yaml"))
    assert values["api"]["image"]["tag"] == "2.0.0"
    assert values["web"]["image"]["tag"] == merge_sha[:7]
    kustomization = _yaml(m.main_file("deploy/canary/kustomization.yaml"))
    assert {i["name"]: i["newTag"] for i in kustomization["images"]}["ghcr.io/acme/web"] == (
        merge_sha[:7]
    )
    assert 'newTag: "' + merge_sha[:7] + '"' in m.main_file("deploy/canary/kustomization.yaml")

    # deployments per step, success as the ledger says
    deployments = {d["environment"]: d for d in m.deployments()}
    assert sorted(deployments) == sorted(STEPS)
    for step in STEPS:
        assert m.statuses(deployments[step]["id"])[0] == "success"

    # the ledger tells the story in the insights vocabulary
    events = _ledger_events(story)
    started = [t for e, t in events if e == "stage-started"]
    assert [t["Stage"][0] for t in started] == list(STEPS)
    assert all(t["Commit"][0] for t in started)
    verdicts = [t["Verdict"][0] for e, t in events if e == "stage-verdict"]
    assert verdicts == ["pass"] * 4
    # each pass: its verdict and the stage's completion in one commit (two Event trailers)
    completed = [t for e, t in events if "stage-completed" in t.get("Event", [])]
    assert [t["Stage"][0] for t in completed] == list(STEPS)
    assert all(t["Event"] == ["stage-verdict", "stage-completed"] for t in completed)
    assert events[-1][0] == "completed"

    # progress on the train PR: a stage table
    body = story.pull(m.train_pr)["body"]
    assert "| stage | commit | started | soak until | verdict |" in body
    for step, (sha, _) in zip(STEPS, reversed(promotes), strict=True):
        assert f"| {step} | {sha[:12]} |" in body
    assert "Held services (not bumped by any train): api" in body

    # and a check run on the merge commit
    path = f"/repos/{REPO}/commits/{merge_sha}/check-runs"
    runs = kit.call("GET", path, as_user="rm-dave")["check_runs"]
    (run,) = [r for r in runs if r["name"] == "release-train/promotion"]
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert "| production-us |" in run["output"]["summary"]

    mark = story.log_mark()
    assert story.reconcile(m.merged_at + 200 * M).actions_done == ()
    assert story.writes_since(mark) == []


class RacingClient(GitHubClient):
    """A real client; the first time it creates a promote commit, a developer pushes to
    main before the bot moves the ref (a real concurrent push through the sandbox)."""

    kit: Any = None
    raced = 0

    def _call(self, method: str, url: str, *, retry: bool = True, **kwargs: Any) -> Any:
        response = super()._call(method, url, retry=retry, **kwargs)
        body = kwargs.get("json") or {}
        promote = str(body.get("message", "")).startswith("promote ")
        if method == "POST" and url.endswith("/git/commits") and promote and not self.raced:
            RacingClient.raced += 1
            self.kit.push(REPO, "main", {"NEWS.md": "racing\n"}, "news", "dev-bob")
        return response


def test_a_concurrent_push_mid_promotion_is_kept_and_the_bump_rebuilt_on_it(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    RacingClient.kit = m.kit
    RacingClient.raced = 0
    with RacingClient(
        REPO,
        sandbox.bot_token(),
        api_url=sandbox.base_url,
        cache=m.story.cache,
        bot_login="release-train[bot]",
    ) as client:
        result = reconcile(REPO, m.merged_at, client=client)
    assert result.problems == ()
    assert RacingClient.raced == 1
    log = m.main_log(3)
    (top_sha, top), (news_sha, news) = log[0], log[1]
    assert top.startswith(f"promote {m.train_id} to staging")
    assert news.startswith("news")
    parents = sandbox.git.out(REPO, "log", "-1", "--format=%P", top_sha).split()
    assert parents == [news_sha]  # rebuilt on the new tip: nobody's commit overwritten
    assert m.main_file("NEWS.md").strip() == "racing"
    assert m.record()["extra"]["promotion"]["steps"][0]["commit"] == top_sha
    assert len(_diff_lines(sandbox, top_sha)) == 4  # web and api, one line each, quotes kept
    assert '"ghcr.io/acme/api:' in m.main_file("deploy/staging/web.yaml")


def test_bad_input_fails_the_stage_with_path_and_reason_and_writes_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    broken = "web:\n  image: [unclosed\n"
    m.kit.push(REPO, "main", {"deploy/staging/web.yaml": broken}, "oops", "dev-bob")
    result = m.story.reconcile(m.merged_at)
    assert result.problems == ()
    assert not [b for _, b in m.main_log() if b.startswith("promote ")]  # nothing half-written
    record = m.record()
    error = record["extra"]["promotion"]["error"]
    assert "deploy/staging/web.yaml" in error and record["state"] == "merged"
    comments = [c["body"] for c in m.story.comments(m.train_pr) if "Promotion of" in c["body"]]
    assert len(comments) == 1 and "deploy/staging/web.yaml" in comments[0]
    assert "Promotion stopped" in m.story.pull(m.train_pr)["body"]
    events = [e for e, _ in _ledger_events(m.story)]
    assert events[-1] == "stage-failed"
    mark = m.story.log_mark()
    m.story.reconcile(m.merged_at + 30 * M)
    assert m.story.writes_since(mark) == []


def test_a_glob_that_matches_nothing_fails_the_stage(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.kit.push(REPO, "main", {"deploy/staging/web.yaml": None}, "remove", "dev-bob")
    m.story.reconcile(m.merged_at)
    error = m.record()["extra"]["promotion"]["error"]
    assert "deploy/staging/*.yaml" in error and "matches no file" in error


def test_promote_command_skips_the_rest_of_a_soak(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train promote")
    m.story.reconcile(m.merged_at + 2 * M)
    steps = m.record()["extra"]["promotion"]["steps"]
    assert steps[0]["status"] == "passed" and steps[0]["skipped_by"] == "rm-dave"
    assert steps[1]["status"] == "soaking"  # canary soaks in full: a skip is for one soak
    m.story.reconcile(m.merged_at + 10 * M)
    assert m.record()["extra"]["promotion"]["steps"][1]["status"] == "soaking"


MANIFESTS_STAGING = MANIFESTS["deploy/staging/web.yaml"]


def test_a_stage_in_a_separate_gitops_repository(sandbox) -> None:  # type: ignore[no-untyped-def]
    gitops = "acme/gitops"
    sandbox.scenario.create_repo(
        gitops, {"clusters/staging/web.yaml": MANIFESTS_STAGING, **CONSENT}
    )
    sandbox.scenario.install_bot(gitops)

    def to_gitops(text: str) -> str:
        old = '  - name: staging\n    manifests: ["deploy/staging/*.yaml"]\n'
        new = (
            f'  - name: staging\n    repository: {gitops}\n    manifests: ["clusters/staging/*"]\n'
        )
        assert old in text
        return text.replace(old, new)

    # the same path in the app repository: promotion leaves it untouched
    same = {"clusters/staging/web.yaml": MANIFESTS_STAGING}
    m = merged_train(sandbox, edit_config=to_gitops, extra=same)
    assert m.story.reconcile(m.merged_at).problems == ()
    step = m.record()["extra"]["promotion"]["steps"][0]
    assert step["status"] == "soaking"
    log = sandbox.git.out(gitops, "log", "-1", "--format=%H%x00%B", "main").split("\x00")
    assert log[0] == step["commit"] and log[1].startswith(f"promote {m.train_id} to staging")
    text = sandbox.git.out(gitops, "show", "main:clusters/staging/web.yaml")
    assert "ghcr.io/acme/web:1.0.0" not in text
    assert not [b for _, b in m.main_log() if b.startswith("promote ")]  # app repo untouched
    assert "ghcr.io/acme/web:1.0.0" in m.main_file("clusters/staging/web.yaml")
    deployments = m.kit.call("GET", f"/repos/{gitops}/deployments", as_user="rm-dave")
    assert [d["environment"] for d in deployments] == ["staging"]


def test_a_stage_in_pull_request_mode_goes_through_a_merged_pull_request(sandbox) -> None:  # type: ignore[no-untyped-def]
    def canary_by_pr(text: str) -> str:
        old = '  - name: canary\n    manifests: ["deploy/canary/*"]\n'
        assert old in text
        return text.replace(old, old + "    mode: pull_request\n")

    m = merged_train(sandbox, edit_config=canary_by_pr)
    m.story.reconcile(m.merged_at)
    assert m.story.reconcile(m.merged_at + 10 * M).problems == ()
    canary = m.record()["extra"]["promotion"]["steps"][1]
    assert canary["status"] == "soaking"
    message = sandbox.git.out(REPO, "log", "-1", "--format=%B", canary["commit"])
    assert message.startswith(f"promote {m.train_id} to canary")
    assert f"Train-Id: {m.train_id}" in message and "Stage: canary" in message
    parents = sandbox.git.out(REPO, "log", "-1", "--format=%P", canary["commit"]).split()
    assert len(parents) == 2  # the merge of the bot's pull request
    pulls = m.kit.call("GET", f"/repos/{REPO}/pulls?state=closed", as_user="rm-dave")
    head = f"release-train/promote/{m.train_id}/canary"
    (pr,) = [p for p in pulls if p["head"]["ref"] == head]
    assert m.story.pull(pr["number"])["merged"] is True
    assert "newTag: " in m.main_file("deploy/canary/kustomization.yaml")
    assert '"1.0.0"' not in m.main_file("deploy/canary/kustomization.yaml")
    mark = m.story.log_mark()
    m.story.reconcile(m.merged_at + 12 * M)
    assert m.story.writes_since(mark) == []


def _manifests_gate_files(m: Any) -> list[str]:
    head = m.story.pull(m.train_pr)["head"]["sha"]
    path = f"/repos/{REPO}/commits/{head}/check-runs"
    runs = m.kit.call("GET", path, as_user="rm-dave")["check_runs"]
    (run,) = [r for r in runs if r["name"] == "release-train/manifests"]
    rows = run["output"]["summary"].splitlines()
    return [r.split("|")[1].strip() for r in rows if r.startswith("| ") and "/" in r]


@pytest.mark.parametrize(
    ("staging_repo", "checked"),
    [("acme/gitops", "deploy/canary/kustomization.yaml"), (REPO, "clusters/staging/web.yaml")],
    ids=["gitops-repository", "this-repository-named"],
)
def test_the_manifests_gate_reads_this_repositorys_stages_not_a_gitops_one(
    sandbox: Any, staging_repo: str, checked: str
) -> None:
    """Staging lives in a separate GitOps repository: the gate checks the first step in the
    app repository (canary), never staging's paths in the app repository. A stage naming
    the app repository itself is this repository's."""
    gitops = "acme/gitops"
    sandbox.scenario.create_repo(
        gitops, {"clusters/staging/web.yaml": MANIFESTS_STAGING, **CONSENT}
    )
    sandbox.scenario.install_bot(gitops)

    def staging_in(text: str) -> str:
        old = '  - name: staging\n    manifests: ["deploy/staging/*.yaml"]\n'
        new = f"  - name: staging\n    repository: {staging_repo}\n"
        new += '    manifests: ["clusters/staging/*"]\n'
        assert old in text
        return text.replace(old, new)

    same = {"clusters/staging/web.yaml": MANIFESTS_STAGING}
    m = merged_train(sandbox, edit_config=staging_in, extra=same)
    assert _manifests_gate_files(m) == [checked]
