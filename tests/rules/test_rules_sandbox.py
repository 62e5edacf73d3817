"""The sandbox answers as GitHub does under branch protection, rulesets, App-only checks
and installation permissions (GitHub's status codes and messages)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.rules import state

REPO = "acme/svc"
PR_ONLY = "Changes must be made through a pull request."


def _setup(sandbox: Any) -> tuple[Any, str]:
    sc = sandbox.scenario
    main = sc.create_repo(REPO, {"deploy/prod.yaml": "image: 1\n"}, author="rm-dave")
    sc.add_user("admin-zed")
    with sandbox.store.transaction() as data:
        data["collaborators"][REPO]["admin-zed"] = "admin"
    return sc, main


def _next(sc: Any, main: str, text: str = "image: 2\n") -> str:
    return str(sc.commit(REPO, main, {"deploy/prod.yaml": text}, "bump", "dev-alice"))


def _protect(api: Any, body: dict[str, Any], branch: str = "main") -> Any:
    full = {
        "required_status_checks": None,
        "enforce_admins": True,
        "required_pull_request_reviews": None,
        "restrictions": None,
        **body,
    }
    return api("admin-zed", "PUT", f"/repos/{REPO}/branches/{branch}/protection", json=full)


def _move(api: Any, sha: str, *, who: str = "release-train[bot]", force: bool = False) -> Any:
    body = {"sha": sha, "force": force}
    return api(who, "PATCH", f"/repos/{REPO}/git/refs/heads/main", json=body)


def test_protection_is_set_by_admins_only_and_read_back(sandbox: Any, api: Any) -> None:
    _setup(sandbox)
    reviews = {"required_approving_review_count": 1}
    refused = api("rm-dave", "PUT", f"/repos/{REPO}/branches/main/protection", json={
        "required_status_checks": None, "enforce_admins": True,
        "required_pull_request_reviews": reviews, "restrictions": None})  # fmt: skip
    assert refused.status == 403
    assert refused.json["message"] == "Must have admin rights to Repository."
    absent = api("admin-zed", "GET", f"/repos/{REPO}/branches/main/protection")
    assert (absent.status, absent.json["message"]) == (404, "Branch not protected")
    made = _protect(api, {"required_pull_request_reviews": reviews})
    assert made.status == 200
    got = api("admin-zed", "GET", f"/repos/{REPO}/branches/main/protection").json
    assert got["required_pull_request_reviews"]["required_approving_review_count"] == 1
    branch = api("dev-alice", "GET", f"/repos/{REPO}/branches/main").json
    assert branch["protected"] is True


def test_classic_protection_refuses_a_direct_ref_move_with_its_rule(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    _protect(api, {"required_pull_request_reviews": {"required_approving_review_count": 1}})
    refused = _move(api, _next(sc, main))
    assert refused.status == 422
    assert refused.json["message"] == (
        f"Protected branch update failed for refs/heads/main.\n\n{PR_ONLY}"
    )
    assert sandbox.git.resolve(REPO, "main") == main  # nothing moved


def test_contents_api_answers_409_on_a_protected_branch(sandbox: Any, api: Any) -> None:
    _setup(sandbox)
    _protect(api, {"required_status_checks": {"strict": False, "contexts": ["ci"]}})
    current = api("dev-alice", "GET", f"/repos/{REPO}/contents/deploy/prod.yaml").json
    body = {"message": "edit", "content": "aW1hZ2U6IDMK", "sha": current["sha"]}
    refused = api("dev-alice", "PUT", f"/repos/{REPO}/contents/deploy/prod.yaml", json=body)
    assert refused.status == 409
    assert (
        refused.json["message"] == 'Could not update file: Required status check "ci" is expected.'
    )


def test_an_app_on_the_bypass_list_may_move_the_branch(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    bypass = {"users": [], "teams": [], "apps": ["release-train"]}
    reviews = {"required_approving_review_count": 1, "bypass_pull_request_allowances": bypass}
    apps = {"users": [], "teams": [], "apps": ["release-train"]}
    _protect(api, {"required_pull_request_reviews": reviews, "restrictions": apps})
    new = _next(sc, main)
    assert _move(api, new).status == 200
    refused = _move(api, _next(sc, new, "image: 3\n"), who="dev-alice")
    assert refused.status == 422
    assert "You're not authorized to push to this branch." in refused.json["message"]


def test_force_push_and_deletion_are_refused_unless_allowed(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    new = sc.push(REPO, "main", {"a.txt": "a\n"}, "a", "dev-alice")
    _protect(api, {"enforce_admins": True})
    forced = _move(api, _next(sc, main), force=True)
    assert forced.status == 422
    assert "Cannot force-push to this protected branch" in forced.json["message"]
    deleted = api("admin-zed", "DELETE", f"/repos/{REPO}/git/refs/heads/main")
    assert deleted.status == 422
    assert "Cannot delete this protected branch" in deleted.json["message"]
    assert sandbox.git.resolve(REPO, "main") == new


def test_merge_waits_for_reviews_and_checks_then_succeeds(sandbox: Any, api: Any) -> None:
    sc, _ = _setup(sandbox)
    _protect(api, {
        "required_pull_request_reviews": {"required_approving_review_count": 1,
                                          "dismiss_stale_reviews": True},
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
    })  # fmt: skip
    number = sc.open_pr(REPO, "dev-alice", "feat", {"src.py": "x = 1\n"}, title="Feat")
    merge = f"/repos/{REPO}/pulls/{number}/merge"
    first = api("release-train[bot]", "PUT", merge, json={"merge_method": "merge"})
    assert first.status == 405
    assert first.json["message"] == (
        "At least 1 approving review is required by reviewers with write access."
    )
    sc.review(REPO, number, "rev-carol")
    second = api("release-train[bot]", "PUT", merge, json={"merge_method": "merge"})
    assert (second.status, second.json["message"]) == (
        405,
        'Required status check "ci" is expected.',
    )
    sc.set_check(REPO, str(sandbox.git.resolve(REPO, "feat")), "ci")
    third = api("release-train[bot]", "PUT", merge, json={"merge_method": "merge"})
    assert third.status == 200 and third.json["merged"] is True


def _ruleset(
    api: Any, rules: list[dict[str, Any]], bypass: list[dict[str, Any]] | None = None
) -> Any:
    body = {
        "name": "main", "target": "branch", "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": rules, "bypass_actors": bypass or [],
    }  # fmt: skip
    return api("admin-zed", "POST", f"/repos/{REPO}/rulesets", json=body)


def test_ruleset_refuses_with_every_rule_broken(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    made = _ruleset(api, [{"type": "pull_request", "parameters": {
        "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
        "require_code_owner_review": False, "require_last_push_approval": False,
        "required_review_thread_resolution": False}},
        {"type": "non_fast_forward"}, {"type": "deletion"}])  # fmt: skip
    assert made.status == 201 and made.json["current_user_can_bypass"] == "never"
    refused = _move(api, _next(sc, main))
    assert refused.status == 422
    assert refused.json["message"] == f"Repository rule violations found\n\n{PR_ONLY}\n\n"
    gone = api("admin-zed", "DELETE", f"/repos/{REPO}/git/refs/heads/main")
    assert gone.status == 422 and "Cannot delete this branch" in gone.json["message"]
    rules = api("dev-alice", "GET", f"/repos/{REPO}/rules/branches/main").json
    assert sorted(r["type"] for r in rules) == ["deletion", "non_fast_forward", "pull_request"]
    other = api("dev-alice", "GET", f"/repos/{REPO}/rules/branches/feature").json
    assert other == []


def test_ruleset_bypass_for_the_app(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    bypass = [{"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}]
    made = _ruleset(api, [{"type": "pull_request", "parameters": {
        "required_approving_review_count": 1}}], bypass)  # fmt: skip
    mine = api("release-train[bot]", "GET", f"/repos/{REPO}/rulesets/{made.json['id']}").json
    assert mine["current_user_can_bypass"] == "always"
    assert _move(api, _next(sc, main)).status == 200
    refused = _move(api, _next(sc, main, "image: 9\n"), who="dev-alice", force=True)
    assert refused.status == 422 and PR_ONLY in refused.json["message"]


def test_ruleset_merge_refusal_is_405(sandbox: Any, api: Any) -> None:
    sc, _ = _setup(sandbox)
    _ruleset(api, [{"type": "required_status_checks", "parameters": {
        "strict_required_status_checks_policy": False,
        "required_status_checks": [{"context": "ci"}, {"context": "lint"}]}},
        {"type": "required_linear_history"}])  # fmt: skip
    number = sc.open_pr(REPO, "dev-alice", "feat", {"src.py": "x = 1\n"}, title="Feat")
    merge = f"/repos/{REPO}/pulls/{number}/merge"
    refused = api("rm-dave", "PUT", merge, json={"merge_method": "merge"})
    assert refused.status == 405
    assert refused.json["message"] == (
        "Repository rule violations found\n\n2 of 2 required status checks are expected.\n\n"
        "This branch must not contain merge commits.\n\n"
    )
    head = str(sandbox.git.resolve(REPO, "feat"))
    sc.set_check(REPO, head, "ci")
    sc.set_status(REPO, head, "lint")
    assert api("rm-dave", "PUT", merge, json={"merge_method": "squash"}).status == 200


def test_checks_api_is_app_only_and_runs_belong_to_their_app(sandbox: Any, api: Any) -> None:
    sc, main = _setup(sandbox)
    state.configure(sandbox.store, checks_apps_only=True)
    body = {"name": "release-train/ci", "head_sha": main}
    refused = api("rm-dave", "POST", f"/repos/{REPO}/check-runs", json=body)
    assert (refused.status, refused.json["message"]) == (
        403,
        "You must authenticate via a GitHub App.",
    )
    made = api("release-train[bot]", "POST", f"/repos/{REPO}/check-runs", json=body)
    assert made.status == 201
    theirs = sc.set_check(REPO, main, "ci", app_id=2)
    patched = api("release-train[bot]", "PATCH", f"/repos/{REPO}/check-runs/{theirs}",
                  json={"status": "completed", "conclusion": "success"})  # fmt: skip
    assert patched.status == 403
    assert "can only be modified by the GitHub App that created it" in patched.json["message"]


def test_installation_permissions_are_enforced_and_named(sandbox: Any, api: Any) -> None:
    _setup(sandbox)
    with sandbox.store.transaction() as data:
        perms = data["installations"]["1"]["permissions"]
        perms.pop("security_events")
        perms.pop("members")
    scanning = api("release-train[bot]", "GET", f"/repos/{REPO}/code-scanning/alerts")
    assert scanning.status == 403
    assert scanning.json["message"] == "Resource not accessible by integration"
    assert scanning.headers["x-accepted-github-permissions"] == "security_events=read"
    members = api("release-train[bot]", "GET", "/orgs/acme/teams/reviewers/members")
    assert members.status == 403
    assert members.headers["x-accepted-github-permissions"] == "members=read"
    assert api("rm-dave", "GET", "/orgs/acme/teams/reviewers/members").status == 200


def test_releases_and_tags_need_contents_write(sandbox: Any, api: Any) -> None:
    _setup(sandbox)
    main = sandbox.git.resolve(REPO, "main")
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["permissions"]["contents"] = "read"
    writes = [
        ("POST", f"/repos/{REPO}/releases", {"tag_name": "train/x"}),
        ("PATCH", f"/repos/{REPO}/releases/1", {"draft": False}),
        ("POST", f"/repos/{REPO}/git/tags",
         {"tag": "train/x", "message": "m", "object": main, "type": "commit"}),
    ]  # fmt: skip
    for method, path, body in writes:
        refused = api("release-train[bot]", method, path, json=body)
        assert refused.status == 403, (method, path)
        assert refused.headers["x-accepted-github-permissions"] == "contents=write"
    assert api("release-train[bot]", "GET", f"/repos/{REPO}/releases").status == 200
    assert api("rm-dave", "POST", f"/repos/{REPO}/releases", json={"tag_name": "v1"}).status == 201
