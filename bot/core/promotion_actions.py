"""A promotion move's inner steps, as data (`bot.core.promotion_steps` decides them; the one
dispatcher, `bot.shell.dispatch`, performs them).

Some steps need what an earlier write of the same train made: the deployment names the
bump commit's sha, the incident and the train PR's rollback comment name the revert commits
and the incident. Such a step does not carry the value: the dispatcher folds each outcome
into the train's record as it goes (`bot.shell.dispatch._fold`: the bump's sha and lines
into its step, the revert commits into theirs, the incident number and the check run id into
the promotion), and a later step reads it from that folded record by its key (the step's
name, or the train). The decided actions are therefore fully known before any write, so
`plan` lists exactly what `reconcile` performs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BumpStage:
    """Commit `step`'s bumps on `branch` (of `repository`; "" is this one) in ONE commit:
    `files` were edited on `base` (the branch head read this round); on a moved ref the
    edit is made again on the new head. `head`: the bot's branch when the stage takes pull
    requests. Outcome: (sha, bump lines), folded into the step."""

    train_id: str
    step: str
    branch: str
    tags: Mapping[str, str] = field(hash=False)
    message: str = ""
    repository: str = ""
    head: str = ""
    base: Any = field(default=None, hash=False, compare=False)  # bot.adapters.gitdata.Tip
    files: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    bumps: tuple[Any, ...] = ()  # bot.core.promotion.BumpLine, as edited on `base`

    def describe(self) -> str:
        services = " ".join(sorted(self.tags))
        return f"commit the bump of {services} to {self.step} on {self.branch}"


@dataclass(frozen=True)
class StartDeployment:
    """Open (or adopt) the GitHub deployment of the commit the step's bump made (read from
    the folded record by `step`), and set it `in_progress`. Outcome: its id."""

    train_id: str
    step: str
    stage: str
    tags: Mapping[str, str] = field(hash=False)
    repository: str = ""

    def describe(self) -> str:
        return f"open the {self.step} deployment of {self.train_id} (in progress)"


@dataclass(frozen=True)
class RevertLink:
    """One revert commit: put `files` back to `tags` (service -> tag)."""

    step: str
    files: tuple[str, ...]
    tags: Mapping[str, str] = field(hash=False)
    message: str = ""


@dataclass(frozen=True)
class RevertChain:
    """The revert commits of one branch, newest step first, chained, and ONE ref update
    (`head` set: the stage takes pull requests, one link, one pull request). Outcome: each
    link's (step, sha), folded into the steps; whether the ref moved."""

    train_id: str
    branch: str
    links: tuple[RevertLink, ...]
    repository: str = ""
    head: str = ""

    def describe(self) -> str:
        steps = ", ".join(link.step for link in self.links)
        return f"revert {self.train_id} in {steps} on {self.branch}"


@dataclass(frozen=True)
class OpenIncident:
    """Open the incident issue (or adopt the one carrying `key`); its body names the revert
    commits of the folded record. Outcome: its number, folded into the promotion."""

    train_id: str
    title: str
    where: str
    why: str
    rows: tuple[Any, ...]  # bot.core.revert.EvidenceRow
    services: tuple[str, ...]
    prometheus_url: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    key: str

    def describe(self) -> str:
        return f"open the incident issue {self.title!r}"


@dataclass(frozen=True)
class AnnounceRollback:
    """The train PR's rollback comment, naming the incident of the folded record."""

    train_id: str
    number: int
    why: str
    evidence: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"comment on #{self.number}: rolled back ({self.why})"


@dataclass(frozen=True)
class PublishPromotionCheck:
    """The train's `release-train/promotion` check run on its merge commit, as the folded
    record stands (created the first time, updated after). Before the train's first ledger
    write (`before`), so that write keeps its id. Outcome: the run's id."""

    train_id: str
    before: bool = False

    def describe(self) -> str:
        return f"publish the promotion check run of {self.train_id}"


@dataclass(frozen=True)
class UpdateStageTable:
    """The train PR's stage table as the record stands (written only when it differs)."""

    train_id: str
    number: int

    def describe(self) -> str:
        return f"update the stage table on #{self.number}"


@dataclass(frozen=True)
class RequestReviewers:
    """Ask `reviewers` to review pull request `number` (a stage's or a revert's, held by a
    required review; asked once, `bot.core.promotion_refusals`)."""

    train_id: str
    number: int
    reviewers: tuple[str, ...]

    def describe(self) -> str:
        return f"request reviews from {', '.join(self.reviewers)} on #{self.number}"


PromotionAction = (
    BumpStage
    | StartDeployment
    | RevertChain
    | OpenIncident
    | AnnounceRollback
    | PublishPromotionCheck
    | UpdateStageTable
    | RequestReviewers
)
