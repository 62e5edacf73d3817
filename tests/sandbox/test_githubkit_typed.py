"""githubkit's generated models parse what the sandbox answers (one call per endpoint)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.runner import Sandbox


def test_typed_models_parse_every_core_answer(sandbox: Sandbox, api: Any) -> None:
    sc = sandbox.scenario
    first = sc.create_repo("acme/app", {"README.md": "hi\n", "d/x.txt": "x\n"})
    n = sc.open_pr(
        "acme/app", "dev-alice", "feat", {"d/x.txt": "y\n"}, title="T", labels=["train:next"]
    )
    cid = sc.comment("acme/app", n, "rm-dave", "/train status")
    sc.review("acme/app", n, "rev-carol", "APPROVE")
    gh = api.client("rm-dave")
    rest = gh.rest
    o, r = "acme", "app"
    parsed = [
        rest.git.get_ref(o, r, "heads/main"),
        rest.git.list_matching_refs(o, r, "heads/"),
        rest.git.get_commit(o, r, first),
        rest.git.get_tree(o, r, first, recursive="1"),
        rest.git.create_blob(o, r, content="new", encoding="utf-8"),
        rest.git.create_ref(o, r, ref="refs/heads/typed", sha=first),
        rest.git.update_ref(o, r, "heads/typed", sha=first, force=True),
        rest.repos.get_commit(o, r, first),
        rest.repos.list_commits(o, r),
        rest.repos.list_branches(o, r),
        rest.repos.compare_commits(o, r, "main...feat"),
        rest.repos.merge(o, r, base="typed", head="feat"),
        rest.repos.create_or_update_file_contents(o, r, "new.txt", message="m", content="bmV3Cg=="),
        rest.pulls.get(o, r, n),
        rest.pulls.list(o, r, state="all"),
        rest.pulls.list_files(o, r, n),
        rest.pulls.list_commits(o, r, n),
        rest.pulls.list_reviews(o, r, n),
        rest.pulls.update(o, r, n, title="T2"),
        rest.pulls.request_reviewers(o, r, n, reviewers=["dev-bob"]),
        rest.issues.get(o, r, n),
        rest.issues.list_for_repo(o, r, labels="train:next"),
        rest.issues.list_comments(o, r, n),
        rest.issues.list_comments_for_repo(o, r),
        rest.issues.get_comment(o, r, cid),
        rest.issues.update_comment(o, r, cid, body="/train hold"),
        rest.reactions.create_for_issue_comment(o, r, cid, content="eyes"),
        rest.reactions.list_for_issue_comment(o, r, cid),
        rest.issues.add_labels(o, r, n, labels=["feature"]),
        rest.issues.list_labels_on_issue(o, r, n),
        rest.issues.remove_label(o, r, n, "feature"),
        rest.issues.create_label(o, r, name="bug", color="d73a4a"),
        rest.issues.get_label(o, r, "bug"),
        rest.issues.list_labels_for_repo(o, r),
        rest.repos.get_collaborator_permission_level(o, r, "dev-alice"),
        rest.repos.list_collaborators(o, r),
        rest.teams.get_membership_for_user_in_org(o, "developers", "dev-bob"),
        rest.teams.list_members_in_org(o, "developers"),
        rest.teams.list(o),
        rest.teams.get_by_name(o, "developers"),
        rest.users.get_by_username("dev-bob"),
        rest.repos.get(o, r),
        rest.repos.list_for_authenticated_user(),
        rest.pulls.merge(o, r, n, merge_method="squash"),
    ]
    for response in parsed:
        assert response.parsed_data is not None
    merged = rest.pulls.get(o, r, n).parsed_data
    assert merged.merged is True
