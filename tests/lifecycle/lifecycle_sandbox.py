"""Helpers to drive the real bot against the sandbox (shared by the integration tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.github import GitHubClient, ResponseCache
from bot.shell.reconcile import ReconcileResult, reconcile

REPO = "acme/lifeline"
BOT = "release-train[bot]"

CONFIG = """\
version: 1
trains:
  - name: web
    label: "train:next"
    cadence: "{minute} * * * *"
    base: main
    deadlines:
      departed: {departed}
    notes:
      - title: Features
        labels: [feature]
      - title: Fixes
        labels: [bug]
services:
  - name: web
    image: ghcr.io/acme/web
stages:
  - name: staging
    soak: 10m
  - name: production
    soak: 1h
gates:
  ci:
    required: [ci]
cutover:
  timezone: UTC
  windows:
    - days: [mon, tue, wed, thu, fri, sat, sun]
      from: "{window_from}"
      to: "{window_to}"
{freezes}
"""


def config_text(
    t0: datetime,
    *,
    departed: str = "48h",
    window: tuple[str, str] = ("00:00", "23:59"),
    freeze: str = "",
) -> str:
    """Hourly departures, the first one between one and two minutes after `t0`."""
    freezes = ""
    if freeze:
        freezes = f'freezes:\n  - name: hold\n    from: "{freeze}"\n    to: "{freeze}"\n'
    return CONFIG.format(
        minute=(t0 + timedelta(minutes=2)).minute,
        departed=departed,
        window_from=window[0],
        window_to=window[1],
        freezes=freezes,
    )


def start_time() -> datetime:
    """The sandbox stamps comments with its real clock; begin the story just before it."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)


@dataclass
class Story:
    sandbox: Any
    cache: ResponseCache

    @property
    def kit(self) -> Any:
        return self.sandbox.scenario

    def client(self, cache: ResponseCache | None = None) -> GitHubClient:
        return GitHubClient(
            REPO,
            self.sandbox.bot_token(),
            api_url=self.sandbox.base_url,
            cache=cache or self.cache,
            bot_login=BOT,
        )

    def reconcile(self, now: datetime, **kw: Any) -> ReconcileResult:
        with self.client(kw.pop("cache", None)) as client:
            return reconcile(REPO, now, client=client, **kw)

    def log_mark(self) -> int:
        return len(self.sandbox.server.request_log)

    def writes_since(self, mark: int) -> list[tuple[str, str, int, float]]:
        return [r for r in self.sandbox.server.request_log[mark:] if r[0] != "GET"]

    def ledger(self, train_id: str) -> dict[str, Any]:
        text = self.sandbox.git.out(
            REPO, "show", f"refs/heads/release-train/ledger:trains/{train_id}.json"
        )
        return dict(json.loads(text))

    def ledger_log(self) -> list[str]:
        out = self.sandbox.git.out(
            REPO, "log", "--format=%H %P%x00%B%x01", "refs/heads/release-train/ledger"
        )
        return [entry.strip() for entry in out.split("\x01") if entry.strip()]

    def pull(self, number: int) -> dict[str, Any]:
        return dict(self.kit.call("GET", f"/repos/{REPO}/pulls/{number}", as_user="rm-dave"))

    def comments(self, number: int) -> list[dict[str, Any]]:
        path = f"/repos/{REPO}/issues/{number}/comments?per_page=100"
        return list(self.kit.call("GET", path, as_user="rm-dave"))

    def open_train_pr(self) -> dict[str, Any]:
        pulls = self.kit.call("GET", f"/repos/{REPO}/pulls?state=open", as_user="rm-dave")
        return next(p for p in pulls if p["head"]["ref"].startswith("release/"))

    def green(self, sha: str) -> None:
        self.kit.set_check(REPO, sha, "ci", "completed", "success")

    def approve(self, number: int, user: str, at: datetime) -> None:
        """Approve as `user` with the sandbox's clock at `at` (the story's simulated time:
        an approval must come after the train departed to count)."""
        real = self.sandbox.server.clock
        self.sandbox.server.clock = lambda: at
        try:
            self.kit.review(REPO, number, user, "APPROVE")
        finally:
            self.sandbox.server.clock = real

    def set_config(self, text: str) -> None:
        self.kit.push(REPO, "main", {".github/release-train.yml": text}, "config", "rm-dave")


def new_story(sandbox: Any, t0: datetime, config: str | None = None) -> Story:
    sandbox.scenario.create_repo(
        REPO,
        {
            ".github/release-train.yml": config or config_text(t0),
            "app.txt": "one\ntwo\nthree\n",
            "README.md": "# lifeline\n",
        },
    )
    sandbox.scenario.install_bot(REPO)
    return Story(sandbox, ResponseCache())


def board_three(story: Story) -> tuple[int, int, int]:
    """Three approved, green PRs labelled in order; the third conflicts with the first."""
    kit = story.kit
    a = kit.open_pr(
        REPO,
        "dev-alice",
        "feat-a",
        {"app.txt": "ONE\ntwo\nthree\n", "a.txt": "a\n"},
        title="Add A",
        labels=["feature"],
    )
    b = kit.open_pr(REPO, "dev-bob", "fix-b", {"b.txt": "b\n"}, title="Fix B", labels=["bug"])
    c = kit.open_pr(REPO, "dev-bob", "feat-c", {"app.txt": "uno\ntwo\nthree\n"}, title="Add C")
    for number in (a, b, c):
        kit.review(REPO, number, "rev-carol", "APPROVE")
        story.green(story.pull(number)["head"]["sha"])
        kit.label(REPO, number, "train:next", actor="dev-alice")
    return a, b, c
