"""What the bot will do, as data. `decide` returns these; the shell performs them.

Every action names the train it serves; `describe()` is what `release-train plan` prints.
A train's side effects come first, then its `WriteLedger` (the shell folds the outcomes of
the side effects into it). Only effects that must happen at most once *because* of what the
record says (a stopped train ending its promotion check run and soaking deployment) follow
the record: a crash between the two leaves them undone rather than done twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.changelog import WriteChangelog
from bot.core.culprit_actions import BuildCandidate, DeleteBranch, RecutRelease, RerunCheck
from bot.core.ledger import TrainRecord
from bot.core.promotion import Move
from bot.core.promotion_actions import (
    AnnounceRollback,
    BumpStage,
    OpenIncident,
    PublishPromotionCheck,
    RequestReviewers,
    RevertChain,
    StartDeployment,
    UpdateStageTable,
)
from bot.core.release import PublishRelease
from bot.core.retry_actions import OpenRetryPR


@dataclass(frozen=True)
class CreateBranch:
    train_id: str
    branch: str
    sha: str

    def describe(self) -> str:
        return f"create branch {self.branch} at {self.sha[:12]}"


@dataclass(frozen=True)
class MergeIntoBranch:
    """Merge a boarded PR's head into the release branch; a conflict makes it miss the train."""

    train_id: str
    branch: str
    pr: int
    head_sha: str

    def describe(self) -> str:
        return f"merge #{self.pr} ({self.head_sha[:12]}) into {self.branch}"


@dataclass(frozen=True)
class OpenPullRequest:
    train_id: str
    head: str
    base: str
    title: str
    body: str

    def describe(self) -> str:
        return f"open pull request {self.head} -> {self.base}: {self.title!r}"


@dataclass(frozen=True)
class UpdatePullRequest:
    train_id: str
    number: int
    body: str

    def describe(self) -> str:
        return f"update the body of #{self.number}"


@dataclass(frozen=True)
class MergePullRequest:
    """Merge the train PR at exactly `sha` (the head that was judged)."""

    train_id: str
    number: int
    sha: str
    title: str
    message: str

    def describe(self) -> str:
        return f"merge train PR #{self.number} at {self.sha[:12]}"


@dataclass(frozen=True)
class LandPullRequest:
    """After the train merged: mark a boarded PR merged (or close it with a link)."""

    train_id: str
    number: int
    sha: str
    comment: str

    def describe(self) -> str:
        return f"land #{self.number} (merged in the train)"


@dataclass(frozen=True)
class ClosePullRequest:
    train_id: str
    number: int

    def describe(self) -> str:
        return f"close #{self.number}"


@dataclass(frozen=True)
class PostComment:
    """A comment carrying a hidden `key`; the shell skips it if one with that key exists."""

    train_id: str
    issue: int
    body: str
    key: str

    def describe(self) -> str:
        first = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return f"comment on #{self.issue}: {first[:70]}"


@dataclass(frozen=True)
class AddLabel:
    train_id: str
    issue: int
    label: str

    def describe(self) -> str:
        return f"add label {self.label!r} to #{self.issue}"


@dataclass(frozen=True)
class RemoveLabel:
    train_id: str
    issue: int
    label: str

    def describe(self) -> str:
        return f"remove label {self.label!r} from #{self.issue}"


@dataclass(frozen=True)
class React:
    train_id: str
    comment_id: int
    content: str  # "+1", "eyes", "-1", "confused"

    def describe(self) -> str:
        return f"react {self.content} to comment {self.comment_id}"


@dataclass(frozen=True)
class PublishCheckRun:
    """Create (`run_id` 0) or update a check run; each of `rest` appends an annotation batch.
    `how` says why: ``create``, ``update`` (nothing new to annotate) or a re-run's ``create``."""

    train_id: str
    name: str
    conclusion: str
    how: str
    body: Mapping[str, Any] = field(hash=False)
    run_id: int = 0
    rest: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)

    def describe(self) -> str:
        return f"{self.how} check run {self.name} ({self.conclusion})"


@dataclass(frozen=True)
class SetDeploymentStatus:
    """A new status on a GitHub deployment; `repository` "" is the train's own repository."""

    train_id: str
    step: str
    deployment: int
    state: str
    description: str
    repository: str = ""
    why: str = ""

    def describe(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"set the {self.step} deployment of {self.train_id} to {self.state}{why}"


@dataclass(frozen=True)
class Promote:
    """A merged or promoting train's next promotion move (`bot.core.promotion.next_move`,
    judged from the SLO verdicts read this round): the heading of the move's steps, which
    follow it as actions of their own (`bot.core.promotion_steps`); it does nothing itself."""

    train_id: str
    move: Move

    def describe(self) -> str:
        return f"{self.train_id}: {self.move.describe()}"


@dataclass(frozen=True)
class WriteLedger:
    """Commit the train's record (one commit per transition). `trailers`: the step's own
    (besides the transition's); `files`: other ledger files written in the same commit
    (the holds). A promotion write (`promotion`) is retried on a ledger that moved only
    elsewhere, and gains the trailers its side effects earned (the commits, the incident)."""

    train_id: str
    events: tuple[str, ...]
    record: TrainRecord
    actor: str = ""
    trailers: tuple[tuple[str, str], ...] = ()
    files: Mapping[str, str] = field(default_factory=dict, hash=False)
    promotion: bool = False

    def describe(self) -> str:
        return f"record {', '.join(self.events)} for {self.train_id} (state {self.record.state})"


Action = (
    CreateBranch
    | MergeIntoBranch
    | OpenPullRequest
    | UpdatePullRequest
    | MergePullRequest
    | LandPullRequest
    | ClosePullRequest
    | PostComment
    | AddLabel
    | RemoveLabel
    | React
    | PublishCheckRun
    | SetDeploymentStatus
    | Promote
    | BumpStage
    | StartDeployment
    | RevertChain
    | OpenIncident
    | AnnounceRollback
    | PublishPromotionCheck
    | UpdateStageTable
    | PublishRelease
    | WriteChangelog
    | RequestReviewers
    | RerunCheck
    | BuildCandidate
    | RecutRelease
    | DeleteBranch
    | OpenRetryPR
    | WriteLedger
)


def marker(key: str) -> str:
    """The hidden HTML comment that identifies a bot comment (for idempotence)."""
    return f"<!-- release-train:key={key} -->"
