"""The Action's `plan` runs `doctor`: its findings go to the job summary and as warnings,
and a plan's exit code is the plan's. With the workflow's GITHUB_TOKEN (the token the
action passes as `RELEASE_TRAIN_DEFAULT_TOKEN` too), a stage pull request that waits for CI
checks is a problem: no workflow runs on a pull request that token opened."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time
from promotion.promotion_story import config

from bot.cli import main
from bot.sandbox.rules import state

CHECKS = {
    "type": "required_status_checks",
    "parameters": {
        "strict_required_status_checks_policy": False,
        "required_status_checks": [{"context": "ci"}],
    },
}


def _env(tmp_path: Path, sandbox: Any, monkeypatch: Any, token: str, default: str) -> Path:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({}))
    summary = tmp_path / "summary.md"
    summary.write_text("")
    for name, value in {
        "GITHUB_EVENT_NAME": "schedule", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": sandbox.base_url,
        "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(summary),
        "RELEASE_TRAIN_TOKEN": token, "RELEASE_TRAIN_DEFAULT_TOKEN": default,
        "RELEASE_TRAIN_COMMAND": "plan",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return summary


def test_plan_runs_doctor_and_names_a_stage_pr_no_ci_will_run_on(
    sandbox: Any, monkeypatch: Any, capsys: Any, tmp_path: Path
) -> None:
    t0 = start_time() - timedelta(minutes=10)
    text = config(t0)
    for stage in ("staging", "canary", "production"):  # every stage through pull requests
        text = text.replace(f"  - name: {stage}\n", f"  - name: {stage}\n    mode: pull_request\n")
    story = new_story(sandbox, t0, text)
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["5"] = {
            "name": "ci", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [CHECKS], "bypass_actors": [],
        }  # fmt: skip
    token = sandbox.bot_token()

    # an App token: the plan's summary carries the doctor's table; a train can complete
    summary = _env(tmp_path, sandbox, monkeypatch, token, "ghs_" + "d" * 36)
    assert main(["action"]) == 0
    text = summary.read_text()
    assert "### Doctor: a train can complete" in text
    assert "waits for checks ci" in text.split("### Doctor", 1)[1]
    assert "note: the token is the workflow's GITHUB_TOKEN" not in text

    # the workflow's GITHUB_TOKEN: staging's pull request waits for `ci`, which never runs
    capsys.readouterr()
    summary = _env(tmp_path, sandbox, monkeypatch, token, token)
    assert main(["action"]) == 0  # a finding does not fail the plan
    doctor = summary.read_text().split("### Doctor", 1)[1]
    assert doctor.startswith(": **a train could not complete**")
    assert "stage staging: its pull request waits for checks ci" in doctor
    assert "note: the token is the workflow's GITHUB_TOKEN" in doctor
    out = capsys.readouterr().out
    assert "::warning title=release-train doctor::stage staging" in out
    refs = story.sandbox.git.out(REPO, "for-each-ref", "--format=%(refname)")
    assert "release-train/ledger" not in refs  # a plan writes nothing, doctor neither
