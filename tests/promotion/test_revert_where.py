"""A revert where the steps live elsewhere: a stage in a separate GitOps repository (its
own chain and ref update, beside the base branch's), and a stage that takes changes only
through pull requests (its revert goes through a merged pull request too)."""

from __future__ import annotations

from datetime import timedelta

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import MANIFESTS, merged_train

M = timedelta(minutes=1)
GITOPS = "acme/gitops"
STAGING = MANIFESTS["deploy/staging/web.yaml"]

# the GitOps repository accepts trains from the app repository (two-party consent)
CONSENT = {".github/release-train.yml": f"version: 1\naccept_from: [{REPO}]\n"}


def test_a_revert_across_a_gitops_repository_and_the_base_branch(sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.scenario.create_repo(GITOPS, {"clusters/staging/web.yaml": STAGING, **CONSENT})
    sandbox.scenario.install_bot(GITOPS)

    def to_gitops(text: str) -> str:
        old = '  - name: staging\n    manifests: ["deploy/staging/*.yaml"]\n'
        new = (
            f'  - name: staging\n    repository: {GITOPS}\n    manifests: ["clusters/staging/*"]\n'
        )
        assert old in text
        return text.replace(old, new)

    m = merged_train(sandbox, edit_config=to_gitops)
    m.story.reconcile(m.merged_at)
    m.story.reconcile(m.merged_at + 11 * M)  # staging (GitOps repo) passed, canary (main)
    steps = m.record()["extra"]["promotion"]["steps"]
    assert [s["status"] for s in steps[:2]] == ["passed", "soaking"]
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    assert m.record()["state"] == "rolled_back"

    gitops_log = sandbox.git.out(GITOPS, "log", "-1", "--format=%B", "main")
    assert gitops_log.startswith(f"revert {m.train_id} staging")
    assert f"Reverts: {steps[0]['commit']}" in gitops_log
    assert "ghcr.io/acme/web:1.0.0" in sandbox.git.out(
        GITOPS, "show", "main:clusters/staging/web.yaml"
    )
    (canary,) = [b for _, b in m.main_log() if b.startswith("revert ")]
    assert canary.startswith(f"revert {m.train_id} canary")
    assert 'newTag: "1.0.0"' in m.main_file("deploy/canary/kustomization.yaml")
    moved = [
        r[1]
        for r in sandbox.server.request_log[mark:]
        if r[0] == "PATCH" and "/git/refs/heads/main" in r[1]
    ]
    assert sorted(moved) == [
        f"/repos/{GITOPS}/git/refs/heads/main",
        f"/repos/{REPO}/git/refs/heads/main",
    ]


def test_a_stage_taking_pull_requests_is_reverted_through_one(sandbox) -> None:  # type: ignore[no-untyped-def]
    def canary_by_pr(text: str) -> str:
        old = '  - name: canary\n    manifests: ["deploy/canary/*"]\n'
        assert old in text
        return text.replace(old, old + "    mode: pull_request\n")

    m = merged_train(sandbox, edit_config=canary_by_pr)
    m.story.reconcile(m.merged_at)
    m.story.reconcile(m.merged_at + 11 * M)
    assert m.record()["extra"]["promotion"]["steps"][1]["status"] == "soaking"
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back"
    canary, staging = (
        record["extra"]["promotion"]["steps"][1],
        record["extra"]["promotion"]["steps"][0],
    )
    assert canary["status"] == staging["status"] == "reverted"
    pulls = m.kit.call("GET", f"/repos/{REPO}/pulls?state=closed", as_user="rm-dave")
    head = f"release-train/revert/{m.train_id}/canary"
    (pr,) = [p for p in pulls if p["head"]["ref"] == head]
    assert m.story.pull(pr["number"])["merged"] is True
    assert 'newTag: "1.0.0"' in m.main_file("deploy/canary/kustomization.yaml")
    assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
    mark = m.story.log_mark()
    m.story.reconcile(m.merged_at + 13 * M)
    assert m.story.writes_since(mark) == []


def test_a_push_racing_the_revert_is_kept_and_the_chain_is_rebuilt_on_it(sandbox) -> None:  # type: ignore[no-untyped-def]
    """Somebody pushes to `main` between the revert's read of the tip and its ref update:
    the update is refused (not a fast forward), the chain is built again on the new tip,
    and both the push and the revert commits end on `main`."""
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    m.story.reconcile(m.merged_at + 11 * M)
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    pushed: list[str] = []

    def push_first(ctx: object) -> None:
        method, path = getattr(ctx, "method", ""), getattr(ctx, "path", "")
        if method == "PATCH" and path.endswith("/git/refs/heads/main") and not pushed:
            pushed.append(m.kit.push(REPO, "main", {"NOTES.md": "racing\n"}, "notes", "dev-bob"))

    sandbox.server.before_request = push_first
    try:
        assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    finally:
        sandbox.server.before_request = None
    assert m.record()["state"] == "rolled_back" and pushed
    log = m.main_log()
    subjects = [body.split("\n")[0] for _, body in log[:3]]
    assert subjects == [
        f"revert {m.train_id} staging",
        f"revert {m.train_id} canary",
        "notes",
    ]
    assert log[2][0] == pushed[0] and m.main_file("NOTES.md").strip() == "racing"
    assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
    steps = m.record()["extra"]["promotion"]["steps"]
    assert {s["name"]: s["revert_commit"] for s in steps[:2]} == {
        "staging": log[0][0],
        "canary": log[1][0],
    }
