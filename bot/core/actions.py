"""What the bot will do, as data. `decide` returns these; the shell performs them.

Every action names the train it serves; `describe()` is what `release-train plan` prints.
A `WriteLedger` is always the last action of its train in a plan: side effects first,
then the record (the shell folds the outcomes of the side effects into it).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.ledger import TrainRecord


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
class WriteLedger:
    """Commit the train's record (one commit per transition)."""

    train_id: str
    events: tuple[str, ...]
    record: TrainRecord
    actor: str = ""

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
    | WriteLedger
)


def marker(key: str) -> str:
    """The hidden HTML comment that identifies a bot comment (for idempotence)."""
    return f"<!-- release-train:key={key} -->"
