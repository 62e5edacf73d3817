"""The real bot meets a protected base branch while promoting: a refusal by a rule is named
with its fix (never "kept moving"), a bypass for the App lets it through, and pull-request
mode waits for the required review and then merges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import merged_train

from bot.sandbox.rules import state
from bot.transports.action import exit_code_of
from bot.transports.result import view

M = timedelta(minutes=1)
PR_RULE = {
    "type": "pull_request",
    # an approval counts on the head it was given for: the stage PR must not be rewritten
    "parameters": {"required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True},
}


def _ruleset(sandbox: Any, bypass: list[dict[str, Any]] | None = None) -> None:
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["900"] = {
            "name": "main", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [PR_RULE], "bypass_actors": bypass or [],
        }  # fmt: skip


def test_a_ruleset_on_the_base_branch_is_named_with_its_fix_then_a_bypass_lets_it_through(
    sandbox: Any,
) -> None:
    m = merged_train(sandbox)
    _ruleset(sandbox)
    result = m.story.reconcile(m.merged_at)
    (problem,) = result.problems
    assert f"refused by a rule on {REPO} main" in problem
    assert "Changes must be made through a pull request." in problem
    assert "bypass list" in problem and "mode: pull_request" in problem
    assert "kept moving" not in problem
    assert exit_code_of(view(result), held_fails=True) == 1  # a configuration problem
    # the train PR merged (approved, a pull request); its promotion was refused
    assert m.record()["state"] == "merged"  # resumable: nothing recorded as promoted
    assert not [b for _, b in m.main_log() if b.startswith("promote ")]  # nothing written

    _ruleset(sandbox, [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}])
    assert m.story.reconcile(m.merged_at + M).problems == ()
    record = m.record()
    assert record["state"] == "promoting"
    assert record["extra"]["promotion"]["steps"][0]["status"] == "soaking"


def test_pull_request_mode_waits_for_the_required_review_then_merges(sandbox: Any) -> None:
    def staging_by_pr(text: str) -> str:
        old = '  - name: staging\n    manifests: ["deploy/staging/*.yaml"]\n'
        assert old in text
        return text.replace(old, old + "    mode: pull_request\n")

    m = merged_train(sandbox, edit_config=staging_by_pr)
    _ruleset(sandbox)
    waiting = m.story.reconcile(m.merged_at)
    (problem,) = waiting.problems
    assert "At least 1 approving review is required" in problem
    assert "approve pull request #" in problem and "kept moving" not in problem
    number = int(problem.split("approve pull request #")[1].split()[0])
    assert m.record()["state"] == "merged"

    m.kit.review(REPO, number, "rev-carol")
    assert m.story.reconcile(m.merged_at + M).problems == ()
    assert m.story.pull(number)["merged"] is True
    assert m.record()["extra"]["promotion"]["steps"][0]["status"] == "soaking"
