"""A rule or a missing permission met DURING promotion: the train stops in a named,
resumable state — one `blocked` ledger commit with `Rule:`/`Fix:` trailers, a line in the
train PR's stage table, nothing of the refused move written — and the next tick after the
rule is lifted goes on. Nothing else is reported as the cause."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.core.ledger import parse_commit_message
from bot.sandbox.rules import state
from bot.transports.action import exit_code_of
from bot.transports.result import view

M = timedelta(minutes=1)
APP = {"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}
NEEDS_PR = {"type": "pull_request", "parameters": {"required_approving_review_count": 0}}


def _ruleset(sandbox: Any, bypass: list[dict[str, Any]] | None = None) -> None:
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["900"] = {
            "name": "main", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [NEEDS_PR], "bypass_actors": bypass or [],
        }  # fmt: skip


def _steps(m: Merged) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in m.record()["extra"]["promotion"]["steps"]}


def _ledger_commits(m: Merged, event: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    out = []
    for entry in m.story.ledger_log():
        message = entry.split("\x00", 1)[-1]
        if message.startswith(f"{event}: "):
            subject, _, trailers = parse_commit_message(message)
            out.append((subject, trailers))
    return out


def _staging_passed(m: Merged) -> None:
    assert m.story.reconcile(m.merged_at).problems == ()
    assert _steps(m)["staging"]["status"] == "soaking"


def _assert_blocked_on_canary(m: Merged, result: Any, *words: str) -> None:
    (problem,) = result.problems
    for word in words:
        assert word in problem
    assert "kept moving" not in problem and "the ref moved" not in problem
    assert exit_code_of(view(result), held_fails=True) == 1  # a configuration problem
    record = m.record()
    assert record["state"] == "promoting"
    assert _steps(m)["staging"]["status"] == "passed"
    assert _steps(m)["canary"]["status"] == "pending"  # named, resumable: nothing half-written
    blocked = record["extra"]["blocked"]
    assert blocked["step"] == "canary" and not blocked["revert"]
    (commit,) = _ledger_commits(m, "blocked")
    trailers = dict(commit[1])
    assert trailers["Stage"] == "canary" and trailers["Rule"] == blocked["rule"]
    assert trailers["Fix"] == blocked["fix"]
    body = m.story.pull(m.train_pr)["body"]
    assert "⛔ canary: the promotion is blocked by" in body and blocked["fix"] in body


def _assert_resumed(m: Merged) -> None:
    record = m.record()
    assert "blocked" not in record["extra"]
    assert _steps(m)["canary"]["status"] == "soaking"
    assert [e["event"] for e in record["history"]].count("unblocked") == 1
    assert "⛔" not in m.story.pull(m.train_pr)["body"]
    canary = [b for _, b in m.main_log() if b.startswith(f"promote {m.train_id} to canary")]
    assert len(canary) == 1


def test_a_ruleset_added_mid_promotion_blocks_the_next_stage_until_a_bypass(sandbox: Any) -> None:
    m = merged_train(sandbox)
    _staging_passed(m)
    _ruleset(sandbox)  # added while staging soaks
    result = m.story.reconcile(m.merged_at + 10 * M)
    _assert_blocked_on_canary(
        m, result, "refused by a rule on", "Changes must be made through a pull request", "bypass"
    )
    assert not [b for _, b in m.main_log() if b.startswith(f"promote {m.train_id} to canary")]
    assert len(m.deployments()) == 1  # staging's only

    # the next ticks: the same refusal, told again, recorded once
    again = m.story.reconcile(m.merged_at + 11 * M)
    assert len(again.problems) == 1 and len(_ledger_commits(m, "blocked")) == 1
    assert again.actions_done == ()  # the refused move is not claimed as done

    _ruleset(sandbox, [APP])  # lifted: the App bypasses the rule
    assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    _assert_resumed(m)


def test_a_bypass_removed_mid_train_blocks_then_pull_request_mode_resumes(sandbox: Any) -> None:
    m = merged_train(sandbox)
    _ruleset(sandbox, [APP])
    _staging_passed(m)  # the App bypassed the rule for staging
    _ruleset(sandbox)  # the bypass is removed
    result = m.story.reconcile(m.merged_at + 10 * M)
    _assert_blocked_on_canary(m, result, "refused by a rule on", "mode: pull_request")

    # lifted by switching canary to pull-request mode (the rule asks for no approval)
    config = m.kit.call(
        "GET", f"/repos/{REPO}/contents/.github/release-train.yml", as_user="rm-dave"
    )
    import base64

    text = base64.b64decode(config["content"]).decode()
    old = '  - name: canary\n    manifests: ["deploy/canary/*"]\n'
    assert old in text
    _ruleset(sandbox, [APP])  # the config push itself is the admin's
    m.story.set_config(text.replace(old, old + "    mode: pull_request\n"))
    _ruleset(sandbox)
    assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    record = m.record()
    assert "blocked" not in record["extra"] and _steps(m)["canary"]["status"] == "soaking"
    pulls = m.kit.call("GET", f"/repos/{REPO}/pulls?state=closed", as_user="rm-dave")
    assert any(p["head"]["ref"].endswith(f"{m.train_id}/canary") and p["merged_at"] for p in pulls)


def test_a_permission_revoked_between_ticks_is_named_and_the_train_resumes(sandbox: Any) -> None:
    m = merged_train(sandbox)
    _staging_passed(m)
    with sandbox.store.transaction() as data:  # the installation loses `deployments`
        granted = data["installations"]["1"]["permissions"]
        level = granted.pop("deployments")
    result = m.story.reconcile(m.merged_at + 10 * M)  # staging's pass sets its deployment
    (problem,) = result.problems
    assert "the token lacks the `deployments: write` permission" in problem
    assert "refused by a rule" not in problem and "kept moving" not in problem
    assert exit_code_of(view(result), held_fails=True) == 1
    blocked = m.record()["extra"]["blocked"]
    assert blocked["kind"] == "permission" and blocked["step"] == "staging"
    # the pass was not recorded and canary not started: the record stands as before
    assert [_steps(m)[s]["status"] for s in ("staging", "canary")] == ["soaking", "pending"]
    assert not [b for _, b in m.main_log() if b.startswith(f"promote {m.train_id} to canary")]
    (commit,) = _ledger_commits(m, "blocked")
    assert dict(commit[1])["Rule"] == "the token lacks `deployments: write`"
    assert "blocked by a missing permission" in m.story.pull(m.train_pr)["body"]

    with sandbox.store.transaction() as data:  # granted again
        data["installations"]["1"]["permissions"]["deployments"] = level
    assert m.story.reconcile(m.merged_at + 11 * M).problems == ()
    _assert_resumed(m)
    assert _steps(m)["staging"]["status"] == "passed" and _steps(m)["canary"]["deployment"]


def test_a_rollback_blocked_by_a_rule_opens_the_incident_and_lands_once_lifted(
    sandbox: Any,
) -> None:
    m = merged_train(sandbox)
    _staging_passed(m)
    _ruleset(sandbox)  # added during staging's soak
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    result = m.story.reconcile(m.merged_at + 2 * M)
    assert any("refused by a rule on" in p for p in result.problems)
    record = m.record()
    assert record["state"] == "promoting" and record["extra"]["blocked"]["revert"] is True
    assert not [b for _, b in m.main_log() if b.startswith(f"revert {m.train_id}")]
    incident_no = record["extra"]["promotion"]["incident"]
    incident = m.kit.call("GET", f"/repos/{REPO}/issues/{incident_no}", as_user="rm-dave")
    assert "waits for a person to lift the rule" in incident["body"]
    assert "⛔ staging: the revert is blocked by a rule" in m.story.pull(m.train_pr)["body"]

    _ruleset(sandbox, [APP])
    assert m.story.reconcile(m.merged_at + 3 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back" and "blocked" not in record["extra"]
    assert record["extra"]["promotion"]["incident"] == incident_no  # the same incident
    issues = m.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    assert [i["number"] for i in issues if "rolled back" in i["title"]] == [incident_no]
    assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
