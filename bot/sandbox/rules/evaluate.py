"""Pure verdicts of GitHub's rules: may this actor move this branch, or merge into it?

Classic branch protection and rulesets are read from their stored JSON (GitHub's shapes).
A refusal is a status and a message worded as GitHub words it: a ref update 422
("Protected branch update failed for refs/heads/B." for classic protection, "Repository
rule violations found" for rulesets, each followed by the rules broken), a merge 405 with
the first rule broken (classic) or the same ruleset list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.http import role_rank

RULESET_HEAD = "Repository rule violations found"
PR_REQUIRED = "Changes must be made through a pull request."
NOT_AUTHORIZED = "You're not authorized to push to this branch."
LINEAR = "This branch must not contain merge commits."
# actor ids GitHub gives the base repository roles in a ruleset's bypass list
ROLE_IDS = {1: "read", 2: "maintain", 4: "write", 5: "admin"}


@dataclass(frozen=True)
class Actor:
    """Who asks: a user, or an App installation (then `app_id`/`app_slug`)."""

    login: str
    role: str | None = None
    app_id: int | None = None
    app_slug: str | None = None
    teams: frozenset[int] = frozenset()  # team ids
    team_slugs: frozenset[str] = frozenset()
    org_admin: bool = False


@dataclass(frozen=True)
class Change:
    """A ref move: `kind` is update | force | delete | create; `passing` the check names
    (with the App that reported each, 0 for a commit status) that succeeded on the new
    commit; `merge_commit` whether it has more than one parent."""

    branch: str
    default_branch: str
    kind: str = "update"
    passing: frozenset[tuple[str, int]] = frozenset()
    merge_commit: bool = False


@dataclass(frozen=True)
class MergeFacts:
    """A pull request about to merge: approvals from writers (on any commit / on the
    head), check names that succeeded on the head, and whether the head contains the base."""

    branch: str
    default_branch: str
    method: str = "merge"
    approvals: int = 0
    approvals_on_head: int = 0
    passing: frozenset[tuple[str, int]] = frozenset()
    up_to_date: bool = True


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    reasons: tuple[str, ...] = field(default=())


# -- checks and reviews ----------------------------------------------------------------------


def missing_checks(required: Iterable[tuple[str, int | None]], passing: frozenset) -> list[str]:
    names = {n for n, _ in passing}
    missing = []
    for context, app in required:
        ok = (context, app) in passing if app not in (None, -1) else context in names
        if not ok:
            missing.append(context)
    return missing


def checks_message(missing: list[str], total: int) -> str:
    if len(missing) == 1 and total == 1:
        return f'Required status check "{missing[0]}" is expected.'
    if len(missing) == 1:
        return f'Required status check "{missing[0]}" is expected.'
    return f"{len(missing)} of {total} required status checks are expected."


def reviews_message(count: int) -> str:
    if count == 1:
        return "At least 1 approving review is required by reviewers with write access."
    return f"At least {count} approving reviews are required by reviewers with write access."


# -- classic protection ----------------------------------------------------------------------


def _enabled(prot: dict[str, Any], key: str) -> bool:
    value = prot.get(key)
    return bool(value.get("enabled")) if isinstance(value, dict) else bool(value)


def _listed(actor: Actor, allowed: dict[str, Any] | None) -> bool:
    if not isinstance(allowed, dict):
        return False
    users = {u.get("login") if isinstance(u, dict) else u for u in allowed.get("users", [])}
    teams = {t.get("slug") if isinstance(t, dict) else t for t in allowed.get("teams", [])}
    apps = {a.get("slug") if isinstance(a, dict) else a for a in allowed.get("apps", [])}
    if actor.app_slug is not None:
        return actor.app_slug in apps
    return actor.login in users or bool(actor.team_slugs & teams)


def _classic_checks(prot: dict[str, Any]) -> list[tuple[str, int | None]]:
    rsc = prot.get("required_status_checks")
    if not isinstance(rsc, dict):
        return []
    checks = rsc.get("checks") or [{"context": c, "app_id": None} for c in rsc.get("contexts", [])]
    return [(str(c["context"]), c.get("app_id")) for c in checks]


def classic_push(prot: dict[str, Any], actor: Actor, change: Change) -> Refusal | None:
    admin_bypass = not _enabled(prot, "enforce_admins") and actor.role == "admin"
    reasons: list[str] = []
    restrictions = prot.get("restrictions")
    if isinstance(restrictions, dict) and not admin_bypass and not _listed(actor, restrictions):
        reasons.append(NOT_AUTHORIZED)
    if change.kind == "delete" and not _enabled(prot, "allow_deletions"):
        reasons.append("Cannot delete this protected branch")
    if change.kind == "force" and not _enabled(prot, "allow_force_pushes"):
        reasons.append("Cannot force-push to this protected branch")
    reviews = prot.get("required_pull_request_reviews")
    pr_needed = isinstance(reviews, dict) and not admin_bypass and change.kind != "delete"
    if pr_needed and not _listed(actor, (reviews or {}).get("bypass_pull_request_allowances")):
        reasons.append(PR_REQUIRED)
    required = _classic_checks(prot)
    if required and not admin_bypass and change.kind != "delete":
        missing = missing_checks(required, change.passing)
        if missing:
            reasons.append(checks_message(missing, len(required)))
    if _enabled(prot, "required_linear_history") and change.merge_commit:
        reasons.append(LINEAR)
    if not reasons:
        return None
    head = f"Protected branch update failed for refs/heads/{change.branch}."
    return Refusal(422, "\n\n".join([head, *reasons]), tuple(reasons))


def classic_merge(prot: dict[str, Any], actor: Actor, facts: MergeFacts) -> Refusal | None:
    if not _enabled(prot, "enforce_admins") and actor.role == "admin":
        return None
    restrictions = prot.get("restrictions")
    if isinstance(restrictions, dict) and not _listed(actor, restrictions):
        return Refusal(405, NOT_AUTHORIZED, (NOT_AUTHORIZED,))
    reviews = prot.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        need = int(reviews.get("required_approving_review_count", 1) or 0)
        have = facts.approvals_on_head if reviews.get("dismiss_stale_reviews") else facts.approvals
        if have < need:
            text = reviews_message(need)
            return Refusal(405, text, (text,))
    required = _classic_checks(prot)
    missing = missing_checks(required, facts.passing)
    if missing:
        text = checks_message(missing, len(required))
        return Refusal(405, text, (text,))
    strict = (prot.get("required_status_checks") or {}).get("strict")
    if required and strict and not facts.up_to_date:
        text = "Head branch is out of date. Update the branch before merging."
        return Refusal(405, text, (text,))
    if _enabled(prot, "required_linear_history") and facts.method == "merge":
        text = "Merge commits are not allowed on this protected branch."
        return Refusal(405, text, (text,))
    return None


# -- rulesets ------------------------------------------------------------------------------


def _matches(pattern: str, branch: str, default_branch: str) -> bool:
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return branch == default_branch
    ref = f"refs/heads/{branch}"
    return fnmatch.fnmatchcase(ref, pattern) or fnmatch.fnmatchcase(branch, pattern)


def applies(ruleset: dict[str, Any], branch: str, default_branch: str) -> bool:
    """Whether an active branch ruleset covers `branch`."""
    if ruleset.get("enforcement") != "active" or ruleset.get("target", "branch") != "branch":
        return False
    ref_name = (ruleset.get("conditions") or {}).get("ref_name") or {}
    include = ref_name.get("include") or []
    exclude = ref_name.get("exclude") or []
    if not any(_matches(p, branch, default_branch) for p in include):
        return False
    return not any(_matches(p, branch, default_branch) for p in exclude)


def bypass_mode(ruleset: dict[str, Any], actor: Actor) -> str:
    """``always``, ``pull_requests_only`` or ``never`` (GitHub's `current_user_can_bypass`)."""
    best = "never"
    for entry in ruleset.get("bypass_actors") or []:
        kind, ident = entry.get("actor_type"), entry.get("actor_id")
        hit = (
            (kind == "Integration" and actor.app_id is not None and ident == actor.app_id)
            or (kind == "Team" and actor.app_id is None and ident in actor.teams)
            or (kind == "OrganizationAdmin" and actor.org_admin)
            or (
                kind == "RepositoryRole"
                and actor.app_id is None
                and role_rank(actor.role) >= role_rank(ROLE_IDS.get(int(ident or 0)))
                and ROLE_IDS.get(int(ident or 0)) is not None
            )
        )
        if not hit:
            continue
        if entry.get("bypass_mode", "always") == "always":
            return "always"
        best = "pull_requests_only"
    return best


def _rules(rulesets: Iterable[dict[str, Any]], branch: str, default: str, actor: Actor, *,
           merging: bool) -> list[dict[str, Any]]:  # fmt: skip
    out: list[dict[str, Any]] = []
    for ruleset in rulesets:
        if not applies(ruleset, branch, default):
            continue
        mode = bypass_mode(ruleset, actor)
        if mode == "always" or (merging and mode == "pull_requests_only"):
            continue
        out.extend(ruleset.get("rules") or [])
    return out


def _ruleset_checks(rules: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    out = []
    for rule in rules:
        if rule.get("type") == "required_status_checks":
            for c in (rule.get("parameters") or {}).get("required_status_checks", []):
                out.append((str(c["context"]), c.get("integration_id")))
    return out


def ruleset_push(
    rulesets: Iterable[dict[str, Any]], actor: Actor, change: Change
) -> Refusal | None:
    rules = _rules(rulesets, change.branch, change.default_branch, actor, merging=False)
    kinds = {r.get("type") for r in rules}
    reasons = []
    if change.kind == "create" and "creation" in kinds:
        reasons.append("Cannot create ref due to creations being restricted.")
    if change.kind in ("update", "force") and "update" in kinds:
        reasons.append("Cannot update this protected ref.")
    if change.kind == "delete" and "deletion" in kinds:
        reasons.append("Cannot delete this branch")
    if change.kind == "force" and "non_fast_forward" in kinds:
        reasons.append("Cannot force-push to this branch")
    if change.kind in ("update", "force") and "pull_request" in kinds:
        reasons.append(PR_REQUIRED)
    required = _ruleset_checks(rules)
    missing = missing_checks(required, change.passing) if change.kind != "delete" else []
    if missing:
        reasons.append(checks_message(missing, len(required)))
    if "required_linear_history" in kinds and change.merge_commit:
        reasons.append(LINEAR)
    return _ruleset_refusal(422, reasons)


def ruleset_merge(
    rulesets: Iterable[dict[str, Any]], actor: Actor, facts: MergeFacts
) -> Refusal | None:
    rules = _rules(rulesets, facts.branch, facts.default_branch, actor, merging=True)
    reasons = []
    for rule in rules:
        if rule.get("type") != "pull_request":
            continue
        params = rule.get("parameters") or {}
        need = int(params.get("required_approving_review_count", 0) or 0)
        stale = params.get("dismiss_stale_reviews_on_push")
        have = facts.approvals_on_head if stale else facts.approvals
        if have < need:
            reasons.append(reviews_message(need))
    required = _ruleset_checks(rules)
    missing = missing_checks(required, facts.passing)
    if missing:
        reasons.append(checks_message(missing, len(required)))
    strict = any(
        (r.get("parameters") or {}).get("strict_required_status_checks_policy")
        for r in rules
        if r.get("type") == "required_status_checks"
    )
    if strict and not facts.up_to_date:
        reasons.append("Head branch is out of date. Update the branch before merging.")
    if facts.method == "merge" and any(r.get("type") == "required_linear_history" for r in rules):
        reasons.append(LINEAR)
    return _ruleset_refusal(405, reasons)


def _ruleset_refusal(status: int, reasons: list[str]) -> Refusal | None:
    if not reasons:
        return None
    unique = list(dict.fromkeys(reasons))
    message = RULESET_HEAD + "\n\n" + "".join(f"{r}\n\n" for r in unique)
    return Refusal(status, message, tuple(unique))
