"""Two-party consent (issue 27): a stage in another repository is written only when that
repository's own configuration accepts trains from this one (and, for the App, the operator
allows the pair). Without it the configuration is refused where the stage names the
repository, the train PR says so, and nothing is written in the other repository."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time
from promotion.promotion_story import MANIFESTS, config, merged_train

from bot.core.consent import operator_policy, parse_operator_pairs

M = timedelta(minutes=1)
GITOPS = "acme/gitops"
STAGING = MANIFESTS["deploy/staging/web.yaml"]
CONFIG_FILE = ".github/release-train.yml"


def _to_gitops(text: str) -> str:
    old = '  - name: staging\n    manifests: ["deploy/staging/*.yaml"]\n'
    assert old in text
    new = f'  - name: staging\n    repository: {GITOPS}\n    manifests: ["clusters/staging/*"]\n'
    return text.replace(old, new)


def _gitops(sandbox: Any, consent: str | None) -> str:
    files: dict[str, str | bytes | None] = {"clusters/staging/web.yaml": STAGING}
    if consent is not None:
        files[CONFIG_FILE] = consent
    sandbox.scenario.create_repo(GITOPS, files)
    sandbox.scenario.install_bot(GITOPS)
    return _refs(sandbox)


def _refs(sandbox: Any) -> str:
    """Every ref of the GitOps repository and where it points: what "written" would move."""
    return str(sandbox.git.out(GITOPS, "for-each-ref", "--format=%(refname) %(objectname)"))


def _deployments(m: Any) -> list[Any]:
    return list(m.kit.call("GET", f"/repos/{GITOPS}/deployments", as_user="rm-dave"))


def test_without_consent_the_config_is_refused_at_its_line_and_nothing_is_written(
    sandbox: Any,
) -> None:
    """An admin of the app repository names a GitOps repository that never agreed."""
    before = _gitops(sandbox, "version: 1\naccept_from: [acme/other-app]\n")
    t0 = start_time()
    story = new_story(sandbox, t0, _to_gitops(config(t0)))
    result = story.reconcile(t0)
    (problem,) = result.problems
    line = _to_gitops(config(t0)).splitlines().index(f"    repository: {GITOPS}") + 1
    assert problem.startswith(f"{CONFIG_FILE}:{line}:17: stage `staging` may not write to")
    assert f"lists acme/other-app, not {REPO}" in problem
    issues = story.kit.call("GET", f"/repos/{REPO}/issues?state=open", as_user="rm-dave")
    assert any("may not write to acme/gitops" in (i.get("body") or "") for i in issues)
    assert _refs(sandbox) == before


def test_withdrawn_consent_stops_promotion_before_any_write_there(sandbox: Any) -> None:
    _gitops(sandbox, f"version: 1\naccept_from: [{REPO}]\n")
    m = merged_train(sandbox, edit_config=_to_gitops)
    # the GitOps repository's admin takes the consent back before the train promotes
    sandbox.scenario.push(GITOPS, "main", {CONFIG_FILE: "version: 1\n"}, "no", "rm-dave")
    before = _refs(sandbox)
    result = m.story.reconcile(m.merged_at)
    assert any("has no `accept_from`" in p for p in result.problems), result.problems
    assert _refs(sandbox) == before and _deployments(m) == []
    said = [c["body"] for c in m.story.comments(m.train_pr)]
    assert any("may not write to acme/gitops" in body for body in said)
    # given back, the train promotes into the GitOps repository
    sandbox.scenario.push(GITOPS, "main", {CONFIG_FILE: f"accept_from: [{REPO}]\n"}, "ok")
    assert m.story.reconcile(m.merged_at + M).problems == ()
    assert [d["environment"] for d in _deployments(m)] == ["staging"]


def test_a_gitops_repository_without_a_config_accepts_nobody(sandbox: Any) -> None:
    before = _gitops(sandbox, None)
    t0 = start_time()
    story = new_story(sandbox, t0, _to_gitops(config(t0)))
    (problem,) = story.reconcile(t0).problems
    assert "cannot be read (GitHub answered 404)" in problem
    assert _refs(sandbox) == before


def test_the_operator_must_allow_the_pair_too(sandbox: Any) -> None:
    """App mode: consent given, but the operator's allowlist does not name the pair."""
    before = _gitops(sandbox, f"version: 1\naccept_from: [{REPO}]\n")
    t0 = start_time()
    story = new_story(sandbox, t0, _to_gitops(config(t0)))
    elsewhere = operator_policy(parse_operator_pairs("acme/*->acme/deploy-*"))
    (problem,) = story.reconcile(t0, cross_repo=elsewhere).problems
    assert f"the operator does not allow trains of {REPO} to write there" in problem
    assert _refs(sandbox) == before
    allowed = operator_policy(parse_operator_pairs(f"{REPO}->acme/git*"))
    assert story.reconcile(t0, cross_repo=allowed).problems == ()
