"""The gates wired into the real reconcile, against the sandbox over HTTP: facts gathered
through the adapter, each gate shown as `release-train/<gate>` on the train PR head, and
the train merged only on a full green verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, config_text, new_story, start_time

GATES = ("ci", "security", "manifests", "policy", "error-budget")


def departed(sandbox: Any, gates: str = "", files: dict[str, str] | None = None) -> tuple[
    Story, datetime, dict[str, Any]
]:  # fmt: skip
    """One approved, green PR by dev-alice boarded and departed; the open train PR."""
    t0 = start_time()
    text = config_text(t0).replace("gates:\n  ci:\n    required: [ci]\n",
                                   "gates:\n  ci:\n    required: [ci]\n" + gates)  # fmt: skip
    story = new_story(sandbox, t0, text)
    kit = story.kit
    if files:
        kit.push(REPO, "main", files, "setup", "rm-dave")
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    return story, t0, story.open_train_pr()


def runs(story: Story, sha: str) -> dict[str, dict[str, Any]]:
    """Our newest check run of each gate on `sha`."""
    out = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    ours = sorted(out["check_runs"], key=lambda r: r["id"])
    return {r["name"].removeprefix("release-train/"): r for r in ours if "/" in r["name"]}


def merged(story: Story, train_pr: dict[str, Any]) -> bool:
    return bool(story.pull(train_pr["number"])["merged"])


def test_merge_only_on_a_full_green_verdict(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox)
    head = train_pr["head"]["sha"]
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    # CI has not reported: the ci gate is pending and nothing merges
    story.reconcile(t0 + timedelta(minutes=4))
    shown = runs(story, head)
    assert sorted(shown) == sorted(GATES)
    assert shown["ci"]["status"] == "in_progress" and not merged(story, train_pr)
    assert shown["policy"]["conclusion"] == "success"
    # CI fails: the gate fails, still no merge
    story.kit.set_check(REPO, head, "ci", "completed", "failure")
    story.reconcile(t0 + timedelta(minutes=5))
    assert runs(story, head)["ci"]["conclusion"] == "failure" and not merged(story, train_pr)
    # CI green: every gate green (security and error budget neutral, allowed by default)
    story.green(head)
    story.reconcile(t0 + timedelta(minutes=6))
    assert merged(story, train_pr)
    record = story.pull(train_pr["number"])
    message = sandbox.git.out(REPO, "log", "-1", "--format=%B", record["merge_commit_sha"])
    assert (
        "Gates: ci=success, security=neutral, manifests=success, policy=success, "
        "error-budget=neutral" in message
    )
    # the ledger recorded each gate's transitions with their titles
    train_id = train_pr["head"]["ref"].removeprefix("release/")
    details = [e["detail"] for e in story.ledger(train_id)["history"] if e["event"] == "gate"]
    assert [d.split(":")[0] for d in details if d.startswith("ci=")] == [
        "ci=in_progress",
        "ci=failure",
        "ci=success",
    ]
    policy = [d for d in details if d.startswith("policy=success: Policy satisfied")]
    assert len(policy) == 1 and "@rm-dave" in policy[0]


def test_a_second_reconcile_writes_nothing(sandbox: Any) -> None:
    story, t0, _ = departed(sandbox)
    story.reconcile(t0 + timedelta(minutes=3))
    mark = story.log_mark()
    result = story.reconcile(t0 + timedelta(minutes=3, seconds=30))
    assert story.writes_since(mark) == [] and result.actions_done == ()


def test_self_approval_does_not_count(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox)
    head = train_pr["head"]["sha"]
    story.green(head)
    story.approve(train_pr["number"], "dev-alice", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    policy = runs(story, head)["policy"]
    assert policy["conclusion"] == "action_required" and not merged(story, train_pr)
    assert "@dev-alice" in policy["output"]["summary"]
    assert "author" in policy["output"]["summary"]
    story.approve(train_pr["number"], "rev-carol", t0 + timedelta(minutes=4))
    story.reconcile(t0 + timedelta(minutes=5))
    assert merged(story, train_pr)


def test_an_approval_then_a_push_is_dismissed_and_gates_run_on_the_new_head(
    sandbox: Any,
) -> None:
    story, t0, train_pr = departed(sandbox)
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    # someone pushes to the release branch after the approval (but before a reconcile)
    real = sandbox.server.clock
    sandbox.server.clock = lambda: t0 + timedelta(minutes=4)
    try:
        new_head = story.kit.push(REPO, train_pr["head"]["ref"], {"hotfix.txt": "x\n"}, "fix")
    finally:
        sandbox.server.clock = real
    story.green(new_head)
    story.reconcile(t0 + timedelta(minutes=5))
    assert not merged(story, train_pr)
    shown = runs(story, new_head)
    assert sorted(shown) == sorted(GATES)  # every gate evaluated again on the new head
    assert shown["policy"]["conclusion"] == "action_required"
    assert "stale" in shown["policy"]["output"]["summary"].lower()
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=6))
    story.reconcile(t0 + timedelta(minutes=7))
    assert merged(story, train_pr)


CODEOWNERS = "* @rm-dave\n/a.txt @rev-carol\n"


def test_codeowners_of_the_changed_paths_must_approve(sandbox: Any) -> None:
    policy = "  policy:\n    approvals:\n      required: 1\n      codeowners: true\n"
    story, t0, train_pr = departed(sandbox, policy, {".github/CODEOWNERS": CODEOWNERS})
    head = train_pr["head"]["sha"]
    story.green(head)
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    summary = runs(story, head)["policy"]["output"]["summary"]
    assert not merged(story, train_pr) and "a.txt" in summary and "@rev-carol" in summary
    story.approve(train_pr["number"], "rev-carol", t0 + timedelta(minutes=4))
    story.reconcile(t0 + timedelta(minutes=5))
    assert merged(story, train_pr)


def test_code_scanning_alerts_fail_the_gate_with_every_annotation(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox)
    head = train_pr["head"]["sha"]
    ref = "refs/heads/" + train_pr["head"]["ref"]
    for line in range(1, 61):
        story.kit.alert(REPO, f"py/rule-{line}", "error", ref=ref, path="a.txt", line=line)
    story.green(head)
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    security = runs(story, head)["security"]
    assert security["conclusion"] == "failure" and not merged(story, train_pr)
    path = f"/repos/{REPO}/check-runs/{security['id']}/annotations?per_page=100"
    notes = story.kit.call("GET", path, as_user="rm-dave")
    assert sorted(n["start_line"] for n in notes) == list(range(1, 61))
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=4, seconds=30))
    assert story.writes_since(mark) == []  # the annotated run is not published again


BROKEN_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: three
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
"""


def test_a_manifest_that_fails_its_schema_fails_the_gate_at_its_line(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox, files={"deploy/web.yaml": BROKEN_DEPLOYMENT})
    # the staging stage bumps deploy/*.yaml (config read from the default branch each time)
    config = config_text(t0).replace(
        "  - name: staging\n", '  - name: staging\n    manifests: ["deploy/*.yaml"]\n'
    )
    story.set_config(config)
    head = train_pr["head"]["sha"]
    story.green(head)
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    gate = runs(story, head)["manifests"]
    assert gate["conclusion"] == "failure" and not merged(story, train_pr)
    path = f"/repos/{REPO}/check-runs/{gate['id']}/annotations"
    notes = story.kit.call("GET", path, as_user="rm-dave")
    assert [(n["path"], n["start_line"]) for n in notes] == [("deploy/web.yaml", 6)]


def shown(sandbox: Any, run: dict[str, Any], what: str) -> str:
    """The identifier of the `what` button as the run shows it (`<what>.<nonce>`)."""
    stored = sandbox.store.get("check_runs", run["id"])
    found = [a["identifier"] for a in stored["actions"] if a["identifier"].startswith(what)]
    assert len(found) == 1, stored["actions"]
    return str(found[0])


def _pressed(run: dict[str, Any], who: str, identifier: str = "") -> Any:
    """What GitHub's delivery for Re-run (or a button, by its shown identifier) on `run`
    asks of the gates."""
    from bot.core.gates.events import gate_request

    payload: dict[str, Any] = {"check_run": run, "sender": {"login": who}}
    payload["action"] = "requested_action" if identifier else "rerequested"
    if identifier:
        payload["requested_action"] = {"identifier": identifier}
    request = gate_request("check_run", payload)
    assert request is not None
    return request


def test_rerun_and_reevaluate_publish_that_gate_afresh(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox)
    head = train_pr["head"]["sha"]
    story.reconcile(t0 + timedelta(minutes=3))
    before = runs(story, head)
    for what in ("", "reevaluate"):
        old = runs(story, head)["policy"]
        mark = story.log_mark()
        request = _pressed(old, "dev-bob", what and shown(sandbox, old, what))
        story.reconcile(t0 + timedelta(minutes=4), gate_request=request)
        assert [w[:2] for w in story.writes_since(mark)] == [("POST", f"/repos/{REPO}/check-runs")]
        new = runs(story, head)["policy"]
        assert new["id"] > old["id"] and new["conclusion"] == old["conclusion"]
    after = runs(story, head)
    assert {g: r["id"] for g, r in after.items() if g != "policy"} == {
        g: r["id"] for g, r in before.items() if g != "policy"
    }


def test_the_hold_button_holds_the_train_for_release_managers_only(sandbox: Any) -> None:
    story, t0, train_pr = departed(sandbox)
    head = train_pr["head"]["sha"]
    train_id = train_pr["head"]["ref"].removeprefix("release/")
    story.reconcile(t0 + timedelta(minutes=3))
    ci_run = runs(story, head)["ci"]
    # a developer (write permission) may not hold trains: nothing happens
    hold = shown(sandbox, ci_run, "hold")
    story.reconcile(t0 + timedelta(minutes=3), gate_request=_pressed(ci_run, "dev-bob", hold))
    assert story.ledger(train_id)["held"] is False
    # the release manager holds it: recorded like /train hold, and the train does not merge
    story.reconcile(t0 + timedelta(minutes=3), gate_request=_pressed(ci_run, "rm-dave", hold))
    record = story.ledger(train_id)
    assert record["held"] is True and "rm-dave" in record["hold_reason"]
    assert [e["actor"] for e in record["history"] if e["event"] == "hold"] == ["rm-dave"]
    story.green(head)
    story.approve(train_pr["number"], "rev-carol", t0 + timedelta(minutes=4))
    story.reconcile(t0 + timedelta(minutes=5))
    assert not merged(story, train_pr)
    assert runs(story, head)["policy"]["conclusion"] == "success"  # only the hold blocks


def test_only_members_of_the_configured_team_count(sandbox: Any) -> None:
    policy = "  policy:\n    approvals:\n      required: 1\n      teams: [acme/release-managers]\n"
    story, t0, train_pr = departed(sandbox, policy)
    head = train_pr["head"]["sha"]
    story.green(head)
    story.approve(train_pr["number"], "rev-carol", t0 + timedelta(minutes=3))
    story.reconcile(t0 + timedelta(minutes=4))
    gate = runs(story, head)["policy"]
    assert gate["conclusion"] == "action_required" and not merged(story, train_pr)
    assert "@rev-carol" in gate["output"]["summary"]
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=4))
    story.reconcile(t0 + timedelta(minutes=5))
    assert merged(story, train_pr)
