"""Adoption against the sandbox: what the bot made but never heard back about (a lost
answer, or a crash before its ledger write) is found and adopted, never made twice.

- a bump that landed on `main` but not in the ledger, with somebody's push on top since:
  the restart adopts the promote commit from the branch's recent history (its sha and the
  tags it replaced), so the deployment names it and a rollback restores the tags (bug H);
- deployment and deployment-status POSTs applied and answered 502 (every one of them), or
  refused before they applied: one deployment per step, each status once, and the ledger
  records each step in the same round (bug F)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.sandbox.faults import FaultPlan, install, uninstall
from bot.sandbox.http import Response

M = timedelta(minutes=1)
LEDGER_REF = "/git/refs/heads/release-train/ledger"


def _promote_commit(m: Merged, step: str) -> str:
    (sha,) = [s for s, b in m.main_log() if b.startswith(f"promote {m.train_id} to {step}\n")]
    return sha


def _deployments(m: Merged, environment: str) -> list[dict[str, Any]]:
    return [d for d in m.deployments() if d["environment"] == environment]


def _bump_without_ledger(m: Merged) -> None:
    """The staging bump lands; every ledger write after it is refused (as if the bot died)."""
    bumped = [False]

    def refuse_the_ledger_after_the_bump(ctx: Any) -> Response | None:
        if ctx.method == "PATCH" and ctx.path.endswith("/git/refs/heads/main"):
            bumped[0] = True
        elif bumped[0] and ctx.method == "PATCH" and ctx.path.endswith(LEDGER_REF):
            return Response(500, {"message": "Server Error"})
        return None

    m.story.sandbox.server.before_request = refuse_the_ledger_after_the_bump
    try:
        assert m.story.reconcile(m.merged_at).problems != ()
    finally:
        m.story.sandbox.server.before_request = None
    assert bumped[0] and "promotion" not in m.record()["extra"]


def test_a_landed_bump_under_a_later_push_is_adopted_and_reverted(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    _bump_without_ledger(m)
    promote = _promote_commit(m, "staging")
    m.kit.push(REPO, "main", {"docs/index.md": "# docs, edited\n"}, "docs", "dev-bob")
    assert m.main_log()[0][0] != promote  # the bump is no longer the head

    assert m.story.reconcile(m.merged_at + 1 * M).problems == ()
    staging = m.record()["extra"]["promotion"]["steps"][0]
    assert (staging["status"], staging["commit"]) == ("soaking", promote)
    assert {b[0]: (b[1], b[2]) for b in staging["bumps"]} == {
        "web": ("1.0.0", m.record()["extra"]["promotion"]["tags"]["web"]),
        "api": ("2.0.0", m.record()["extra"]["promotion"]["tags"]["api"]),
    }
    (deployment,) = _deployments(m, "staging")  # the one made before, adopted
    assert deployment["sha"] == promote
    assert m.statuses(deployment["id"]) == ["in_progress"]

    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    assert m.record()["state"] == "rolled_back"
    text = m.main_file("deploy/staging/web.yaml")
    assert "ghcr.io/acme/web:1.0.0" in text and 'image: "ghcr.io/acme/api:2.0.0"' in text
    assert m.main_file("docs/index.md") == "# docs, edited"  # their push stays


def _train_tags(text: str) -> str:
    """Tags rendered from the train id (known before the merge), not the merge sha."""
    for image in ("ghcr.io/acme/web", "ghcr.io/acme/api"):
        text = text.replace(f"    image: {image}\n", f'    image: {image}\n    tag: "{{train}}"\n')
    return text


def test_files_at_the_tags_without_a_promote_commit_are_recorded_as_they_are(sandbox) -> None:  # type: ignore[no-untyped-def]
    """Somebody set the tags by hand: nothing to adopt (one lookup), the step is recorded
    at the head with `tag -> tag`, and nothing is committed."""
    m = merged_train(sandbox, edit_config=_train_tags)
    text = m.main_file("deploy/staging/web.yaml")
    text = text.replace("web:1.0.0", f"web:{m.train_id}")
    text = text.replace("api:2.0.0", f"api:{m.train_id}")
    m.kit.push(REPO, "main", {"deploy/staging/web.yaml": text}, "by hand", "rm-dave")
    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at).problems == ()
    staging = m.record()["extra"]["promotion"]["steps"][0]
    assert staging["status"] == "soaking" and staging["commit"] == m.main_log()[0][0]
    assert {b[0]: (b[1], b[2]) for b in staging["bumps"]} == {
        "web": (m.train_id, m.train_id),
        "api": (m.train_id, m.train_id),
    }
    log = m.story.sandbox.server.request_log[mark:]
    assert len([r for r in log if r[0] == "GET" and r[1].endswith(f"/repos/{REPO}/commits")]) == 1
    assert not [b for _, b in m.main_log() if b.startswith("promote ")]


def test_every_deployment_answer_lost_after_it_applied(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    plan = FaultPlan(
        probability=0.0, kinds=("after",), per_endpoint={f"POST /repos/{REPO}/deployments*": 1.0}
    )
    injector = install(sandbox.server, plan)
    try:
        assert m.story.reconcile(m.merged_at).problems == ()
        assert m.story.reconcile(m.merged_at + 11 * M).problems == ()  # staging passes
    finally:
        uninstall(sandbox.server)
    # staging: deployment, in_progress, success; canary: deployment, in_progress
    assert len(injector.injected) == 5
    for step, statuses in (("staging", ["success", "in_progress"]), ("canary", ["in_progress"])):
        (deployment,) = _deployments(m, step)
        assert m.statuses(deployment["id"]) == statuses  # each once, newest first
    steps = m.record()["extra"]["promotion"]["steps"]
    assert [(s["name"], s["status"]) for s in steps[:2]] == [
        ("staging", "passed"),
        ("canary", "soaking"),
    ]


def test_a_status_refused_before_it_applied_is_sent_once_more(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    seen: list[str] = []

    def refuse_the_first_status(ctx: Any) -> Response | None:
        if ctx.method == "POST" and ctx.path.endswith("/statuses"):
            seen.append(ctx.path)
            if len(seen) == 1:
                return Response(502, {"message": "Server Error"})
        return None

    sandbox.server.before_request = refuse_the_first_status
    try:
        assert m.story.reconcile(m.merged_at).problems == ()
    finally:
        sandbox.server.before_request = None
    (deployment,) = _deployments(m, "staging")
    assert m.statuses(deployment["id"]) == ["in_progress"]
    assert len(seen) == 2  # refused, looked, sent again
    assert m.record()["extra"]["promotion"]["steps"][0]["status"] == "soaking"
