"""Driving a train whose CI fails through the real bot, the sandbox and its tree-reading CI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, config_text, new_story, start_time

from bot.sandbox.ci import TreeCI

CULPRIT_BLOCK = "culprit:\n  timeout: 30m\n"


@dataclass
class Run:
    story: Story
    ci: TreeCI
    t0: datetime
    prs: list[int]
    now: datetime

    def step(self, minutes: int = 5) -> Any:
        """CI reports, then the bot reconciles a few minutes later."""
        self.ci.tick()
        self.now += timedelta(minutes=minutes)
        result = self.story.reconcile(self.now)
        assert result.problems == ()
        return result

    def train_id(self) -> str:
        out = self.story.sandbox.git.out(
            REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
        )
        ids = sorted(p.split("/")[-1].removesuffix(".json") for p in out.splitlines())
        return ids[0]

    def record(self) -> dict[str, Any]:
        return self.story.ledger(self.train_id())

    def bisection(self) -> dict[str, Any]:
        return dict(self.record().get("extra", {}).get("culprit") or {})

    def until(self, *phases: str, limit: int = 40) -> dict[str, Any]:
        for _ in range(limit):
            state = self.bisection()
            if state.get("phase") in phases:
                return state
            self.step()
        raise AssertionError(f"bisection never reached {phases}: {self.bisection()}")

    def branches(self) -> set[str]:
        return set(self.ci.heads())


def board(changes: list[dict[str, str]], *, extra: str = "", departed: str = "48h") -> Any:
    """A story whose PRs (one per change, each green on its own branch) board and depart."""

    def make(sandbox: Any) -> Run:
        t0 = start_time()
        story = new_story(sandbox, t0, config_text(t0, departed=departed) + CULPRIT_BLOCK + extra)
        kit = story.kit
        prs = []
        for i, files in enumerate(changes):
            number = kit.open_pr(REPO, "dev-alice", f"change-{i}", files, title=f"Change {i}")
            kit.review(REPO, number, "rev-carol", "APPROVE")
            story.green(story.pull(number)["head"]["sha"])  # CI passed on the PR alone
            kit.label(REPO, number, "train:next", actor="dev-alice")
            prs.append(number)
        story.reconcile(t0)
        run = Run(story, TreeCI(sandbox, REPO), t0, prs, t0 + timedelta(minutes=2))
        assert story.reconcile(run.now).problems == ()
        assert run.record()["state"] == "departed"
        return run

    return make


def plain(i: int) -> dict[str, str]:
    return {f"src/change-{i}.txt": f"change {i}\n"}
