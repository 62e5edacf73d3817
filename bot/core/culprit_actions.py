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

    def describe(self) -> str:
        return f"build candidate {self.branch}: {self.base_sha[:12]} + {_prs(self.heads)}"


@dataclass(frozen=True)
class RecutRelease:
    """Cut the release branch again, from the base, with `heads` only (the culprits left)."""

    train_id: str
    branch: str
    base_sha: str
    heads: tuple[tuple[int, str], ...]
    without: tuple[int, ...]

    def describe(self) -> str:
        left = " ".join(f"#{n}" for n in self.without)
        return (
            f"cut {self.branch} again: {self.base_sha[:12]} + {_prs(self.heads)} (without {left})"
        )


@dataclass(frozen=True)
class DeleteBranch:
    train_id: str
    branch: str

    def describe(self) -> str:
        return f"delete branch {self.branch}"


CULPRIT_ACTIONS = (RerunCheck, BuildCandidate, RecutRelease, DeleteBranch)
