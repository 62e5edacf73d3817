"""Pull requests: create, get (with git's verdict on mergeability), list, update, files,
commits, requested reviewers and merge (merge, squash, and rebase when linear)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.compare import commits_json, file_json
from bot.sandbox.api.git import branch_tip, move_ref
from bot.sandbox.api.issues import (
    association,
    emit_issue_event,
    find_issue,
    issue_labels,
    new_issue,
    record_event,
    set_state,
)
from bot.sandbox.api.merges import merge_commit
from bot.sandbox.api.repos import person_of, repo_json, repo_name, user_or_none
from bot.sandbox.gitstore import RefConflict
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    forbidden,
    invalid_field,
    missing_field,
    paginate,
    role_rank,
)
from bot.sandbox.rules import check_merge

MERGE_METHODS = ("merge", "squash", "rebase")


def find_pull(ctx: RequestContext, repo: str, number: str | int) -> dict[str, Any]:
    pull = ctx.store.get("pulls", f"{repo}#{number}")
    if pull is None:
        raise ApiError(404, "Not Found")
    return pull


def head_sha(ctx: RequestContext, repo: str, pull: dict[str, Any]) -> str:
    """The PR's head: the branch tip while it exists, else the last one seen."""
    live = branch_tip(ctx, repo, pull["head_ref"]) if not pull["merged"] else None
    return live or str(pull["head_sha"])


def base_sha(ctx: RequestContext, repo: str, pull: dict[str, Any]) -> str:
    return branch_tip(ctx, repo, pull["base_ref"]) or str(pull.get("base_sha", ""))


def _side(ctx: RequestContext, repo: str, ref: str, sha: str) -> dict[str, Any]:
    record = ctx.store.repo(repo)
    assert record is not None
    return {
        "label": f"{record['owner']}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_or_none(ctx, record["owner"]),
        "repo": repo_json(ctx, record),
    }


def mergeability(
    ctx: RequestContext, repo: str, pull: dict[str, Any], issue: dict[str, Any]
) -> tuple[bool | None, str]:
    """(mergeable, mergeable_state) as GitHub reports them, decided by git."""
    if pull["merged"] or issue["state"] != "open":
        return None, "unknown"
    head, base = head_sha(ctx, repo, pull), base_sha(ctx, repo, pull)
    if not head or not base:
        return None, "unknown"
    _, conflicts = ctx.git.merge_tree(repo, base, head)
    if conflicts:
        return False, "dirty"
    if pull.get("draft"):
        return True, "draft"
    runs = ctx.store.where("check_runs", repo=repo, head_sha=head)
    bad = ("failure", "cancelled", "timed_out", "action_required")
    if any(r.get("conclusion") in bad for r in runs):
        return True, "unstable"
    if any(
        s["state"] in ("failure", "error") for s in ctx.store.where("statuses", repo=repo, sha=head)
    ):
        return True, "unstable"
    return True, "clean"


def pull_json(ctx: RequestContext, repo: str, number: int, *, full: bool = True) -> dict[str, Any]:
    """A pull request in GitHub's shape (`full=False`: the list's "simple" shape)."""
    pull = find_pull(ctx, repo, number)
    issue = find_issue(ctx, repo, number)
    api = f"{ctx.base_url}/repos/{repo}"
    html = f"{ctx.base_url}/{repo}/pull/{number}"
    url = f"{api}/pulls/{number}"
    head = head_sha(ctx, repo, pull)
    out: dict[str, Any] = {
        "url": url,
        "id": pull["id"],
        "node_id": pull["node_id"],
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head}",
        "number": number,
        "state": issue["state"],
        "locked": issue.get("locked", False),
        "title": issue["title"],
        "user": user_or_none(ctx, issue["user"]),
        "body": issue.get("body"),
        "labels": issue_labels(ctx, repo, issue),
        "milestone": None,
        "active_lock_reason": None,
        "created_at": issue["created_at"],
        "updated_at": issue["updated_at"],
        "closed_at": issue.get("closed_at"),
        "merged_at": pull.get("merged_at"),
        "merge_commit_sha": pull.get("merge_commit_sha"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [user_or_none(ctx, r) for r in pull.get("requested_reviewers", [])],
        "requested_teams": [],
        "head": _side(ctx, repo, pull["head_ref"], head),
        "base": _side(ctx, repo, pull["base_ref"], base_sha(ctx, repo, pull)),
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": f"{api}/issues/{number}"},
            "comments": {"href": f"{api}/issues/{number}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{api}/statuses/{head}"},
        },
        "author_association": association(ctx, repo, issue["user"]),
        "auto_merge": None,
        "draft": bool(pull.get("draft")),
    }
    if full:
        out.update(_full_fields(ctx, repo, pull, issue, head))
    return out


def _full_fields(
    ctx: RequestContext, repo: str, pull: dict[str, Any], issue: dict[str, Any], head: str
) -> dict[str, Any]:
    mergeable, state = mergeability(ctx, repo, pull, issue)
    base = base_sha(ctx, repo, pull)
    merge_base = pull.get("merge_base") if pull["merged"] else ctx.git.merge_base(repo, base, head)
    commits = len(ctx.git.log(repo, f"{merge_base}..{head}")) if merge_base else 0
    changes = ctx.git.diff(repo, merge_base, head, patches=False) if merge_base else []
    return {
        "merged": bool(pull["merged"]),
        "mergeable": mergeable,
        "rebaseable": mergeable and bool(ctx.git.is_ancestor(repo, base, head)),
        "mergeable_state": state,
        "merged_by": user_or_none(ctx, pull.get("merged_by")),
        "comments": len(ctx.store.where("comments", repo=repo, issue_number=pull["number"])),
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": commits,
        "additions": sum(c.additions for c in changes),
        "deletions": sum(c.deletions for c in changes),
        "changed_files": len(changes),
    }


def _emit(ctx: RequestContext, repo: str, number: int, action: str, **extra: Any) -> None:
    issue = find_issue(ctx, repo, number)
    emit_issue_event(ctx, repo, issue, action, **extra)


# -- create, get, list, update ------------------------------------------------------------


def _branch(ctx: RequestContext, repo: str, value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise missing_field("PullRequest", field)
    name = value.split(":", 1)[1] if ":" in value else value
    if ctx.git.ref(repo, f"refs/heads/{name}") is None:
        raise invalid_field("PullRequest", field)
    return name


def create_pull(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    body = ctx.json()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise missing_field("PullRequest", "title")
    head = _branch(ctx, repo, body.get("head"), "head")
    base = _branch(ctx, repo, body.get("base"), "base")
    owner = repo.split("/")[0]
    for other in ctx.store.where("pulls", repo=repo, head_ref=head, base_ref=base):
        if find_issue(ctx, repo, other["number"])["state"] == "open":
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {owner}:{head}.",
                    }
                ],
            )
    head_commit = ctx.git.ref(repo, f"refs/heads/{head}")
    base_commit = ctx.git.ref(repo, f"refs/heads/{base}")
    assert head_commit and base_commit
    if ctx.git.is_ancestor(repo, head_commit, base_commit):
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            ],
        )
    issue = new_issue(ctx, repo, title, body.get("body"), is_pull=True)
    ctx.store.insert(
        "pulls",
        {
            "number": issue["number"],
            "repo": repo,
            "head_ref": head,
            "head_sha": head_commit,
            "base_ref": base,
            "base_sha": base_commit,
            "draft": bool(body.get("draft", False)),
            "merged": False,
            "merged_at": None,
            "merged_by": None,
            "merge_commit_sha": None,
            "requested_reviewers": [],
        },
        key=f"{repo}#{issue['number']}",
    )
    _emit(ctx, repo, issue["number"], "opened")
    return Response(201, pull_json(ctx, repo, issue["number"]))


def get_pull(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, pull_json(ctx, repo, int(_number(ctx))))


def _number(ctx: RequestContext) -> int:
    try:
        return int(ctx.params["pull_number"])
    except ValueError:
        raise ApiError(404, "Not Found") from None


def list_pulls(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    state = ctx.arg("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid_field("PullRequest", "state")
    head = ctx.arg("head")
    head = head.split(":", 1)[1] if head and ":" in head else head
    base = ctx.arg("base")
    rows = []
    for pull in ctx.store.where("pulls", repo=repo):
        issue = find_issue(ctx, repo, pull["number"])
        if state != "all" and issue["state"] != state:
            continue
        if head not in (None, pull["head_ref"]) or base not in (None, pull["base_ref"]):
            continue
        rows.append((issue, pull))
    key = {"updated": "updated_at", "created": "created_at"}.get(ctx.arg("sort") or "", "")
    reverse = ctx.arg("direction", "desc") != "asc"
    rows.sort(key=lambda r: (r[0][key] if key else "", r[1]["number"]), reverse=reverse)
    page = paginate(ctx, [r[1]["number"] for r in rows])
    assert isinstance(page.body, list)
    page.body = [pull_json(ctx, repo, n, full=False) for n in page.body]
    return page


def update_pull(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    number = _number(ctx)
    pull, issue = find_pull(ctx, repo, number), find_issue(ctx, repo, number)
    if (ctx.user is None or ctx.user.login != issue["user"]) and role_rank(ctx.role(repo)) < 3:
        raise forbidden("write", ctx.installation_id is not None)
    body = ctx.json()
    changes: dict[str, Any] = {}
    for key in ("title", "body"):
        if key in body and body[key] != issue[key]:
            changes[key] = {"from": issue[key]}
            issue[key] = body[key]
    if "base" in body:
        new_base = _branch(ctx, repo, body["base"], "base")
        if new_base != pull["base_ref"]:
            changes["base"] = {"ref": {"from": pull["base_ref"]}}
            pull["base_ref"] = new_base
    issue["updated_at"] = ctx.now()
    if changes:
        _emit(ctx, repo, number, "edited", changes=changes)
    if "state" in body:
        if pull["merged"] and body["state"] == "open":
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": "state cannot be changed. The pull request has been merged.",
                    }
                ],
            )
        set_state(ctx, repo, issue, str(body["state"]))
    return Response(200, pull_json(ctx, repo, number))


def list_files(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pull = find_pull(ctx, repo, _number(ctx))
    head, base = head_sha(ctx, repo, pull), base_sha(ctx, repo, pull)
    merge_base = pull.get("merge_base") if pull["merged"] else ctx.git.merge_base(repo, base, head)
    changes = ctx.git.diff(repo, merge_base, head) if merge_base else []
    return paginate(ctx, [file_json(ctx, repo, c, head) for c in changes[:3000]])


def list_commits(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pull = find_pull(ctx, repo, _number(ctx))
    head, base = head_sha(ctx, repo, pull), base_sha(ctx, repo, pull)
    stop = pull.get("merge_base") if pull["merged"] else base
    shas = ctx.git.log(repo, f"{stop}..{head}" if stop else head)[:250]
    return paginate(ctx, commits_json(ctx, repo, shas))


# -- reviewers -----------------------------------------------------------------------------


def request_reviewers(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "triage")
    number = _number(ctx)
    pull = find_pull(ctx, repo, number)
    body = ctx.json()
    for login in body.get("reviewers") or []:
        if ctx.store.role_of(repo, login) is None or ctx.store.user(login) is None:
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more "
                "of the users or teams you specified is not a collaborator of the "
                f"{repo} repository.",
            )
        if login not in pull["requested_reviewers"]:
            pull["requested_reviewers"].append(login)
    return Response(201, pull_json(ctx, repo, number, full=False))


def remove_reviewers(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "triage")
    number = _number(ctx)
    pull = find_pull(ctx, repo, number)
    drop = set(ctx.json().get("reviewers") or [])
    pull["requested_reviewers"] = [r for r in pull["requested_reviewers"] if r not in drop]
    return Response(200, pull_json(ctx, repo, number, full=False))


def get_requested_reviewers(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pull = find_pull(ctx, repo, _number(ctx))
    users = [user_or_none(ctx, r) for r in pull["requested_reviewers"]]
    return Response(200, {"users": users, "teams": []})


# -- merge --------------------------------------------------------------------------------------


def is_merged(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pull = find_pull(ctx, repo, _number(ctx))
    if not pull["merged"]:
        raise ApiError(404, "Not Found")
    return Response(204)


def _files_base(
    ctx: RequestContext, repo: str, pull: dict[str, Any], base: str, head: str
) -> str | None:
    """Where a merged PR's files and commits are counted from. When its head already reached
    the base (a release train merged it first), the merge base is the head itself; GitHub
    still lists the PR's own changes, so count from the base the PR was opened against."""
    merge_base = ctx.git.merge_base(repo, base, head)
    opened_on = str(pull.get("base_sha") or "")
    if merge_base == head and opened_on:
        return ctx.git.merge_base(repo, opened_on, head) or merge_base
    return merge_base


def merge_pull(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    number = _number(ctx)
    pull, issue = find_pull(ctx, repo, number), find_issue(ctx, repo, number)
    body = ctx.json()
    method = body.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        raise invalid_field("PullRequest", "merge_method")
    if pull["merged"] or issue["state"] != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    if pull.get("draft"):
        raise ApiError(405, "Pull Request is still a draft")
    head, base = head_sha(ctx, repo, pull), base_sha(ctx, repo, pull)
    if body.get("sha") and body["sha"] != head:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    check_merge(ctx, repo, pull, head, base, method)  # branch protection and rulesets
    sha = _merge_commit(ctx, repo, pull, issue, method, base, head, body)
    if sha is None:
        raise ApiError(405, "Pull Request is not mergeable")
    try:
        move_ref(ctx, repo, f"refs/heads/{pull['base_ref']}", sha, base)
    except RefConflict:
        raise ApiError(409, "Base branch was modified. Review and try the merge again.") from None
    assert ctx.user is not None
    merge_base = _files_base(ctx, repo, pull, base, head)
    pull.update(
        {
            "merged": True,
            "merged_at": ctx.now(),
            "merged_by": ctx.user.login,
            "merge_commit_sha": sha,
            "head_sha": head,
            "base_sha": base,
            "merge_base": merge_base,
        }
    )
    issue["state"], issue["closed_at"] = "closed", ctx.now()
    issue["closed_by"], issue["updated_at"] = ctx.user.login, ctx.now()
    record_event(ctx, repo, issue, "merged", commit_id=sha)
    record_event(ctx, repo, issue, "closed", commit_id=sha)
    _emit(ctx, repo, number, "closed")
    return Response(
        200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
    )


def _merge_commit(
    ctx: RequestContext,
    repo: str,
    pull: dict[str, Any],
    issue: dict[str, Any],
    method: str,
    base: str,
    head: str,
    body: dict[str, Any],
) -> str | None:
    number = pull["number"]
    title = body.get("commit_title")
    if method == "merge":
        owner = repo.split("/")[0]
        message = title or f"Merge pull request #{number} from {owner}/{pull['head_ref']}"
        message += "\n\n" + (body.get("commit_message") or issue["title"])
        return merge_commit(ctx, repo, base, head, message)
    if method == "squash":
        message = title or f"{issue['title']} (#{number})"
        if body.get("commit_message"):
            message += "\n\n" + body["commit_message"]
        return merge_commit(ctx, repo, base, head, message, squash=True)
    return _rebase(ctx, repo, base, head)


def _rebase(ctx: RequestContext, repo: str, base: str, head: str) -> str | None:
    """Replay the PR's commits one by one on the base (new committer, same author).

    Each replayed commit's tree is git's three-way merge of the base with that commit
    (the fork point as merge base): the base plus the PR's changes up to that commit.
    A merge commit in the PR, or a step that conflicts, makes it not rebaseable."""
    assert ctx.user is not None
    committer = person_of(ctx, ctx.user.login)
    tip = base
    for sha in ctx.git.log(repo, f"{base}..{head}"):
        commit = ctx.git.read_commit(repo, sha)
        assert commit is not None
        if len(commit.parents) > 1:
            raise ApiError(405, "This branch can't be rebased")
        tree, conflicts = ctx.git.merge_tree(repo, base, sha)
        if conflicts:
            raise ApiError(405, "This branch can't be rebased")
        tip = ctx.git.commit_tree(repo, tree, [tip], commit.message, commit.author, committer)
    return tip


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/pulls"
    router.add("GET", base, list_pulls)
    router.add("POST", base, create_pull)
    router.add("GET", base + "/{pull_number}", get_pull)
    router.add("PATCH", base + "/{pull_number}", update_pull)
    router.add("GET", base + "/{pull_number}/files", list_files)
    router.add("GET", base + "/{pull_number}/commits", list_commits)
    router.add("GET", base + "/{pull_number}/merge", is_merged)
    router.add("PUT", base + "/{pull_number}/merge", merge_pull)
    router.add("GET", base + "/{pull_number}/requested_reviewers", get_requested_reviewers)
    router.add("POST", base + "/{pull_number}/requested_reviewers", request_reviewers)
    router.add("DELETE", base + "/{pull_number}/requested_reviewers", remove_reviewers)
