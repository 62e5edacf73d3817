"""Promotion ships the train's artifact set: the real bot against the sandbox (GitHub) and a
registry — the sandbox's OCI subset and the real CNCF Distribution server, same
expectations. Images pushed late: the train waits, then promotes with digests pinned;
missing past the timeout: the service is left out, told, and the next train ships it; a
tag pushed again: promotion stops; built from another commit: that service fails, both
commits named."""

from __future__ import annotations

from typing import Any

import pytest
from artifact_train import AFTER, M, artifact_train
from oci_images import Oci

REGISTRIES = ["sandbox-anonymous", "distribution-anonymous"]


def _bumps_on_main(train: Any) -> list[str]:
    return [sha for sha, message in train.merged.main_log(30) if message.startswith("promote ")]


@pytest.mark.parametrize("oci", REGISTRIES, indirect=True)
def test_images_pushed_late_wait_then_promote_pinned_by_digest(sandbox: Any, oci: Oci) -> None:
    train = artifact_train(sandbox, oci)
    result = train.reconcile(0 * M)  # merges; no image yet
    assert result.problems == (), result.problems
    record = train.record()
    merge_sha = record["merge_sha"]
    assert record["state"] == "merged"  # nothing bumped while waiting
    assert {s: a["state"] for s, a in train.artifacts().items()} == {
        "web": "waiting", "api": "waiting",
    }  # fmt: skip  # docs: nothing changed it
    assert _bumps_on_main(train) == []
    run = train.check_run(merge_sha)
    assert run is not None and run["status"] == "in_progress", run
    assert "waiting" in run["output"]["title"]

    web = train.push("web", merge_sha[:7], merge_sha)
    again = train.reconcile(1 * M)
    assert again.problems == (), again.problems
    assert train.artifacts()["web"]["state"] == "found"
    assert train.record()["state"] == "merged", "api still waits: nothing is bumped"
    api = train.push("api", merge_sha[:7], merge_sha)
    train.reconcile(2 * M)  # the next reconcile: settled, staging bumped
    record = train.record()
    assert record["state"] == "promoting", record["history"][-3:]
    rows = train.artifacts()
    assert rows["web"]["digest"] == web and rows["api"]["digest"] == api
    assert rows["web"]["revision"] == merge_sha
    tags = record["extra"]["promotion"]["tags"]
    assert tags == {"web": f"{merge_sha[:7]}@{web}", "api": f"{merge_sha[:7]}@{api}"}
    staging = record["extra"]["promotion"]["steps"][0]
    text = train.file_at(staging["commit"], "deploy/staging/web.yaml")
    assert f"image: {train.image('web')}:{merge_sha[:7]}@{web}" in text
    assert f'image: "{train.image("api")}:{merge_sha[:7]}@{api}"' in text
    run = train.check_run(merge_sha)
    assert run is not None and run["conclusion"] == "success", run
    assert web in run["output"]["summary"]
    body = train.story.pull(train.merged.train_pr)["body"]
    assert f"`{web}`" in body and f"`{api}`" in body  # the notes' Services list


@pytest.mark.parametrize("oci", REGISTRIES, indirect=True)
def test_revision_mismatch_fails_that_service_naming_both_commits(sandbox: Any, oci: Oci) -> None:
    train = artifact_train(sandbox, oci)
    train.reconcile(0 * M)
    record = train.record()
    merge_sha, base_sha = record["merge_sha"], record["base_sha"]
    train.push("web", merge_sha[:7], merge_sha)
    train.push("api", merge_sha[:7], base_sha)  # built from an older commit
    train.reconcile(1 * M)
    record = train.record()
    rows = train.artifacts()
    assert rows["api"]["state"] == "failed"
    assert base_sha[:12] in rows["api"]["reason"] and merge_sha[:12] in rows["api"]["reason"]
    assert record["state"] == "promoting"  # the rest promotes
    assert list(record["extra"]["promotion"]["tags"]) == ["web"]
    told = [c for c in train.train_pr_comments() if "`api` is failed" in c]
    assert len(told) == 1 and base_sha[:12] in told[0] and merge_sha[:12] in told[0]
    run = train.check_run(merge_sha)
    assert run is not None and run["conclusion"] == "failure"


@pytest.mark.parametrize("oci", REGISTRIES, indirect=True)
def test_a_tag_pushed_again_stops_promotion_with_both_digests(sandbox: Any, oci: Oci) -> None:
    train = artifact_train(sandbox, oci)
    train.reconcile(0 * M)
    merge_sha = train.record()["merge_sha"]
    web = train.push("web", merge_sha[:7], merge_sha)
    train.push("api", merge_sha[:7], merge_sha)
    train.reconcile(AFTER[0])
    assert train.record()["extra"]["promotion"]["steps"][0]["status"] == "soaking"
    moved = train.push("web", merge_sha[:7], merge_sha)  # rebuilt: same tag, new digest
    assert moved != web
    bumps = _bumps_on_main(train)
    result = train.reconcile(AFTER[1])  # staging soaked: canary would start
    record = train.record()
    promotion = record["extra"]["promotion"]
    states = [s["status"] for s in promotion["steps"]]
    assert states[1] == "failed", (states, promotion["error"], result.problems, result.actions_done)
    assert web in promotion["error"] and moved in promotion["error"]
    assert _bumps_on_main(train) == bumps  # nothing bumped in canary
    said = [c for c in train.train_pr_comments() if "canary" in c and "failed" in c]
    assert said and web in said[0] and moved in said[0]
    # the recorded digest is what stays shipped in staging
    staging = promotion["steps"][0]["commit"]
    assert web in train.file_at(staging, "deploy/staging/web.yaml")
    train.reconcile(AFTER[2])  # and it stays stopped
    assert _bumps_on_main(train) == bumps


def _stages(train: Any) -> None:
    for at in AFTER:
        result = train.reconcile(at)
        assert result.problems == (), result.problems
