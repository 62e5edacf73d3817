"""The `policy` gate: freeze windows, the cutover window and the approval policy.

The calendar decides freeze and cutover (plain facts here). Approvals follow GitHub's review
model: each reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review is what counts
(a later COMMENTED does not cancel an approval); a standing CHANGES_REQUESTED blocks. The bot
and the authors of boarded PRs (unless `boarded_authors_may_approve`) never count; an
approval counts only on the train PR's head commit and from someone with write access,
failing closed when either is unknown (`bot.core.approvals`); with `dismiss_stale` an
approval submitted before the release branch last changed does not count either. Approvers
may be restricted to teams and/or to the CODEOWNERS of the changed paths (then every owned
path also needs one of its owners). Emergency trains use the emergency rule. Waiting on
people is `action_required`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config.model import ApprovalRule, Gates
from bot.core.approvals import Approver, permission_of, why_not_counted
from bot.core.gates.base import (
    Annotation,
    Conclusion,
    GateResult,
    as_bool,
    as_str_tuple,
    config_error,
    markdown_table,
    settings_keys,
    worst,
)
from bot.core.gates.codeowners import Codeowners, parse_codeowners
from bot.errors import Problem

NAME = "policy"
BOT_LOGIN = "release-train[bot]"
_DECISIVE = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})


@dataclass(frozen=True)
class Review:
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | DISMISSED | COMMENTED | PENDING
    submitted_at: datetime
    commit_id: str = ""


@dataclass(frozen=True)
class PolicyFacts:
    reviews: tuple[Review, ...] = ()
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # "org/slug"
    codeowners_text: str | None = None  # None: the repository has no CODEOWNERS file
    codeowners_path: str = ".github/CODEOWNERS"
    changed_paths: tuple[str, ...] = ()
    boarded_authors: tuple[str, ...] = ()
    branch_changed_at: datetime | None = None  # when the release branch last moved
    emergency: bool = False
    freeze: str | None = None  # name of the freeze in force, from the calendar
    freeze_ends: datetime | None = None
    in_cutover: bool = True
    next_cutover: datetime | None = None
    # who may approve, failing closed: logins known to have write access, and each
    # approver's role as read (login -> role); an approver in neither never counts
    writers: frozenset[str] | None = None
    permissions: Mapping[str, str] = field(default_factory=dict)
    head_sha: str = ""  # the train PR's head: approvals on other commits do not count
    pr_author: str = ""  # the train PR's author (normally the bot)


@dataclass(frozen=True)
class PolicySettings:
    approvals: ApprovalRule = field(default_factory=ApprovalRule)
    emergency_approvals: ApprovalRule = field(default_factory=lambda: ApprovalRule(required=2))
    bot_login: str = BOT_LOGIN
    enforce_freeze: bool = True
    enforce_cutover: bool = True
    emergency_ignores_freeze: bool = True
    emergency_ignores_cutover: bool = True


_KEYS = (
    "approvals",
    "emergency_approvals",
    "bot_login",
    "enforce_freeze",
    "enforce_cutover",
    "emergency_ignores_freeze",
    "emergency_ignores_cutover",
)


def settings_from_config(
    mapping: Mapping[str, object], gates: Gates | None = None
) -> PolicySettings:
    """Settings from `gates.policy`; approval rules not given there come from `gates`."""
    settings_keys(mapping, _KEYS, NAME)
    base = PolicySettings()
    typed = gates or Gates()
    flags = {
        key: as_bool(mapping.get(key, getattr(base, key)), f"gates.policy.{key}")
        for key in _KEYS[3:]
    }
    bot_login = mapping.get("bot_login", base.bot_login)
    if not isinstance(bot_login, str) or not bot_login:
        raise config_error("gates.policy.bot_login: expected a GitHub login")
    return PolicySettings(
        approvals=_rule(mapping.get("approvals"), typed.approvals, "approvals"),
        emergency_approvals=_rule(
            mapping.get("emergency_approvals"), typed.emergency_approvals, "emergency_approvals"
        ),
        bot_login=bot_login,
        **flags,
    )


def _rule(value: object, default: ApprovalRule, what: str) -> ApprovalRule:
    if value is None:
        return default
    if not isinstance(value, Mapping):
        raise config_error(f"gates.policy.{what}: expected a mapping")
    keys = ("required", "teams", "codeowners", "dismiss_stale", "boarded_authors_may_approve")
    settings_keys(value, keys, f"policy.{what}")
    required = value.get("required", default.required)
    if isinstance(required, bool) or not isinstance(required, int) or required < 0:
        raise config_error(f"gates.policy.{what}.required: expected a count (0 or more)")
    return ApprovalRule(
        required=required,
        teams=as_str_tuple(value.get("teams", default.teams), f"{what}.teams"),
        codeowners=as_bool(value.get("codeowners", default.codeowners), f"{what}.codeowners"),
        dismiss_stale=as_bool(
            value.get("dismiss_stale", default.dismiss_stale), f"{what}.dismiss_stale"
        ),
        boarded_authors_may_approve=as_bool(
            value.get("boarded_authors_may_approve", default.boarded_authors_may_approve),
            f"{what}.boarded_authors_may_approve",
        ),
    )


@dataclass(frozen=True)
class Approvals:
    """The approval policy's outcome, as plain values."""

    counted: tuple[str, ...]  # approvers that count, in review order
    ignored: tuple[tuple[str, str], ...]  # (login, why it does not count)
    changes_requested: tuple[str, ...]
    uncovered: tuple[tuple[str, tuple[str, ...]], ...]  # (path, its CODEOWNERS) lacking one
    required: int
    problem: str | None = None  # the policy cannot be judged (e.g. no CODEOWNERS file)
    codeowners_problems: tuple[Problem, ...] = ()  # lines GitHub skips, as warnings

    @property
    def met(self) -> bool:
        return (
            self.problem is None
            and not self.changes_requested
            and not self.uncovered
            and len(self.counted) >= self.required
        )


def latest_reviews(reviews: tuple[Review, ...]) -> dict[str, Review]:
    """Each reviewer's latest decisive review (COMMENTED and PENDING never replace one)."""
    latest: dict[str, Review] = {}
    for review in sorted(reviews, key=lambda r: r.submitted_at):
        if review.state.upper() in _DECISIVE:
            latest[review.user.lower()] = review
    return latest


def team_logins(team: str, members: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """Members of `org/slug` (or a bare `slug`), lower-case; None when the team is unknown."""
    wanted = team.lstrip("@").lower()
    found: set[str] = set()
    known = False
    for key, logins in members.items():
        name = key.lstrip("@").lower()
        if name == wanted or ("/" not in wanted and name.split("/")[-1] == wanted):
            known = True
            found |= {login.lower() for login in logins}
    return frozenset(found) if known else None


def owner_logins(owners: tuple[str, ...], members: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """GitHub logins behind CODEOWNERS owners (`@user`, `@org/team`; e-mails match nobody)."""
    logins: set[str] = set()
    for owner in owners:
        if not owner.startswith("@"):
            continue
        if "/" in owner:
            logins |= team_logins(owner, members) or frozenset()
        else:
            logins.add(owner[1:].lower())
    return frozenset(logins)


def judge_approvals(facts: PolicyFacts, rule: ApprovalRule, bot_login: str) -> Approvals:
    latest = latest_reviews(facts.reviews)
    codeowners: Codeowners | None = None
    problem = None
    if rule.codeowners:
        if facts.codeowners_text is None:
            problem = "the policy requires code owners but the repository has no CODEOWNERS file"
        else:
            codeowners = parse_codeowners(facts.codeowners_text, facts.codeowners_path)
    owned = _owned_paths(codeowners, facts) if codeowners else {}
    declared = {path: codeowners.owners_of(path) for path in owned} if codeowners else {}
    who = _Who(
        bot=bot_login.lower(),
        authors=frozenset(a.lower() for a in facts.boarded_authors),
        rule=rule,
        branch_changed_at=facts.branch_changed_at,
        team=_team_filter(rule.teams, facts.team_members),
        owners=frozenset().union(*owned.values()) if owned else None,
        writers=frozenset(w.lower() for w in facts.writers or ()),
        permissions=facts.permissions,
        head_sha=facts.head_sha,
        pr_author=facts.pr_author,
    )
    counted: list[str] = []
    ignored: list[tuple[str, str]] = []
    for login, review in latest.items():
        if review.state.upper() != "APPROVED":
            continue
        why = _why_not(login, review, who)
        if why:
            ignored.append((review.user, why))
        else:
            counted.append(login)
    uncovered = tuple(
        (path, declared[path]) for path, owners in owned.items() if not owners & set(counted)
    )
    changes = tuple(r.user for r in latest.values() if r.state.upper() == "CHANGES_REQUESTED")
    skipped = codeowners.problems if codeowners else ()
    return Approvals(
        tuple(counted), tuple(ignored), changes, uncovered, rule.required, problem, skipped
    )


def _owned_paths(codeowners: Codeowners, facts: PolicyFacts) -> dict[str, frozenset[str]]:
    """Each changed path that has owners, mapped to the logins that may approve it."""
    owned = {}
    for path in facts.changed_paths:
        owners = codeowners.owners_of(path)
        if owners:
            owned[path] = owner_logins(owners, facts.team_members)
    return owned


def _team_filter(
    teams: tuple[str, ...], members: Mapping[str, frozenset[str]]
) -> frozenset[str] | None:
    if not teams:
        return None
    logins: frozenset[str] = frozenset()
    for team in teams:
        logins |= team_logins(team, members) or frozenset()
    return logins


@dataclass(frozen=True)
class _Who:
    """What decides whether one approval counts."""

    bot: str
    authors: frozenset[str]
    rule: ApprovalRule
    branch_changed_at: datetime | None
    team: frozenset[str] | None  # None: any team
    owners: frozenset[str] | None  # None: code owners not required (or no owned path)
    writers: frozenset[str] = frozenset()
    permissions: Mapping[str, str] = field(default_factory=dict)
    head_sha: str = ""
    pr_author: str = ""


def _why_not(login: str, review: Review, who: _Who) -> str:
    """Why an approval does not count ("" when it does): the rules of every approval
    (`bot.core.approvals`: head commit, write access, not an author), then this policy's."""
    if login == who.bot:
        return "the bot"
    if login in who.authors and not who.rule.boarded_authors_may_approve:
        return "author of a boarded PR"
    role = "write" if login in who.writers else permission_of(login, who.permissions)
    approver = Approver(login, review.commit_id, role)
    why = why_not_counted(approver, who.head_sha, (who.pr_author,), who.bot)
    if why:
        return why
    changed = who.branch_changed_at
    if who.rule.dismiss_stale and changed is not None and review.submitted_at < changed:
        return f"stale: given before the release branch changed at {changed.isoformat()}"
    if who.team is not None and login not in who.team:
        return f"not a member of {', '.join(who.rule.teams)}"
    if who.owners is not None and login not in who.owners:
        return "not a code owner of the changed paths"
    return ""


class PolicyGate:
    name = NAME

    def evaluate(self, facts: PolicyFacts, settings: PolicySettings, now: datetime) -> GateResult:
        rule = settings.emergency_approvals if facts.emergency else settings.approvals
        approvals = judge_approvals(facts, rule, settings.bot_login)
        parts: list[tuple[str, Conclusion, str, timedelta | None]] = []
        parts.append(_freeze_part(facts, settings, now))
        parts.append(_cutover_part(facts, settings, now))
        parts.append(_approval_part(approvals, facts.emergency))
        conclusion = worst([p[1] for p in parts])
        rechecks = [p[3] for p in parts if p[1] == "in_progress" and p[3] is not None]
        checked = markdown_table(["check", "state", "detail"], [[p[0], p[1], p[2]] for p in parts])
        title = next((p[2] for p in parts if p[1] == conclusion), "Policy satisfied")
        if conclusion == "success":
            title = "Policy satisfied"
        notes = [f"- warning: {p.render()}" for p in approvals.codeowners_problems]
        return GateResult(
            NAME,
            conclusion,
            _short(title),
            "\n\n".join(
                [checked, _reviewer_table(approvals), *(["\n".join(notes)] if notes else [])]
            ),
            annotations=tuple(_warning(p) for p in approvals.codeowners_problems),
            recheck_after=min(rechecks) if rechecks else None,
            details=_details(approvals, facts, rule),
        )


def _freeze_part(
    facts: PolicyFacts, settings: PolicySettings, now: datetime
) -> tuple[str, Conclusion, str, timedelta | None]:
    if facts.freeze is None:
        return ("freeze", "success", "no freeze in force", None)
    if not settings.enforce_freeze or (facts.emergency and settings.emergency_ignores_freeze):
        return ("freeze", "success", f"freeze `{facts.freeze}` in force, not enforced here", None)
    until = f" until {facts.freeze_ends.isoformat()}" if facts.freeze_ends else ""
    recheck = max(facts.freeze_ends - now, timedelta(0)) if facts.freeze_ends else None
    return ("freeze", "in_progress", f"held by freeze `{facts.freeze}`{until}", recheck)


def _cutover_part(
    facts: PolicyFacts, settings: PolicySettings, now: datetime
) -> tuple[str, Conclusion, str, timedelta | None]:
    if facts.in_cutover:
        return ("cutover window", "success", "open", None)
    if not settings.enforce_cutover or (facts.emergency and settings.emergency_ignores_cutover):
        return ("cutover window", "success", "closed, not enforced here", None)
    if facts.next_cutover is None:
        return ("cutover window", "in_progress", "closed; no upcoming window", None)
    wait = max(facts.next_cutover - now, timedelta(0))
    opens = f"closed; opens {facts.next_cutover.isoformat()}"
    return ("cutover window", "in_progress", opens, wait)


def _approval_part(
    approvals: Approvals, emergency: bool
) -> tuple[str, Conclusion, str, timedelta | None]:
    label = "approvals (emergency rule)" if emergency else "approvals"
    if approvals.problem:
        return (label, "failure", approvals.problem, None)
    if approvals.changes_requested:
        who = ", ".join(f"@{u}" for u in approvals.changes_requested)
        return (label, "action_required", f"changes requested by {who}", None)
    have = f"{len(approvals.counted)} of {approvals.required} approval(s)"
    if len(approvals.counted) < approvals.required:
        return (label, "action_required", f"{have}; waiting for reviewers", None)
    if approvals.uncovered:
        paths = ", ".join(f"`{p}`" for p, _ in approvals.uncovered[:5])
        more = f" and {len(approvals.uncovered) - 5} more" if len(approvals.uncovered) > 5 else ""
        return (label, "action_required", f"{have}; waiting for code owners of {paths}{more}", None)
    return (label, "success", have, None)


def _reviewer_table(approvals: Approvals) -> str:
    rows = [[f"@{u}", "approved", "counts"] for u in approvals.counted]
    rows += [[f"@{u}", "approved", f"does not count: {why}"] for u, why in approvals.ignored]
    rows += [[f"@{u}", "changes requested", "blocks"] for u in approvals.changes_requested]
    rows += [
        [f"`{path}`", "no owner approval", "owners: " + ", ".join(owners)]
        for path, owners in approvals.uncovered
    ]
    return markdown_table(["who / what", "state", "effect"], rows) or "No reviews yet."


def _details(approvals: Approvals, facts: PolicyFacts, rule: ApprovalRule) -> dict[str, object]:
    return {
        "emergency": facts.emergency,
        "required": rule.required,
        "approved_by": list(approvals.counted),
        "ignored": [list(pair) for pair in approvals.ignored],
        "changes_requested": list(approvals.changes_requested),
        "uncovered_paths": [p for p, _ in approvals.uncovered],
        "freeze": facts.freeze,
        "in_cutover": facts.in_cutover,
    }


def _warning(problem: Problem) -> Annotation:
    line = max(problem.line, 1)
    return Annotation(problem.file, line, line, "warning", problem.message, "CODEOWNERS")


def _short(title: str) -> str:
    return title if len(title) <= 200 else title[:199] + "…"


GATE = PolicyGate()
