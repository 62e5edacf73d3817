"""The writes of culprit isolation (`bot.core.culprit`), as data; `bot.shell.culprit_io`
performs them through the one dispatcher, and `plan` lists them like any other action."""

from __future__ import annotations

from dataclasses import dataclass


def _prs(heads: tuple[tuple[int, str], ...]) -> str:
    return " ".join(f"#{n}" for n, _ in heads) or "nothing"


@dataclass(frozen=True)
class RerunCheck:
    """Re-run a failing check on the train PR's head, to rule out a flaky failure."""

    train_id: str
    check: str
    run_id: int

    def describe(self) -> str:
        return f"re-run check {self.check!r} (run {self.run_id}) on the train PR"


@dataclass(frozen=True)
class BuildCandidate:
    """Create `branch` at the base and merge `heads` into it in train order (made like the
    release branch), so CI runs on it. An existing branch is adopted."""

    train_id: str
    branch: str
    base_sha: str
    heads: tuple[tuple[int, str], ...]
    at: str = ""  # a prefix of the train: the release branch's commit after its last merge

    def describe(self) -> str:
        where = f" (at {self.at[:12]}, the release branch after #{self.heads[-1][0]})"
        where = where if self.at and self.heads else ""
        return f"build candidate {self.branch}: {self.base_sha[:12]} + {_prs(self.heads)}{where}"


@dataclass(frozen=True)
class RecutRelease:
    """Cut the release branch again without the culprits: from `kept`'s last commit (the
    release branch after the PRs before the first culprit, unchanged) or else the base,
    merging `heads`; then move the release branch there."""

    train_id: str
    branch: str
    base_sha: str
    heads: tuple[tuple[int, str], ...]
    without: tuple[int, ...]
    kept: tuple[tuple[int, str], ...] = ()  # (PR, the release branch's commit after it)

    def describe(self) -> str:
        left = " ".join(f"#{n}" for n in self.without)
        start = (
            f"{self.kept[-1][1][:12]} (#{self.kept[0][0]}..#{self.kept[-1][0]})"
            if self.kept
            else self.base_sha[:12]
        )
        return f"cut {self.branch} again: {start} + {_prs(self.heads)} (without {left})"


@dataclass(frozen=True)
class DeleteBranch:
    train_id: str
    branch: str

    def describe(self) -> str:
        return f"delete branch {self.branch}"


CULPRIT_ACTIONS = (RerunCheck, BuildCandidate, RecutRelease, DeleteBranch)
