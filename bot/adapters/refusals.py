"""Which GitHub refusals are rules, not races: the one place a 4xx answer is classified.

GitHub words its refusals; the bot used to read every 422 on ``PATCH git/refs`` as "the
ref moved" and retried until "kept moving". A refusal by a rule — classic branch protection
(``Protected branch update failed for refs/heads/B.``), a ruleset (``Repository rule
violations found``), a merge held by required reviews or checks (405), a contents write
(409 ``Could not update file: ...``) — is raised as `RuleRefused`; a missing permission
(403 ``Resource not accessible by integration``, with ``X-Accepted-GitHub-Permissions``)
or a non-App token on the Checks API (403 ``You must authenticate via a GitHub App.``) as
`PermissionMissing`. Everything else is left to the caller (`classify` answers None).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from bot.errors import ExternalError, PermissionMissing, RuleRefused

RULE_MARKERS = (
    "Protected branch update failed",
    "Repository rule violations found",
    "Changes must be made through a pull request",
    "required status check",
    "approving review",
    "Cannot force-push",
    "must not contain merge commits",
    "Cannot delete this",
    "not authorized to push to this branch",
    "Cannot update this protected ref",
    "Merge commits are not allowed on this protected branch",
    "Head branch is out of date",
)
APP_ONLY = "You must authenticate via a GitHub App"
NO_ACCESS = "Resource not accessible by integration"
# which permission an endpoint needs, when GitHub does not say (GitHub's permission tables)
_ENDPOINTS = (
    (r"/code-scanning/", "security_events", "read"),
    (r"^/orgs/[^/]+/teams/", "members", "read"),
    (r"/check-(runs|suites)", "checks", "write"),
    (r"/(branches/[^/]+/protection|rulesets|rules/)", "administration", "read"),
    (r"/(git/|contents/|merges|pulls/\d+/merge)", "contents", "write"),
    (r"/pulls", "pull_requests", "write"),
    (r"/(issues|labels)", "issues", "write"),
    (r"/statuses/", "statuses", "write"),
    (r"/deployments", "deployments", "write"),
)


def _body_message(response: Any) -> str:
    raw = getattr(response, "raw_response", None)
    if raw is not None:
        raw.read()
    try:
        return str(response.json().get("message", ""))
    except Exception:
        return ""


def is_rule(message: str) -> bool:
    lowered = message.lower()
    return any(marker.lower() in lowered for marker in RULE_MARKERS)


def rule_words(message: str) -> str:
    """The rules broken, on one line (GitHub's head line dropped)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    kept = [
        line
        for line in lines
        if not line.startswith(("Repository rule violations found", "Protected branch update"))
    ]
    return " ".join(kept or lines).removeprefix("Could not update file: ")


def fix_for(rule: str, *, pull: str = "") -> str:
    """What to do about a rule refusal, in words."""
    if pull and "approving review" in rule:
        return (
            f"approve {pull} (the branch requires reviews), or add the App to the rule's "
            "bypass list"
        )
    if pull:
        return f"let the required checks pass on {pull}, or add the App to the rule's bypass list"
    return (
        "add the App to the bypass list of that protection or ruleset, or set `mode: "
        "pull_request` on the stage that writes this branch (`release-train doctor` says which)"
    )


def permission_for(path: str, headers: Any) -> tuple[str, str]:
    accepted = str(headers.get("x-accepted-github-permissions") or "") if headers else ""
    first = accepted.split(";")[0].split(",")[0].strip()
    if "=" in first:
        name, _, level = first.partition("=")
        return name.strip(), level.strip()
    for pattern, name, level in _ENDPOINTS:
        if re.search(pattern, path):
            return name, level
    return "", ""  # not one the bot can name (e.g. GET /user with an App token): the caller's


def _target(path: str) -> tuple[str, str]:
    """(branch, pull request) a write names in its URL."""
    ref = re.search(r"/git/refs/heads/(.+)$", path)
    if ref:
        return unquote(ref.group(1)), ""
    pull = re.search(r"/pulls/(\d+)/merge$", path)
    if pull:
        return "", f"pull request #{pull.group(1)}"
    return "", ""


def classify(repo: str, method: str, url: str, response: Any) -> ExternalError | None:
    """The typed error for a refusal by a rule or a missing permission; None otherwise."""
    status = int(response.status_code)
    if status not in (403, 405, 409, 422):
        return None
    message = _body_message(response)
    path = url.split("?", 1)[0]
    what = f"{method} {path}"
    if status == 403 and APP_ONLY in message:
        return PermissionMissing(repo, "checks", "write", what, app_only=True)
    if status == 403 and NO_ACCESS in message:
        name, level = permission_for(path, getattr(response, "headers", {}))
        return PermissionMissing(repo, name, level, what) if name else None
    if status == 403 or method == "GET" or not is_rule(message):
        return None
    branch, pull = _target(path)
    rule = rule_words(message)
    return RuleRefused(repo, branch or pull, rule, fix_for(rule, pull=pull), status=status,
                       what=what)  # fmt: skip


def raise_for(repo: str, method: str, url: str, response: Any) -> Any:
    """`response` unchanged, unless it is a refusal by a rule or for a permission (raised)."""
    error = classify(repo, method, url, response)
    if error is not None:
        raise error
    return response
