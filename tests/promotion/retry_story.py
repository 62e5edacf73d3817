"""A train of three PRs driven to `merged` against the sandbox (for `/train retry`): #A
touches src/web (one line), #B docs (many lines), #C src/api (a few lines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time
from promotion.promotion_story import MANIFESTS, Merged, _train_id, config

WEB = {"src/web/app.py": "print('web broken')\n"}
DOCS = {"docs/guide.md": "".join(f"line {i}\n" for i in range(60))}
API = {"src/api/app.py": "".join(f"print('api {i}')\n" for i in range(8))}


@dataclass
class Three:
    merged: Merged
    web: int
    docs: int
    api: int


def three_pr_train(sandbox: Any, *, canary_slos: bool = False, t0: datetime | None = None) -> Three:
    t0 = t0 or start_time() - timedelta(minutes=10)
    story = new_story(sandbox, t0, config(t0, canary_slos=canary_slos))
    kit = story.kit
    kit.push(REPO, "main", dict(MANIFESTS), "manifests", "rm-dave")
    numbers = []
    for author, branch, files, title in (
        ("dev-alice", "feat-web", WEB, "Tweak web"),
        ("dev-bob", "feat-docs", DOCS, "Rewrite the guide"),
        ("dev-alice", "feat-api", API, "Api logging"),
    ):
        number = kit.open_pr(REPO, author, branch, files, title=title, labels=["feature"])
        kit.review(REPO, number, "rev-carol", "APPROVE")
        story.green(story.pull(number)["head"]["sha"])
        kit.label(REPO, number, "train:next", actor=author)
        numbers.append(number)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    kit.review(REPO, train_pr["number"], "rm-dave", "APPROVE")
    merged = Merged(story, t0, _train_id(story), int(train_pr["number"]), t0 + timedelta(minutes=4))
    return Three(merged, *numbers)
