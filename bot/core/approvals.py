"""Whether one approval counts: the rules every approval the bot counts must pass, for
boarding a PR and for merging a train PR alike (issue 27).

An approval counts only when it is on the pull request's current head commit (the review's
`commit_id`), comes from someone with at least write permission on the repository, and is
not the pull request author's (nor the bot's). Everything fails closed: an unknown head,
a review without a commit, or a permission the bot could not read never counts.

Pure: plain values in, a reason (or "") out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WRITE_ROLES = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class Approver:
    """One approval to judge: who, on which commit, with which role (None: not known)."""

    login: str
    commit_id: str
    permission: str | None


def short(sha: str) -> str:
    return sha[:7] if sha else "none"


def why_not_counted(approver: Approver, head_sha: str, authors: Iterable[str], bot: str) -> str:
    """Why this approval does not count ("" when it does), checked in a fixed order."""
    login = approver.login.lower()
    if login == bot.lower():
        return "the bot"
    if login in {a.lower() for a in authors if a}:
        return "the pull request's author"
    if not head_sha:
        return "the head commit is not known"
    if approver.commit_id != head_sha:
        return (
            f"stale: given on commit {short(approver.commit_id)}, not on the head {short(head_sha)}"
        )
    return why_not_writer(approver.permission)


def why_not_writer(permission: str | None) -> str:
    """ "" for write, maintain or admin; otherwise why not (an unknown role never counts)."""
    if permission is None or permission == "":
        return "write access unknown (the bot could not read it)"
    if permission not in WRITE_ROLES:
        return f"no write access to the repository (role: {permission})"
    return ""


def permission_of(login: str, permissions: Mapping[str, str]) -> str | None:
    """The role recorded for `login` (case-insensitive), or None when nobody read it."""
    wanted = login.lower()
    return next((role for name, role in permissions.items() if name.lower() == wanted), None)
