"""Replay-safe actions (issue 27, item 5): a check-run button carries a nonce of the
train's state; a press is honoured once, and a captured signed delivery replayed later
with a fresh delivery id does nothing. The real Flask app, reached by the sandbox's signed
webhooks (`scenarios.webhook_rig`); the replay is re-signed by the sandbox's own signer."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lifecycle_sandbox import REPO
from scenario import Run, board, depart, ledger_records, play
from scenarios import quiet, webhook_rig

from bot.sandbox.api.checks import request_action

pytestmark = pytest.mark.reliability


def _train(run: Run) -> dict[str, Any]:
    (record,) = [r for r in ledger_records(run).values() if r["state"] == "departed"]
    return record


def _ci_run(sb: Any, head: str) -> dict[str, Any]:
    runs = [
        r
        for r in sb.store.data["check_runs"].values()
        if r["head_sha"] == head and r["name"] == "release-train/ci"
    ]
    return copy.deepcopy(max(runs, key=lambda r: int(r["id"])))  # the store updates in place


def _shown(run: dict[str, Any], what: str) -> str:
    (found,) = [a["identifier"] for a in run["actions"] if a["identifier"].startswith(what + ".")]
    return str(found)


def _replay(sb: Any, app: Any, payload: dict[str, Any]) -> int:
    """The captured delivery sent again, correctly signed, under a fresh delivery id."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = sb.deliverer.headers("check_run", str(uuid.uuid4()), body)
    return int(app.test_client().post("/webhook", data=body, headers=headers).status_code)


def _holds(record: dict[str, Any]) -> list[str]:
    return [e["actor"] for e in record["history"] if e["event"] == "hold"]


def test_a_replayed_hold_press_with_a_fresh_delivery_id_does_nothing(tmp_path: Path) -> None:
    now: list[datetime] = []
    with webhook_rig(tmp_path, now, duplicate=0.0, reorder=0) as (sb, app):
        run = play(sb, phases=[("board", board), ("depart", depart)])
        now.append(run.t0 + timedelta(minutes=3))
        quiet(sb, app)
        head = run.story.open_train_pr()["head"]["sha"]
        ci = _ci_run(sb, head)
        request_action(sb.server, int(ci["id"]), _shown(ci, "hold"), "rm-dave")
        quiet(sb, app)
        assert _train(run)["held"] is True
        (pressed,) = [d for d in sb.deliverer.log if d.action == "requested_action"]
        # the hold was recorded: the buttons now carry a new nonce
        assert _shown(_ci_run(sb, head), "hold") != _shown(ci, "hold")

        pr = run.story.open_train_pr()["number"]
        run.kit.comment(REPO, pr, "rm-dave", "/train resume")
        run.settle(now[0])
        quiet(sb, app)
        assert _train(run)["held"] is False

        assert _replay(sb, app, dict(pressed.payload)) == 202  # signed: accepted, then ignored
        quiet(sb, app)
        run.settle(now[0])
        record = _train(run)
        assert record["held"] is False
        assert _holds(record) == ["rm-dave"]


def test_a_replayed_reevaluate_press_publishes_nothing_again(tmp_path: Path) -> None:
    now: list[datetime] = []
    with webhook_rig(tmp_path, now, duplicate=0.0, reorder=0) as (sb, app):
        run = play(sb, phases=[("board", board), ("depart", depart)])
        now.append(run.t0 + timedelta(minutes=3))
        quiet(sb, app)
        head = run.story.open_train_pr()["head"]["sha"]
        ci = _ci_run(sb, head)
        request_action(sb.server, int(ci["id"]), _shown(ci, "reevaluate"), "dev-bob")
        quiet(sb, app)
        fresh = _ci_run(sb, head)
        assert int(fresh["id"]) > int(ci["id"])  # the press re-evaluated the gate once
        (pressed,) = [d for d in sb.deliverer.log if d.action == "requested_action"]
        assert _replay(sb, app, dict(pressed.payload)) == 202
        quiet(sb, app)
        assert _ci_run(sb, head)["id"] == fresh["id"]  # the replay made no new run


def test_a_replayed_rerun_publishes_nothing_again(tmp_path: Path) -> None:
    now: list[datetime] = []
    with webhook_rig(tmp_path, now, duplicate=0.0, reorder=0) as (sb, app):
        run = play(sb, phases=[("board", board), ("depart", depart)])
        now.append(run.t0 + timedelta(minutes=3))
        quiet(sb, app)
        head = run.story.open_train_pr()["head"]["sha"]
        ci = _ci_run(sb, head)
        run.kit.call("POST", f"/repos/{REPO}/check-runs/{ci['id']}/rerequest", as_user="dev-bob")
        quiet(sb, app)
        fresh = _ci_run(sb, head)
        assert int(fresh["id"]) > int(ci["id"])  # Re-run evaluated the gate afresh, once
        (rerun,) = [d for d in sb.deliverer.log if d.action == "rerequested"]
        assert _replay(sb, app, dict(rerun.payload)) == 202
        quiet(sb, app)
        assert _ci_run(sb, head)["id"] == fresh["id"]
