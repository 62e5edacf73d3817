"""``POST /repos/{owner}/{repo}/merges``: merge a branch or sha into a branch, like GitHub.

201 with the merge commit, 204 when there is nothing to merge, 409 "Merge conflict"
when git's three-way merge (`merge-tree --write-tree`) conflicts.
"""

from __future__ import annotations

from bot.sandbox.api.compare import commit_json
from bot.sandbox.api.git import sign
from bot.sandbox.api.refs import move_ref
from bot.sandbox.api.repos import person_of, repo_name
from bot.sandbox.gitstore import RefConflict
from bot.sandbox.http import ApiError, RequestContext, Response, Router, missing_field
from bot.sandbox.rules import check_push


def merge_commit(
    ctx: RequestContext,
    repo: str,
    base_sha: str,
    head_sha: str,
    message: str,
    *,
    squash: bool = False,
) -> str | None:
    """A commit merging `head_sha` into `base_sha` (one parent if `squash`); None on conflict."""
    assert ctx.user is not None
    tree, conflicts = ctx.git.merge_tree(repo, base_sha, head_sha)
    if conflicts:
        return None
    parents = [base_sha] if squash else [base_sha, head_sha]
    person = person_of(ctx, ctx.user.login)
    sha = ctx.git.commit_tree(repo, tree, parents, message, person)
    sign(ctx, repo, sha)  # GitHub signs the merges it makes
    return sha


def create_merge(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    base, head = body.get("base"), body.get("head")
    if not isinstance(base, str) or not base:
        raise missing_field("Merge", "base")
    if not isinstance(head, str) or not head:
        raise missing_field("Merge", "head")
    base_sha = ctx.git.ref(repo, f"refs/heads/{base}")
    if base_sha is None:
        raise ApiError(404, "Base does not exist")
    head_sha = ctx.git.resolve(repo, head)
    if head_sha is None:
        raise ApiError(404, "Head does not exist")
    if ctx.git.is_ancestor(repo, head_sha, base_sha):
        return Response(204)
    message = body.get("commit_message") or f"Merge {head} into {base}"
    sha = merge_commit(ctx, repo, base_sha, head_sha, str(message))
    if sha is None:
        raise ApiError(409, "Merge conflict")
    check_push(ctx, repo, f"refs/heads/{base}", base_sha, sha)  # branch protection, rulesets
    try:
        move_ref(ctx, repo, f"refs/heads/{base}", sha, base_sha)
    except RefConflict:
        raise ApiError(409, "Base branch was modified. Review and try the merge again.") from None
    commit = ctx.git.read_commit(repo, sha)
    assert commit is not None
    return Response(201, commit_json(ctx, repo, commit))


def routes(router: Router) -> None:
    router.add("POST", "/repos/{owner}/{repo}/merges", create_merge)
