"""Preflight, pure: can each stage's branch be written the way the configuration says?

`release-train doctor` reads a branch's classic protection and ruleset rules (with whether
the bot may bypass each ruleset) into `BranchRules`, and this module judges them, the way
GitHub would judge the bot's writes: a direct commit (Git Data API: a ref update without
force) or a pull request the bot opens and merges (merge method ``merge``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DIRECT = "direct"
NEEDS_PR = "needs pull-request mode"
CANNOT = "cannot be written"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class BranchRules:
    """What GitHub says about one branch for the bot. `classic`: the protection as GitHub
    answers it (None: none; `classic_unreadable`: protected, but the token may not read
    how); `rules`: (ruleset name, rule) pairs from rulesets the bot cannot always bypass,
    with `pr_bypass` naming those it bypasses in pull requests only."""

    repo: str
    branch: str
    exists: bool = True
    classic: dict[str, Any] | None = None
    classic_unreadable: bool = False
    rules: tuple[tuple[str, dict[str, Any]], ...] = ()
    pr_bypass: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    how: str  # DIRECT, NEEDS_PR, CANNOT or UNKNOWN
    reasons: tuple[str, ...] = ()
    waits_for: tuple[str, ...] = ()  # what a stage pull request waits for (reviews, checks)


@dataclass(frozen=True)
class StageReport:
    stage: str
    repo: str
    branch: str
    mode: str  # the configuration's: "commit" or "pull_request"
    verdict: Verdict
    problem: str = ""


@dataclass(frozen=True)
class Report:
    repo: str
    token: str
    stages: tuple[StageReport, ...]
    missing: tuple[str, ...] = ()  # "name: level (why)"
    notes: tuple[str, ...] = field(default=())

    @property
    def problems(self) -> tuple[str, ...]:
        stage = tuple(s.problem for s in self.stages if s.problem)
        return stage + tuple(f"missing permission {m}" for m in self.missing)

    @property
    def ok(self) -> bool:
        return not self.problems


def _listed(me: str, allowed: Any) -> bool:
    if not isinstance(allowed, dict):
        return False
    names = set()
    for key in ("users", "apps", "teams"):
        for item in allowed.get(key) or []:
            names.add(
                str(item.get("slug") or item.get("login")) if isinstance(item, dict) else item
            )
    return me in names


def _classic(prot: dict[str, Any], me: str) -> tuple[list[str], list[str], list[str]]:
    """(blocks direct, blocks a PR merge, a PR waits for) under classic protection."""
    direct: list[str] = []
    merge: list[str] = []
    waits: list[str] = []
    restrictions = prot.get("restrictions")
    if isinstance(restrictions, dict) and not _listed(me, restrictions):
        merge.append("protection: push restricted to a list the bot is not on")
        direct.append(merge[-1])
    reviews = prot.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        if not _listed(me, reviews.get("bypass_pull_request_allowances")):
            direct.append("protection: changes must be made through a pull request")
        count = int(reviews.get("required_approving_review_count") or 0)
        if count:
            waits.append(f"{count} approving review(s)")
    checks = prot.get("required_status_checks")
    if isinstance(checks, dict) and (checks.get("contexts") or checks.get("checks")):
        names = checks.get("contexts") or [c.get("context") for c in checks.get("checks") or []]
        direct.append(f"protection: required status checks ({', '.join(map(str, names))})")
        waits.append(f"checks {', '.join(map(str, names))}")
    linear = prot.get("required_linear_history")
    if isinstance(linear, dict) and linear.get("enabled"):
        merge.append("protection: linear history (the bot merges with a merge commit)")
    return direct, merge, waits


def _ruleset(rules: BranchRules) -> tuple[list[str], list[str], list[str]]:
    direct: list[str] = []
    merge: list[str] = []
    waits: list[str] = []
    for name, rule in rules.rules:
        kind = rule.get("type")
        params = rule.get("parameters") or {}
        where = f'ruleset "{name}"'
        if kind == "update":
            direct.append(f"{where}: updates restricted")
            merge.append(direct[-1])
        elif kind == "pull_request":
            direct.append(f"{where}: changes must be made through a pull request")
            count = int(params.get("required_approving_review_count") or 0)
            if count and name not in rules.pr_bypass:
                waits.append(f"{count} approving review(s)")
        elif kind == "required_status_checks":
            names = [str(c.get("context")) for c in params.get("required_status_checks") or []]
            direct.append(f"{where}: required status checks ({', '.join(names)})")
            if name not in rules.pr_bypass:
                waits.append(f"checks {', '.join(names)}")
        elif kind == "required_linear_history" and name not in rules.pr_bypass:
            merge.append(f"{where}: linear history (the bot merges with a merge commit)")
    return direct, merge, waits


def judge(rules: BranchRules, me: str) -> Verdict:
    """How the bot (`me`: its App slug or login) can write the branch."""
    if not rules.exists:
        return Verdict(CANNOT, (f"branch {rules.branch} does not exist",))
    direct, merge, waits = _ruleset(rules)
    if rules.classic is not None:
        more = _classic(rules.classic, me)
        direct, merge, waits = direct + more[0], merge + more[1], waits + more[2]
    if merge:
        return Verdict(CANNOT, tuple(merge))
    if direct:
        return Verdict(NEEDS_PR, tuple(direct), tuple(dict.fromkeys(waits)))
    if rules.classic_unreadable:
        why = "protected; its rules are unreadable without `administration: read`"
        return Verdict(UNKNOWN, (why,))
    return Verdict(DIRECT)


def stage_problem(stage: str, mode: str, branch: str, verdict: Verdict) -> str:
    """Why the configured mode cannot complete a train (""when it can)."""
    why = "; ".join(verdict.reasons)
    if verdict.how == CANNOT:
        return (
            f"stage {stage}: {branch} cannot be written by the bot ({why}) — fix: add the App "
            "to the bypass list of that protection or ruleset"
        )
    if verdict.how == NEEDS_PR and mode != "pull_request":
        return (
            f"stage {stage}: {branch} refuses direct commits ({why}) — fix: set `mode: "
            "pull_request` on the stage, or add the App to the bypass list"
        )
    return ""
