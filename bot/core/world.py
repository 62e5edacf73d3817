"""The bot's own snapshot of GitHub: frozen values parsed once from API JSON.

The adapter fills a `World`; the pure core (`bot.core.decide`) only ever sees these types.
Parsing is lenient about missing keys (real payloads vary) and strict about nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PERMISSION_ORDER = ("none", "read", "triage", "write", "maintain", "admin")


def parse_time(value: Any) -> datetime:
    """GitHub's ISO 8601 timestamps (``...Z``); a missing one is the epoch."""
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _login(raw: Any) -> str:
    return str((raw or {}).get("login", ""))


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str = ""
    author: str = ""
    state: str = "open"  # open | closed
    merged: bool = False
    draft: bool = False
    base: str = "main"
    head_ref: str = ""
    head_sha: str = ""
    labels: tuple[str, ...] = ()
    body: str = ""
    fork: bool = False
    html_url: str = ""
    updated_at: str = ""
    merge_commit_sha: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PullRequest:
        head = raw.get("head") or {}
        base = raw.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name", "")
        base_repo = (base.get("repo") or {}).get("full_name", "")
        return cls(
            number=int(raw["number"]),
            title=str(raw.get("title") or ""),
            author=_login(raw.get("user")),
            state=str(raw.get("state") or "open"),
            merged=bool(raw.get("merged") or raw.get("merged_at")),
            draft=bool(raw.get("draft")),
            base=str(base.get("ref", "")),
            head_ref=str(head.get("ref", "")),
            head_sha=str(head.get("sha", "")),
            labels=tuple(str(label.get("name", "")) for label in raw.get("labels") or ()),
            body=str(raw.get("body") or ""),
            fork=bool(head_repo and base_repo and head_repo != base_repo),
            html_url=str(raw.get("html_url") or ""),
            updated_at=str(raw.get("updated_at") or ""),
            merge_commit_sha=str(raw.get("merge_commit_sha") or "") if raw.get("merged") else "",
        )


@dataclass(frozen=True)
class Review:
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    commit_id: str = ""
    submitted_at: datetime | None = None
    # the reviewer's role on the repository, filled by the adapter for approvals ("" when
    # not read: such an approval never counts)
    permission: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Review:
        return cls(
            author=_login(raw.get("user")),
            state=str(raw.get("state") or "").upper(),
            commit_id=str(raw.get("commit_id") or ""),
            submitted_at=parse_time(raw.get("submitted_at")) if raw.get("submitted_at") else None,
        )


@dataclass(frozen=True)
class CheckRun:
    name: str
    status: str  # queued | in_progress | completed
    conclusion: str = ""  # success | failure | neutral | cancelled | skipped | timed_out | ...

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CheckRun:
        return cls(
            name=str(raw.get("name") or ""),
            status=str(raw.get("status") or ""),
            conclusion=str(raw.get("conclusion") or ""),
        )


@dataclass(frozen=True)
class Comment:
    id: int
    issue: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime

    @property
    def edited(self) -> bool:
        return self.updated_at > self.created_at

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Comment:
        issue_url = str(raw.get("issue_url") or "")
        issue = int(issue_url.rsplit("/", 1)[-1]) if issue_url else int(raw.get("issue", 0))
        return cls(
            id=int(raw["id"]),
            issue=issue,
            author=_login(raw.get("user")),
            body=str(raw.get("body") or ""),
            created_at=parse_time(raw.get("created_at")),
            updated_at=parse_time(raw.get("updated_at") or raw.get("created_at")),
        )


@dataclass(frozen=True)
class LabelEvent:
    issue: int
    label: str
    action: str  # labeled | unlabeled
    at: datetime
    actor: str = ""

    @classmethod
    def from_json(cls, issue: int, raw: Mapping[str, Any]) -> LabelEvent | None:
        if raw.get("event") not in ("labeled", "unlabeled"):
            return None
        return cls(
            issue=issue,
            label=str((raw.get("label") or {}).get("name", "")),
            action=str(raw["event"]),
            at=parse_time(raw.get("created_at")),
            actor=_login(raw.get("actor")),
        )


def last_labeled(events: tuple[LabelEvent, ...], issue: int, label: str) -> datetime | None:
    """When `label` was last added to `issue`, from its events."""
    times = [
        e.at for e in events if e.issue == issue and e.label == label and e.action == "labeled"
    ]
    return max(times) if times else None


def permission_at_least(have: str, need: str) -> bool:
    order = {name: i for i, name in enumerate(PERMISSION_ORDER)}
    return order.get(have, 0) >= order.get(need, 0)


@dataclass(frozen=True)
class World:
    """What the bot read from GitHub for one repository, at one reconcile."""

    bot_login: str = "release-train[bot]"
    branches: Mapping[str, str] = field(default_factory=dict)  # branch name -> head sha
    pulls: Mapping[int, PullRequest] = field(default_factory=dict)  # open + referenced PRs
    reviews: Mapping[int, tuple[Review, ...]] = field(default_factory=dict)
    checks: Mapping[str, tuple[CheckRun, ...]] = field(default_factory=dict)  # head sha -> runs
    # batch answers (GitHub search) standing in for per-PR reads at departure: PRs approved
    # by someone other than their author, and PRs whose head's combined state is success
    approved: frozenset[int] = frozenset()
    green: frozenset[int] = frozenset()
    comments: tuple[Comment, ...] = ()
    label_events: tuple[LabelEvent, ...] = ()
    permissions: Mapping[str, str] = field(default_factory=dict)  # login -> permission
    release_team: frozenset[str] = frozenset()
    # `/train` commands each author already had run earlier in this reconcile (per-user cap)
    commands_run: Mapping[str, int] = field(default_factory=dict)

    def pull(self, number: int) -> PullRequest | None:
        return self.pulls.get(number)

    def pr_by_head(self, head_ref: str) -> PullRequest | None:
        found = [p for p in self.pulls.values() if p.head_ref == head_ref]
        found.sort(key=lambda p: (p.state != "open", -p.number))
        return found[0] if found else None
