"""``GET /search/issues``: GitHub's issue/PR search over the sandbox's issues.

Supported qualifiers (each may be negated with ``-``): ``repo:o/r``, ``is:pr|issue|open|
closed|merged|unmerged|draft``, ``type:pr|issue``, ``state:open|closed``, ``label:x``
(several mean all of them; quote names with spaces: ``label:"needs review"``),
``no:label``, ``author:``, ``assignee:``, ``head:``, ``base:``, ``in:`` (ignored),
``review:approved|changes_requested|none`` (each reviewer's latest decisive review:
approved when one approves and none requests changes) and ``status:success|failure|pending``
(the combined state of the head's commit statuses AND check runs); other words must all
appear in the title or body. ``sort=created|updated|comments``, ``order=asc|desc``. Only
repositories the caller can read are searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.http import ApiError, RequestContext, Response, Router, paginate
from bot.sandbox.rules import search_lag

_TOKEN = re.compile(r'(-?)([a-zA-Z_-]+):("(?:[^"]*)"|\S+)|"([^"]*)"|(\S+)')
KNOWN = frozenset(
    {
        "repo", "is", "type", "state", "label", "no", "author", "assignee", "head", "base",
        "in", "review", "status",
    }
)  # fmt: skip
DECISIVE = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")
RUN_OK = ("success", "neutral", "skipped")


@dataclass(frozen=True)
class Query:
    """A parsed search: required and excluded qualifier values, and free-text terms."""

    include: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    terms: tuple[str, ...] = ()


def parse_query(text: str) -> Query:
    """Split ``q`` into qualifiers and words (pure). Unknown qualifiers are words."""
    include: dict[str, list[str]] = {}
    exclude: dict[str, list[str]] = {}
    terms: list[str] = []
    for match in _TOKEN.finditer(text):
        negated, key, value, quoted, word = match.groups()
        if key is not None and key.lower() in KNOWN:
            target = exclude if negated else include
            target.setdefault(key.lower(), []).append(value.strip('"'))
        elif key is not None:
            terms.append(match.group(0).lower())
        else:
            terms.append((quoted if quoted is not None else word).lower())
    return Query(
        {k: tuple(v) for k, v in include.items()},
        {k: tuple(v) for k, v in exclude.items()},
        tuple(terms),
    )


ALL = Query({"review": ("approved",), "status": ("success",)})  # every fact computed


@dataclass(frozen=True)
class Candidate:
    """What a query is matched against: plain values of one issue or pull request."""

    repo: str
    is_pull: bool
    state: str
    merged: bool
    draft: bool
    labels: tuple[str, ...]
    author: str
    assignees: tuple[str, ...]
    head: str
    base: str
    text: str
    review: str = ""  # approved | changes_requested | none (pull requests, when asked)
    status: str = ""  # success | failure | pending: the head's combined state (when asked)


def _facts(c: Candidate, key: str, value: str) -> bool:
    """Whether one qualifier holds for a candidate (pure)."""
    v = value.lower()
    checks = {
        "repo": lambda: c.repo.lower() == v,
        "type": lambda: c.is_pull == (v in ("pr", "pull-request")),
        "state": lambda: c.state == v,
        "label": lambda: v in (label.lower() for label in c.labels),
        "no": lambda: (not c.labels) if v == "label" else (not c.assignees),
        "author": lambda: c.author.lower() == v,
        "assignee": lambda: v in (a.lower() for a in c.assignees),
        "head": lambda: c.head.lower() == v,
        "base": lambda: c.base.lower() == v,
        "in": lambda: True,
        "review": lambda: c.is_pull and c.review == v.replace("-", "_"),
        "status": lambda: c.is_pull and c.status == v,
    }
    if key == "is":
        return {
            "pr": c.is_pull, "issue": not c.is_pull, "open": c.state == "open",
            "closed": c.state == "closed", "merged": c.merged,
            "unmerged": c.is_pull and not c.merged, "draft": c.draft,
        }.get(v, False)  # fmt: skip
    return checks[key]()


def matches(query: Query, c: Candidate) -> bool:
    for key, values in query.include.items():
        if not all(_facts(c, key, v) for v in values):
            return False
    for key, values in query.exclude.items():
        if any(_facts(c, key, v) for v in values):
            return False
    return all(term in c.text for term in query.terms)


def review_state(latest: dict[str, str]) -> str:
    """GitHub's review decision from each reviewer's latest decisive review (pure)."""
    states = set(latest.values())
    if "CHANGES_REQUESTED" in states:
        return "changes_requested"
    return "approved" if "APPROVED" in states else "none"


def run_state(status: str, conclusion: str | None) -> str:
    """A check run as a commit state (pure): neutral and skipped count as success."""
    if status != "completed":
        return "pending"
    return "success" if conclusion in RUN_OK else "failure"


def _review(ctx: RequestContext, repo: str, number: int, author: str) -> str:
    latest: dict[str, str] = {}
    rows = ctx.store.where("reviews", repo=repo, pull_number=number)
    for review in sorted(rows, key=lambda r: r["id"]):
        if review["state"] in DECISIVE and review["user"] != author:
            latest[review["user"]] = review["state"]
    return review_state(latest)


def _status(ctx: RequestContext, repo: str, pull: dict[str, Any]) -> str:
    from bot.sandbox.api.pulls import head_sha
    from bot.sandbox.api.statuses import combined_state, statuses_for

    sha = head_sha(ctx, repo, pull)
    contexts: dict[str, str] = {}
    for status in statuses_for(ctx, repo, sha):  # newest first
        contexts.setdefault(status["context"], status["state"])
    runs: dict[str, str] = {}
    for run in sorted(
        ctx.store.where("check_runs", repo=repo, head_sha=sha), key=lambda r: r["id"]
    ):
        runs[run["name"]] = run_state(run["status"], run.get("conclusion"))
    return combined_state([*contexts.values(), *runs.values()])


def _candidate(
    ctx: RequestContext, key: str, issue: dict[str, Any], query: Query | None = None
) -> Candidate:
    pull = ctx.store.data["pulls"].get(key, {}) if issue.get("is_pull") else {}
    asked = set(query.include) | set(query.exclude) if query is not None else set()
    review = status = ""
    if pull and "review" in asked:
        review = _review(ctx, issue["repo"], issue["number"], str(issue.get("user", "")))
    if pull and "status" in asked:
        status = _status(ctx, issue["repo"], pull)
    return Candidate(
        repo=issue["repo"],
        is_pull=bool(issue.get("is_pull")),
        state=issue["state"],
        merged=bool(pull.get("merged")),
        draft=bool(pull.get("draft")),
        labels=tuple(issue.get("labels", [])),
        author=str(issue.get("user", "")),
        assignees=tuple(issue.get("assignees", [])),
        head=str(pull.get("head_ref", "")),
        base=str(pull.get("base_ref", "")),
        text=f"{issue.get('title', '')}\n{issue.get('body') or ''}".lower(),
        review=review,
        status=status,
    )


def _item(issue: dict[str, Any]) -> dict[str, Any]:
    """An issue as a search result: a score, and a string body (the schema's type)."""
    return issue | {"score": 1.0, "body": issue.get("body") or ""}


def search_issues(ctx: RequestContext) -> Response:
    from bot.sandbox.api.issues import issue_json

    search_lag.check_rate(ctx)  # GitHub's separate search rate limit, when configured
    text = ctx.arg("q")
    if not text:
        raise ApiError(422, "Validation Failed",
                       [{"resource": "Search", "field": "q", "code": "missing"}])  # fmt: skip
    query = parse_query(text)
    lagged = search_lag.lag(ctx).total_seconds() > 0  # the index trails changes (rules)
    asked = ALL if lagged else query
    found = [
        issue for key, issue in ctx.store.data["issues"].items()
        if ctx.role(issue["repo"]) is not None
        and (c := search_lag.seen(ctx, key, str(issue.get("created_at") or ""),
                                  _candidate(ctx, key, issue, asked)))
        and matches(query, c)
    ]  # fmt: skip
    sort = ctx.arg("sort")
    field_name = {"created": "created_at", "updated": "updated_at"}.get(sort or "", "")
    if sort == "comments":
        found.sort(key=lambda i: len(ctx.store.where("comments", repo=i["repo"],
                                                      issue_number=i["number"])))  # fmt: skip
    elif field_name:
        found.sort(key=lambda i: (i[field_name], i["id"]))
    else:
        found.sort(key=lambda i: i["id"])
    if ctx.arg("order", "desc") == "desc":
        found.reverse()
    items = [_item(issue_json(ctx, i["repo"], i)) for i in found]
    page = paginate(ctx, items)
    page.body = {
        "total_count": len(items),
        "incomplete_results": False,
        "search_type": "lexical",
        "items": page.body,
    }
    page.headers["X-RateLimit-Resource"] = "search"
    return page


def routes(router: Router) -> None:
    router.add("GET", "/search/issues", search_issues)
