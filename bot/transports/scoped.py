"""The installation token one reconcile needs, and no more (issue 27).

A reconcile of `owner/app` gets a token for `app` alone, with the permissions a reconcile
uses. When its configuration names stages in other repositories that the operator allows
(`CROSS_REPO_WRITES`), the token covers those too, so their consent can be read and, once
given, the stages written; every other repository of the installation answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.consent import OperatorPolicy, other_repositories
from bot.errors import ConfigError, ExternalError

# What a reconcile reads and writes: branches and commits, PRs and reviews, check runs,
# deployments, comments/labels/issues; commit statuses, code scanning and team
# membership are read. `metadata: read` comes with every token.
RECONCILE_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "checks": "write",
    "deployments": "write",
    "issues": "write",
    "statuses": "read",
    "security_events": "read",
    "members": "read",
    "metadata": "read",
}


def reconcile_token(
    auth: Any,
    installation_id: int,
    repo: str,
    operator: OperatorPolicy,
    read_config: Callable[[str], Any],
) -> str:
    """A token for `repo` plus the other repositories its stages write to that the
    operator allows. `read_config(token)` loads `repo`'s configuration (None when absent);
    an unreadable or invalid one leaves the token at `repo` (the reconcile reports it)."""
    own = auth.installation_token(installation_id, (repo,), RECONCILE_PERMISSIONS)
    try:
        config = read_config(own)
    except (ConfigError, ExternalError):
        return str(own)
    if config is None:
        return str(own)
    owner = repo.split("/", 1)[0].lower()
    others = [
        other
        for other in other_repositories(config, repo)
        if operator(repo, other) and other.split("/", 1)[0].lower() == owner
    ]
    if not others:
        return str(own)
    try:
        both = auth.installation_token(installation_id, (repo, *others), RECONCILE_PERMISSIONS)
    except ExternalError:  # not in this installation: the consent check will say so
        return str(own)
    return str(both)
