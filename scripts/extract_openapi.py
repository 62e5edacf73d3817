"""Extract the small part of GitHub's OpenAPI description that the sandbox serves.

Usage: ``python scripts/extract_openapi.py SRC OUT``

SRC is ``generated/api.github.com.json`` from the npm package ``@octokit/openapi``
(get it in a temporary directory with ``npm pack @octokit/openapi@23.0.2`` and ``tar xzf
octokit-openapi-23.0.2.tgz package/generated/api.github.com.json``; the unpacked package
is ~385 MB, so it is not installed in CI). 23.0.2 made the committed subset, and
re-running with it reproduces the file byte for byte. OUT is written as compact JSON
holding only the operations listed in ``OPERATIONS`` and the components they reference,
transitively. Prose (``description``/``summary``), examples and ``discriminator`` hints
are dropped; schemas are otherwise kept whole, except that a ``nullable`` enum also
lists null.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# (method, path) of every operation the sandbox serves (both the core's and the extras').
OPERATIONS: tuple[tuple[str, str], ...] = (
    # repos
    ("get", "/repos/{owner}/{repo}"),
    ("patch", "/repos/{owner}/{repo}"),
    ("post", "/user/repos"),
    ("get", "/user/repos"),
    ("post", "/orgs/{org}/repos"),
    ("get", "/orgs/{org}/repos"),
    ("get", "/user"),
    ("get", "/users/{username}"),
    # contents
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("put", "/repos/{owner}/{repo}/contents/{path}"),
    ("delete", "/repos/{owner}/{repo}/contents/{path}"),
    # git database
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/blobs"),
    ("get", "/repos/{owner}/{repo}/git/blobs/{file_sha}"),
    ("post", "/repos/{owner}/{repo}/git/trees"),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("post", "/repos/{owner}/{repo}/git/commits"),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("post", "/repos/{owner}/{repo}/git/tags"),
    ("get", "/repos/{owner}/{repo}/git/tags/{tag_sha}"),
    # releases (a GitHub Release per train)
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/repos/{owner}/{repo}/releases/latest"),
    ("get", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("patch", "/repos/{owner}/{repo}/releases/{release_id}"),
    # commits, compare, merges, branches
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("post", "/repos/{owner}/{repo}/merges"),
    ("get", "/repos/{owner}/{repo}/branches"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    # branch protection and rulesets (bot.sandbox.rules)
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("put", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("delete", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("get", "/repos/{owner}/{repo}/rulesets"),
    ("post", "/repos/{owner}/{repo}/rulesets"),
    ("get", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("put", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("delete", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    # archives (promotion reads a stage's manifests in one download)
    ("get", "/repos/{owner}/{repo}/tarball/{ref}"),
    # pulls
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("delete", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    # reviews
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals"),
    # issues, comments, labels, reactions
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/events"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("put", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/issues/comments"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/labels"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("patch", "/repos/{owner}/{repo}/labels/{name}"),
    ("delete", "/repos/{owner}/{repo}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    # collaborators and teams
    ("get", "/repos/{owner}/{repo}/collaborators"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/orgs/{org}/teams/{team_slug}/members"),
    ("get", "/orgs/{org}/teams"),
    ("get", "/orgs/{org}/teams/{team_slug}"),
    ("get", "/orgs/{org}/members/{username}"),
    # checks
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"),
    ("post", "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("post", "/repos/{owner}/{repo}/check-suites"),
    ("get", "/repos/{owner}/{repo}/check-suites/{check_suite_id}"),
    ("get", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs"),
    ("post", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-suites"),
    # statuses
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    # deployments
    ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}"),
    # code scanning
    ("get", "/repos/{owner}/{repo}/code-scanning/alerts"),
    ("get", "/repos/{owner}/{repo}/code-scanning/alerts/{alert_number}"),
    # search
    ("get", "/search/issues"),
    # apps
    ("get", "/app"),
    ("get", "/app/installations"),
    ("get", "/app/installations/{installation_id}"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/installation/repositories"),
    # a GitHub App's user-to-server token: the installations and repositories a user reaches
    ("get", "/user/installations"),
    ("get", "/user/installations/{installation_id}/repositories"),
    # rate limit
    ("get", "/rate_limit"),
)

# `discriminator` is a hint for code generators; `oneOf` still decides. It is dropped
# because validators apply it strictly (and GitHub's maps a JSON array by `type`).
# Webhook payload schemas (``x-webhooks``) for the events the sandbox delivers.
WEBHOOKS: tuple[str, ...] = (
    "check-run-completed", "check-run-created", "check-run-requested-action",
    "check-run-rerequested", "check-suite-completed", "check-suite-requested",
    "check-suite-rerequested", "deployment-created", "deployment-status-created",
    "installation-created", "installation-deleted", "issue-comment-created",
    "issue-comment-edited", "issue-comment-deleted", "issues-opened", "issues-closed",
    "issues-labeled", "issues-unlabeled", "pull-request-opened", "pull-request-closed",
    "pull-request-reopened", "pull-request-edited", "pull-request-labeled",
    "pull-request-unlabeled", "pull-request-synchronize", "pull-request-review-submitted",
    "pull-request-review-dismissed", "push", "status",
)  # fmt: skip

_PROSE = ("description", "summary", "externalDocs", "x-github", "tags", "discriminator")
_DROP_ALWAYS = ("examples", "example")


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    """Drop prose and examples, never touching the names inside a `properties` map."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    enum = node.get("enum")
    if not in_properties and node.get("nullable") is True and isinstance(enum, list):
        # OAS 3.0.3: `nullable` does not extend `enum`; GitHub means null is allowed
        # (e.g. an in-progress check run's `conclusion`), so say it explicitly.
        node = {**node, "enum": enum if None in enum else [*enum, None]}
    for key, value in node.items():
        if not in_properties and (key in _DROP_ALWAYS or key in _PROSE):
            continue
        out[key] = _strip(value, in_properties=(key == "properties" and not in_properties))
    return out


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _refs(item)
    return found


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """The subset document: selected operations plus the components they reach."""
    paths: dict[str, dict[str, Any]] = {}
    missing = []
    for method, path in OPERATIONS:
        operation = spec["paths"].get(path, {}).get(method)
        if operation is None:
            missing.append(f"{method.upper()} {path}")
            continue
        kept = _strip(operation)
        kept["operationId"] = operation.get("operationId", "")
        paths.setdefault(path, {})[method] = kept
    hooks: dict[str, Any] = {}
    for name in WEBHOOKS:
        if name in spec.get("x-webhooks", {}):
            hooks[name] = _strip(spec["x-webhooks"][name])
        else:
            missing.append(f"webhook {name}")
    if missing:
        print("not in the description (skipped): " + ", ".join(missing), file=sys.stderr)
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(paths) | _refs(hooks))
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = _strip(spec["components"][kind][name])
        components.setdefault(kind, {})[name] = value
        pending.extend(sorted(_refs(value) - seen))
    return {
        "openapi": spec["openapi"],
        "info": {"title": "GitHub REST subset (sandbox)", "version": spec["info"]["version"]},
        "paths": paths,
        "x-webhooks": hooks,
        "components": {kind: dict(sorted(v.items())) for kind, v in sorted(components.items())},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    subset = extract(json.loads(source.read_text(encoding="utf-8")))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(subset, separators=(",", ":"), sort_keys=True) + "\n", "utf-8")
    operations = sum(len(v) for v in subset["paths"].values())
    size = target.stat().st_size
    print(f"wrote {target}: {operations} operations, {size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
