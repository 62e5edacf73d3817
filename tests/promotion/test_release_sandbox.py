"""A GitHub Release per train, over HTTP on the sandbox: a draft at departure, published
with an annotated tag on the merge commit at completion, marked (prerelease, not latest,
what was reverted, the incident) on rollback; adopted, never duplicated, across re-runs and
a crash between the tag and the publish."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.core import artifacts as arts
from bot.core.ledger import decode, encode, record_path
from bot.insights.gitlog import read_history
from bot.insights.verify import verify
from bot.sandbox import faults
from bot.sandbox.http import ApiError

M = timedelta(minutes=1)
RUN_TO_THE_END = (0, 10, 40, 100, 160)  # minutes after the merge: every step soaked


def _releases(m: Merged) -> list[dict[str, Any]]:
    return list(m.kit.call("GET", f"/repos/{REPO}/releases", as_user="rm-dave"))


def _get(m: Merged, path: str) -> Any:
    return m.kit.call("GET", f"/repos/{REPO}{path}", as_user="rm-dave")


def _missing(m: Merged, path: str) -> bool:
    try:
        _get(m, path)
    except ApiError as error:
        return error.status == 404
    return False


def _tag(m: Merged) -> str:
    return f"train/{m.train_id}"


def _complete(m: Merged) -> None:
    for minutes in RUN_TO_THE_END:
        assert m.story.reconcile(m.merged_at + minutes * M).problems == ()
    assert m.record()["state"] == "completed"


def test_departure_drafts_the_release_with_the_notes(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    (draft,) = _releases(m)
    assert draft["tag_name"] == _tag(m) and draft["draft"] is True
    assert draft["name"] == f"Release train {m.train_id}"
    assert f"## Release train {m.train_id}" in draft["body"] and "Add A" in draft["body"]
    assert "## Artifacts" in draft["body"]
    assert draft["target_commitish"] == f"release/{m.train_id}"
    recorded = m.record()["extra"]["release"]
    assert (recorded["tag"], recorded["state"], recorded["id"]) == (_tag(m), "draft", draft["id"])
    # a draft is no tag yet, and GitHub's get-by-tag does not answer drafts
    assert _get(m, f"/git/matching-refs/tags/{_tag(m)}") == []
    assert _missing(m, f"/releases/tags/{_tag(m)}")


def test_completion_publishes_with_an_annotated_tag_and_a_rerun_writes_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    _complete(m)
    merge_sha = m.record()["merge_sha"]
    (rel,) = _releases(m)
    assert rel["draft"] is False and rel["prerelease"] is False
    assert _get(m, "/releases/latest")["id"] == rel["id"]
    assert _get(m, f"/releases/tags/{_tag(m)}")["id"] == rel["id"]
    ref = _get(m, f"/git/ref/tags/{_tag(m)}")
    assert ref["object"]["type"] == "tag"  # annotated, not lightweight
    tag = _get(m, f"/git/tags/{ref['object']['sha']}")
    assert tag["object"] == {**tag["object"], "type": "commit", "sha": merge_sha}
    assert tag["tag"] == _tag(m) and f"Train-Id: {m.train_id}" in tag["message"]
    assert sandbox.git.out(REPO, "cat-file", "-t", f"refs/tags/{_tag(m)}") == "tag"
    # the artifact table: the tags the bumps wrote (no artifact set was recorded), said so
    assert f"| web | `{merge_sha[:7]}` | – | `{merge_sha[:12]}` |" in rel["body"]
    assert "the tags the promotion's bump commits wrote" in rel["body"]
    assert m.record()["extra"]["release"]["state"] == "published"

    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at + 200 * M).problems == ()
    assert m.story.writes_since(mark) == []


def _record_set(m: Merged) -> arts.ArtifactSet:
    """Record an artifact set in the train's ledger record, as the bot writes the ledger."""
    digest = "sha256:" + "ab" * 32
    revision = "c0ffee" * 6
    found = arts.Artifact("web", "ghcr.io/acme/web", "1.2.3", arts.State.FOUND, digest, revision)
    left = arts.Artifact("api", "ghcr.io/acme/api", "1.2.3", arts.State.LEFT_OUT, reason="late")
    artifact_set = arts.ArtifactSet("c0ffee" * 6, (found, left))
    with m.story.client() as client:
        tip = client.ledger_tip("release-train/ledger")
        record = decode(json.dumps(m.record()))
        text = encode(arts.with_set(record, artifact_set))
        client.write_ledger("release-train/ledger", tip, {record_path(m.train_id): text}, "set")
    return artifact_set


def test_the_release_lists_the_recorded_artifact_set(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    assert m.story.reconcile(m.merged_at).problems == ()
    _record_set(m)
    _complete(m)
    (rel,) = _releases(m)
    assert "| web | `1.2.3` | `sha256:" + "ab" * 32 + "` | `c0ffeec0ffee` |" in rel["body"]
    assert "| api |" not in rel["body"]  # left out: it does not ship
    assert "the train's recorded artifact set" in rel["body"]
    # the bumps wrote the template's tag, not the recorded 1.2.3: `audit verify` says so,
    # naming each bump commit
    promotes = [sha for sha, body in m.main_log() if body.startswith("promote ")]
    findings = verify(read_history(sandbox.git.path(REPO)))
    mismatched = [f.commit for f in findings if f.kind == "artifact-mismatch"]
    assert sorted(mismatched) == sorted(promotes) and len(promotes) == 4


def test_a_rolled_back_release_is_not_latest_and_says_why(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    # an earlier release is the latest
    main = sandbox.git.resolve(REPO, "main")
    before = m.kit.call("POST", f"/repos/{REPO}/releases", {"tag_name": "v0", "target_commitish":
                        main}, as_user="rm-dave")  # fmt: skip
    m.story.reconcile(m.merged_at)
    m.story.reconcile(m.merged_at + 11 * M)  # staging passed, canary soaking
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 12 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back"
    promotion = record["extra"]["promotion"]
    rel = _get(m, f"/releases/tags/{_tag(m)}")
    assert rel["draft"] is False and rel["prerelease"] is True
    assert rel["name"] == f"Release train {m.train_id} (rolled back)"
    assert _get(m, "/releases/latest")["id"] == before["id"]
    body = rel["body"]
    assert body.startswith("> **Rolled back**: rollback requested by @\u200brm-dave")
    assert f"Incident: #{promotion['incident']}" in body
    for step in promotion["steps"][:2]:
        assert f"`{step['commit'][:12]}` reverted by `{step['revert_commit'][:12]}`" in body
    assert record["extra"]["release"]["state"] == "rolled-back"
    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at + 20 * M).problems == ()
    assert [w for w in m.story.writes_since(mark) if "/releases" in w[1]] == []


def test_a_crash_between_the_tag_and_the_publish_converges(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    for minutes in RUN_TO_THE_END[:-1]:
        assert m.story.reconcile(m.merged_at + minutes * M).problems == ()
    release_id = m.record()["extra"]["release"]["id"]
    # the publish fails every time this round (the round's own retry included)
    patch = f"PATCH /repos/{REPO}/releases/{release_id}"
    plan = faults.FaultPlan(script={(patch, n): 500 for n in range(4)})
    faults.install(sandbox.server, plan)
    try:
        crashed = m.story.reconcile(m.merged_at + 160 * M)
    finally:
        faults.uninstall(sandbox.server)
    assert crashed.problems != ()
    assert m.record()["state"] == "promoting"  # nothing recorded
    tag_object = sandbox.git.out(REPO, "rev-parse", f"refs/tags/{_tag(m)}")
    assert _releases(m)[0]["draft"] is True  # tagged, not yet published

    assert m.story.reconcile(m.merged_at + 161 * M).problems == ()
    assert m.record()["state"] == "completed"
    (rel,) = _releases(m)
    assert rel["id"] == release_id and rel["draft"] is False
    assert sandbox.git.out(REPO, "rev-parse", f"refs/tags/{_tag(m)}") == tag_object
    tags = sandbox.git.out(REPO, "for-each-ref", "--format=%(refname)", "refs/tags/")
    assert tags.split() == [f"refs/tags/{_tag(m)}"]


def test_a_draft_made_before_a_lost_answer_is_adopted(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The create is applied but its answer lost (502 after the write): the departure is
    decided again and finds the draft by its tag instead of making a second one."""
    plan = faults.FaultPlan(script={(f"POST /repos/{REPO}/releases", 0): "after"})
    faults.install(sandbox.server, plan)
    try:
        m = merged_train(sandbox)
    finally:
        faults.uninstall(sandbox.server)
    m.story.reconcile(m.merged_at - 1 * M)
    (draft,) = _releases(m)
    assert m.record()["extra"]["release"]["id"] == draft["id"]


CHANGELOG = "# Changelog\r\n\r\n## 1.0.0\r\n- first  \r\n\t* kept as is\r\n"


def test_the_changelog_gets_the_notes_on_top_byte_for_byte(sandbox) -> None:  # type: ignore[no-untyped-def]
    def with_changelog(text: str) -> str:
        return text + "release:\n  changelog: CHANGELOG.md\n"

    m = merged_train(sandbox, edit_config=with_changelog, extra={"CHANGELOG.md": CHANGELOG})
    branch = f"release/{m.train_id}"
    raw = sandbox.git.run(REPO, "cat-file", "blob", f"refs/heads/{branch}:CHANGELOG.md")[1]
    marker = f"<!-- release-train:changelog={m.train_id} -->".encode()
    head, _, rest = raw.partition(marker)
    assert head == b"# Changelog\r\n\r\n"
    entry, _, old = rest.partition(b"\r\n\r\n## 1.0.0")
    assert b"## 1.0.0" + old == CHANGELOG.encode()[len("# Changelog\r\n\r\n") :]
    assert f"## Release train {m.train_id}".encode() in entry and b"Add A" in entry
    assert b"\n" not in entry.replace(b"\r\n", b"")  # the file's line endings throughout
    subjects = sandbox.git.out(REPO, "log", "--format=%s", f"main..{branch}").splitlines()
    assert subjects.count(f"Add the notes of {m.train_id} to CHANGELOG.md") == 1
    assert m.record()["release_sha"] == sandbox.git.resolve(REPO, branch)
    # the train PR merges it, once; later rounds add nothing
    _complete(m)
    assert sandbox.git.out(REPO, "show", "main:CHANGELOG.md").count(m.train_id) >= 1
    merged = sandbox.git.run(REPO, "cat-file", "blob", "main:CHANGELOG.md")[1]
    assert merged == raw


def test_a_tag_taken_by_hand_is_reported_and_does_not_hold_the_train(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    main = sandbox.git.resolve(REPO, "main")  # before the merge: not the merge commit
    m.kit.call("POST", f"/repos/{REPO}/git/refs", {"ref": f"refs/tags/{_tag(m)}", "sha": main},
               as_user="rm-dave")  # fmt: skip
    _complete(m)  # completes all the same
    recorded = m.record()["extra"]["release"]
    assert recorded["state"] == "draft"
    assert f"the tag {_tag(m)} already names {main[:12]}" in recorded["error"]
    assert "delete or rename it" in recorded["error"]
    assert sandbox.git.resolve(REPO, f"refs/tags/{_tag(m)}") == main  # left as it was
