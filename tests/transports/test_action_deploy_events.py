"""The Action's job summary lists the deployment events its reconcile saw (the same events
`serve` exports on /metrics): a sandbox train merged and bumped by one run, rolled back by
the next."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import merged_train

from bot.transports.action import run_action

M = timedelta(minutes=1)


def summary_after(tmp_path: Path, sandbox, now: datetime) -> str:  # type: ignore[no-untyped-def]
    (tmp_path / "event.json").write_text(json.dumps({}))
    (tmp_path / "summary.md").write_text("")
    env = {
        **os.environ,
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": sandbox.base_url,
        "GITHUB_RUN_ID": "7",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
        "RELEASE_TRAIN_BOT_LOGIN": "release-train[bot]",
    }
    code, _ = run_action(env, now, stdout=io.StringIO())
    assert code == 0, (tmp_path / "summary.md").read_text()
    return (tmp_path / "summary.md").read_text()


def at(m, event: str) -> str:  # type: ignore[no-untyped-def]
    [when] = [e["at"] for e in m.record()["history"] if e["event"] == event]
    return datetime.fromisoformat(when).isoformat().replace("+00:00", "Z")


@pytest.mark.slow
def test_the_summary_lists_the_bump_then_the_revert(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    first = summary_after(tmp_path, sandbox, m.merged_at)
    assert "**Deployment events** (recent trains):" in first
    bump = f"| {at(m, 'stage-started')} | `{m.train_id}` | `staging` | bump |"
    assert bump in first
    assert "| revert |" not in first

    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    second = summary_after(tmp_path, sandbox, m.merged_at + 2 * M)
    assert m.record()["state"] == "rolled_back"
    assert bump in second
    assert f"| {at(m, 'rolled-back')} | `{m.train_id}` | `staging` | revert |" in second
