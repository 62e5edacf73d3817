"""A train merged against the sandbox whose services' images live in a registry under test
(the sandbox's OCI subset or the real CNCF Distribution): the promotion story's repository
with its images renamed into that registry and an `artifacts:` block."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from oci_images import Oci
from promotion.promotion_story import MANIFESTS, WORKLOAD, Merged, merged_train

from bot.shell.reconcile import ReconcileResult

M = timedelta(minutes=1)
STAGES = ("staging", "canary", "production-eu", "production-us")
# after each step's soak (10m, 30m, 1h, 1h), with a minute to spare
AFTER = (1 * M, 12 * M, 43 * M, 104 * M, 165 * M)


@dataclass
class ArtifactTrain:
    merged: Merged
    oci: Oci
    prefix: str  # the registry's repository prefix of this test: <host>/<prefix>/<service>

    @property
    def story(self) -> Any:
        return self.merged.story

    def image(self, service: str) -> str:
        return f"{self.oci.host}/{self.prefix}/{service}"

    def push(self, service: str, tag: str, revision: str) -> str:
        """CI pushes `service`'s image as `:tag` labelled with `revision`; its digest."""
        return self.oci.pusher.image(f"{self.prefix}/{service}", tag, revision=revision)

    def reconcile(self, at: timedelta) -> ReconcileResult:
        return self.story.reconcile(self.merged.merged_at + at, outbound=self.oci.policy)

    def record(self) -> dict[str, Any]:
        return self.merged.record()

    def artifacts(self) -> dict[str, dict[str, Any]]:
        rows = self.record()["extra"].get("artifacts", {}).get("artifacts", [])
        return {row["service"]: row for row in rows}

    def check_run(self, sha: str) -> dict[str, Any] | None:
        path = f"/repos/{REPO}/commits/{sha}/check-runs?check_name=release-train/artifacts"
        runs = self.merged.kit.call("GET", path, as_user="rm-dave")["check_runs"]
        return dict(runs[0]) if runs else None

    def train_pr_comments(self) -> list[str]:
        return [str(c["body"]) for c in self.story.comments(self.merged.train_pr)]

    def file_at(self, sha: str, path: str) -> str:
        return str(self.story.sandbox.git.out(REPO, "show", f"{sha}:{path}"))


def artifact_train(
    sandbox: Any, oci: Oci, *, timeout: str = "30m", pin: str = "digest",
    t0: datetime | None = None, soak: str = "",
) -> ArtifactTrain:  # fmt: skip
    """The promotion story's train (web and api changed), its images in `oci`, not yet
    merged: the next reconcile merges it (at `merged.merged_at`)."""
    prefix = oci.name("acme/train")
    host = f"{oci.host}/{prefix}"

    def edit(text: str) -> str:
        block = f"artifacts:\n  timeout: {timeout}\n  pin: {pin}\n"
        if soak:  # every stage soaks `soak`
            text = re.sub(r"soak: \w+", f"soak: {soak}", text)
        return text.replace("ghcr.io/acme", host) + block

    files = {path: text.replace("ghcr.io/acme", host) for path, text in MANIFESTS.items()}
    # the production waves as workloads too: every file then holds the digest it ships
    for wave in ("production-eu", "production-us"):
        files[f"deploy/{wave}/values.yaml"] = WORKLOAD.replace("ghcr.io/acme", host)
    merged = merged_train(sandbox, edit_config=edit, extra=files, t0=t0)
    return ArtifactTrain(merged, oci, prefix)


def payload(deployment: dict[str, Any]) -> dict[str, Any]:
    raw = deployment.get("payload") or {}
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


def train_ids(story: Any) -> list[str]:
    listing = story.sandbox.git.out(
        REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    )
    return sorted(line.rsplit("/", 1)[-1].removesuffix(".json") for line in listing.split())


def next_train(train: ArtifactTrain, files: dict[str, str], departs: datetime) -> tuple[str, int]:
    """A second PR (touching `files`) boards the next train, which departs at `departs` and
    is approved: (its id, its train PR); the next reconcile merges it."""
    story, kit = train.story, train.merged.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-b", files, title="Add B", labels=["feature"])
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    before = set(train_ids(story))
    for at in (departs - 2 * M, departs, departs + M):
        story.reconcile(at, outbound=train.oci.policy)
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    story.approve(int(train_pr["number"]), "rm-dave", departs + 2 * M)
    (new,) = set(train_ids(story)) - before
    return new, int(train_pr["number"])
