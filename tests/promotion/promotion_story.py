"""A train driven to `merged` against the sandbox, with manifests for four steps (staging,
canary, production waves eu and us), for the promotion tests. Reuses the lifecycle helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, new_story, start_time

CONFIG = """\
version: 1
trains:
  - name: web
    label: "train:next"
    cadence: "{minute} * * * *"
    base: main
services:
  - name: web
    image: ghcr.io/acme/web
    paths: ["src/web/*"]
  - name: api
    image: ghcr.io/acme/api
    paths: ["src/api/*"]
  - name: docs
    image: ghcr.io/acme/docs
    paths: ["docs/*"]
stages:
  - name: staging
    manifests: ["deploy/staging/*.yaml"]
    soak: 10m
  - name: canary
    manifests: ["deploy/canary/*"]
    soak: 30m
{canary_slos}
  - name: production
    waves:
      - name: production-eu
        manifests: ["deploy/production-eu/*"]
        soak: 1h
      - name: production-us
        manifests: ["deploy/production-us/*"]
        soak: 1h
{slos}
gates:
  ci:
    required: [ci]
  allow_neutral: [security, manifests, error_budget]
incident:
  labels: [incident, sev2]
  assignees: [rm-dave]
"""

AVAILABILITY = """\
slos:
  - name: availability
    objective: 99.9
    error_ratio: >-
      sum(rate(http_requests_total{service="{service}",stage="{stage}",code=~"5.."}[{window}]))
      / sum(rate(http_requests_total{service="{service}",stage="{stage}"}[{window}]))
"""

WORKLOAD = """\
# staging deployment (comments stay)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0   # bumped by the bot
        - name: api
          image: "ghcr.io/acme/api:2.0.0"
        - name: docs
          image: ghcr.io/acme/docs:0.1
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
images:
  - name: ghcr.io/acme/web
    newTag: "1.0.0"
  - name: ghcr.io/acme/api
    newTag: 2.0.0
  - name: ghcr.io/acme/docs
    newTag: "0.1"
"""

VALUES = """\
web:
  image:
    repository: ghcr.io/acme/web
    tag: 1.0.0
api:
  image:
    repository: ghcr.io/acme/api
    tag: 2.0.0
docs:
  image:
    repository: ghcr.io/acme/docs
    tag: "0.1"
"""

MANIFESTS = {
    "deploy/staging/web.yaml": WORKLOAD,
    "deploy/canary/kustomization.yaml": KUSTOMIZATION,
    "deploy/production-eu/values.yaml": VALUES,
    "deploy/production-us/values.yaml": VALUES,
    "docs/index.md": "# docs\n",
}
STEPS = ("staging", "canary", "production-eu", "production-us")


def config(t0: datetime, *, canary_slos: bool = False) -> str:
    return CONFIG.format(
        minute=(t0 + timedelta(minutes=2)).minute,
        canary_slos="    slos: [availability]" if canary_slos else "",
        slos=AVAILABILITY if canary_slos else "",
    )


@dataclass
class Merged:
    story: Story
    t0: datetime
    train_id: str
    train_pr: int
    merged_at: datetime

    @property
    def kit(self) -> Any:
        return self.story.kit

    def main_file(self, path: str) -> str:
        return str(self.story.sandbox.git.out(REPO, "show", f"refs/heads/main:{path}"))

    def main_log(self, n: int = 20) -> list[tuple[str, str]]:
        out = self.story.sandbox.git.out(REPO, "log", f"-{n}", "--format=%H%x00%B%x01", "main")
        pairs = [e.strip().split("\x00", 1) for e in out.split("\x01") if e.strip()]
        return [(sha, body) for sha, body in pairs]

    def record(self) -> dict[str, Any]:
        return self.story.ledger(self.train_id)

    def deployments(self) -> list[dict[str, Any]]:
        path = f"/repos/{REPO}/deployments?per_page=100"
        return list(self.kit.call("GET", path, as_user="rm-dave"))

    def statuses(self, deployment: int) -> list[str]:
        path = f"/repos/{REPO}/deployments/{deployment}/statuses"
        return [s["state"] for s in self.kit.call("GET", path, as_user="rm-dave")]


def merged_train(
    sandbox: Any,
    *,
    canary_slos: bool = False,
    files: dict[str, str] | None = None,
    t0: datetime | None = None,
    edit_config: Any = None,
    extra: dict[str, str] | None = None,
) -> Merged:
    """A repository with manifests, one PR touching src/web and src/api, its train merged.
    `t0` defaults to a few minutes before the real clock."""
    t0 = t0 or start_time() - timedelta(minutes=10)
    text = config(t0, canary_slos=canary_slos)
    story = new_story(sandbox, t0, edit_config(text) if edit_config else text)
    kit = story.kit
    kit.push(REPO, "main", {**MANIFESTS, **(extra or {})}, "manifests", "rm-dave")
    changed = files or {"src/web/app.py": "print('web')\n", "src/api/app.py": "print('api')\n"}
    number = kit.open_pr(REPO, "dev-alice", "feat-a", changed, title="Add A", labels=["feature"])
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    # approved after the release branch last changed (the sandbox stamps commits and
    # reviews with its real clock)
    kit.review(REPO, train_pr["number"], "rm-dave", "APPROVE")
    return Merged(story, t0, _train_id(story), int(train_pr["number"]), t0 + timedelta(minutes=4))


def _train_id(story: Story) -> str:
    listing = story.sandbox.git.out(
        REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    )
    ids = [line.rsplit("/", 1)[-1].removesuffix(".json") for line in listing.split()]
    assert len(ids) == 1, ids
    return ids[0]
