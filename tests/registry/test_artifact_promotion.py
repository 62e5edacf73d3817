"""Promotion ships the train's artifact set: the real bot against the sandbox (GitHub) and a
registry — the sandbox's OCI subset and the real CNCF Distribution server, same
expectations. Images pushed late: the train waits, then promotes with digests pinned;
missing past the timeout: the service is left out, told, and the next train ships it; a
tag pushed again: promotion stops; built from another commit: that service fails, both
commits named."""

from __future__ import annotations

from typing import Any

import pytest
from artifact_train import AFTER, STAGES, M, artifact_train, next_train, payload
from lifecycle.lifecycle_sandbox import REPO
from oci_images import Oci

from bot.core import pins
from bot.core.manifests import plan_many
from bot.insights.gitlog import read_history
from bot.insights.verify import verify

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
    told = [c for c in train.train_pr_comments() if "`api` cannot ship" in c]
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


def _trailers(message: str, key: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in message.splitlines() if line.startswith(key + ": ")]


@pytest.mark.parametrize("oci", REGISTRIES, indirect=True)
def test_notes_stage_table_bumps_deployments_and_record_agree(sandbox: Any, oci: Oci) -> None:
    """One train through every stage: what the recorded set says ships is what the notes,
    the stage table, every bump commit (trailers and files), every deployment's payload
    and the promotion's targets say; any difference fails."""
    train = artifact_train(sandbox, oci)
    train.reconcile(0 * M)
    merge_sha = train.record()["merge_sha"]
    digests = {s: train.push(s, merge_sha[:7], merge_sha) for s in ("web", "api")}
    for at in AFTER:
        result = train.reconcile(at)
        assert result.problems == (), result.problems
    record = train.record()
    assert record["state"] == "completed", record["history"][-3:]
    recorded = {s: f"{a['tag']}@{a['digest']}" for s, a in train.artifacts().items()
                if a["state"] == "found"}  # fmt: skip
    assert recorded == {s: f"{merge_sha[:7]}@{d}" for s, d in digests.items()}
    promotion = record["extra"]["promotion"]
    assert promotion["tags"] == recorded
    messages = dict(train.merged.main_log(40))
    for step in promotion["steps"]:
        assert {b[0]: b[2] for b in step["bumps"]} == recorded, step["name"]
        bumped = {line.split(" ")[0]: line.rsplit(" -> ", 1)[1]
                  for line in _trailers(messages[step["commit"]], "Bump")}  # fmt: skip
        assert bumped == recorded, step["name"]
        for path in sorted({f for b in step["bumps"] for f in b[3]}):
            text = train.file_at(step["commit"], path)
            for service, target in recorded.items():  # bumping to it again changes nothing
                again = plan_many(text, [pins.bump(train.image(service), target)], filename=path)
                assert again.text == text and again.matched, (step["name"], path, service)
    deployments = {d["environment"]: payload(d) for d in train.merged.deployments()}
    assert sorted(deployments) == sorted(STAGES)
    for env, data in deployments.items():
        assert data["tags"] == recorded, env
    body = train.story.pull(train.merged.train_pr)["body"]
    services = body.split("### Services", 1)[1].split("\n\n", 1)[0]
    listed = {line.split("`")[1]: line.split("`")[3].rsplit(":", 1)[1] + "@" + line.split("`")[5]
              for line in services.strip().splitlines()}  # fmt: skip
    assert listed == recorded
    ships = body.split("Ships: ", 1)[1].splitlines()[0]
    assert {p.split("` `")[0].strip("`"): p.split("` `")[1].strip("`")
            for p in ships.split(", ")} == recorded  # fmt: skip
    _release_and_audit_agree(train, record, recorded)


def _release_and_audit_agree(train: Any, record: dict[str, Any], recorded: dict[str, str]) -> None:
    """The train's GitHub Release lists the recorded set (service, tag, digest, revision),
    and `audit verify` finds every bump commit in line with it."""
    release = train.merged.kit.call(
        "GET", f"/repos/{REPO}/releases/tags/train/{record['id']}", as_user="rm-dave"
    )
    assert not release["draft"] and not release["prerelease"], release
    rows = {}
    for line in release["body"].splitlines():
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[2].startswith("sha256:"):
            rows[cells[0]] = (f"{cells[1]}@{cells[2]}", cells[3])
    assert {s: target for s, (target, _) in rows.items()} == recorded
    assert all(record["merge_sha"].startswith(rev) for _, rev in rows.values()), rows
    findings = verify(read_history(train.story.sandbox.git.path(REPO)))
    assert [f for f in findings if f.kind.startswith("artifact")] == [], findings


@pytest.mark.parametrize("oci", REGISTRIES, indirect=True)
def test_an_image_missing_past_the_timeout_is_left_out_told_and_the_next_train_ships_it(
    sandbox: Any, oci: Oci
) -> None:
    train = artifact_train(sandbox, oci, timeout="5m", soak="1m")
    train.reconcile(0 * M)
    merge_sha = train.record()["merge_sha"]
    train.push("web", merge_sha[:7], merge_sha)  # api's build never comes
    train.reconcile(2 * M)
    assert train.record()["state"] == "merged"  # api still within its 5m
    train.reconcile(6 * M)
    record = train.record()
    rows = train.artifacts()
    assert rows["api"]["state"] == "left-out" and "after 5m" in rows["api"]["reason"]
    assert list(record["extra"]["promotion"]["tags"]) == ["web"]  # the rest promotes
    told = [c for c in train.train_pr_comments() if "`api` is left out of this train" in c]
    assert len(told) == 1, train.train_pr_comments()
    assert any(e["event"] == "artifacts" and "1 left-out" in e["detail"]
               for e in record["history"])  # fmt: skip
    run = train.check_run(merge_sha)
    assert run is not None and run["conclusion"] == "neutral"
    for at in (8, 10, 12, 14, 16):
        train.reconcile(at * M)
    assert train.record()["state"] == "completed"

    # the next train changes only web, and carries api's change too
    departs = train.merged.t0 + 62 * M
    second, _ = next_train(train, {"src/web/b.py": "print('b')\n"}, departs)
    train.story.reconcile(departs + 3 * M, outbound=oci.policy)  # merges it; images come
    now = train.story.ledger(second)
    assert now["state"] == "merged", now["state"]
    sha = now["merge_sha"]
    api = train.push("api", sha[:7], sha)
    web = train.push("web", sha[:7], sha)
    train.story.reconcile(departs + 4 * M, outbound=oci.policy)
    now = train.story.ledger(second)
    assert now["state"] == "promoting"
    assert now["extra"]["promotion"]["tags"] == {
        "web": f"{sha[:7]}@{web}",
        "api": f"{sha[:7]}@{api}",
    }


@pytest.mark.parametrize("oci", ["sandbox-anonymous"], indirect=True)
def test_plan_lists_the_artifact_actions_reconcile_then_performs(sandbox: Any, oci: Oci) -> None:
    train = artifact_train(sandbox, oci)
    train.reconcile(0 * M)
    record = train.record()
    merge_sha = record["merge_sha"]
    train.push("web", merge_sha[:7], merge_sha)
    train.push("api", merge_sha[:7], merge_sha)
    at = train.merged.merged_at + M
    planned = train.story.reconcile(at, outbound=oci.policy, dry_run=True)
    assert train.record() == record  # a dry run writes nothing
    ours = [p for p in planned.actions_planned if "artifacts" in p]
    assert "promotion: update check run release-train/artifacts (success)" in ours, ours
    assert f"promotion: record artifacts for {record['id']} (state merged)" in ours, ours
    assert any(
        p.startswith(f"promotion: {record['id']}: start staging") for p in planned.actions_planned
    )
    done = train.story.reconcile(at, outbound=oci.policy)
    for line in ours:  # (a ledger write is told as "record <event> for <train>")
        said = line.removeprefix("promotion: ").removesuffix(" (state merged)")
        assert said in done.actions_done, (said, done.actions_done)
    assert train.record()["state"] == "promoting"


def test_a_failing_registry_keeps_the_train_waiting_and_says_so(sandbox: Any) -> None:
    from test_registry_edges import stub

    from bot.commands.reconcile import exit_code

    with stub(lambda path, headers: (503, {}, b"down")) as down:
        url = f"http://{down.host}"
        oci = Oci("stub-503", url, down.host, None, False)  # type: ignore[arg-type]
        train = artifact_train(sandbox, oci, timeout="5m")
        first = train.reconcile(0 * M)
        late = train.reconcile(30 * M)  # far past the timeout: a failing registry is no absence
    assert any(p.startswith("registry: ") and "503" in p for p in first.problems), first.problems
    assert exit_code(first) == 4  # `release-train reconcile`: an external failure
    assert any("503" in p for p in late.problems)
    record = train.record()
    assert record["state"] == "merged"  # nothing bumped
    rows = train.artifacts()
    assert {a["state"] for a in rows.values()} == {"waiting"}
    assert all("the registry failed" in a["reason"] for a in rows.values())
    assert _bumps_on_main(train) == []
    assert down.seen  # it was asked
