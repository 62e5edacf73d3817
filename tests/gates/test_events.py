"""Re-run and button flows, from real webhook payloads (names changed to our check runs)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.gates.events import GateRequest, gate_request

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "webhooks"


@cache
def _examples(event: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((WEBHOOKS / f"{event}.json").read_text())
    return loaded


def example(event: str, action: str) -> dict[str, Any]:
    found = next(e for e in _examples(event) if e.get("action") == action)
    return copy.deepcopy(found)


def ours(payload: dict[str, Any], gate: str) -> dict[str, Any]:
    payload["check_run"]["name"] = f"release-train/{gate}"
    return payload


def test_rerun_of_our_check_run_reevaluates_that_gate() -> None:
    payload = ours(example("check_run", "rerequested"), "security")
    request = gate_request("check_run", payload)
    assert request == GateRequest(
        "reevaluate",
        ("security",),
        payload["check_run"]["head_sha"],
        payload["sender"]["login"],
        "check_run.rerequested",
        payload["check_run"]["check_suite"]["head_branch"] or "",
        run_id=payload["check_run"]["id"],  # only the gate's newest run may be re-run
    )


def test_rerun_of_someone_elses_check_run_is_ignored() -> None:
    assert gate_request("check_run", example("check_run", "rerequested")) is None
    app_id = example("check_run", "rerequested")["check_run"]["app"]["id"]
    payload = ours(example("check_run", "rerequested"), "ci")
    assert gate_request("check_run", payload, app_id=app_id + 1) is None
    assert gate_request("check_run", payload, app_id=app_id) is not None


def test_buttons() -> None:
    payload = ours(example("check_run", "requested_action"), "policy")
    payload["requested_action"] = {"identifier": "reevaluate"}
    again = gate_request("check_run", payload)
    assert again is not None and (again.action, again.gates) == ("reevaluate", ("policy",))
    payload["requested_action"] = {"identifier": "hold"}
    hold = gate_request("check_run", payload)
    assert hold is not None and (hold.action, hold.gates) == ("hold", ())
    assert hold.source == "check_run.requested_action"
    payload["requested_action"] = {"identifier": "lgtm|26764"}  # the example's own button
    assert gate_request("check_run", payload) is None


def test_created_and_completed_check_runs_ask_nothing() -> None:
    for action in ("created", "completed"):
        assert gate_request("check_run", ours(example("check_run", action), "ci")) is None


def test_check_suite_rerequested_reevaluates_all() -> None:
    payload = example("check_suite", "rerequested")
    request = gate_request("check_suite", payload)
    assert request is not None and request.gates == () and request.action == "reevaluate"
    assert request.head_sha == payload["check_suite"]["head_sha"]
    other_app = payload["check_suite"]["app"]["id"] + 1
    assert gate_request("check_suite", payload, app_id=other_app) is None
    assert gate_request("check_suite", example("check_suite", "completed")) is None


def test_push_to_a_release_branch_reevaluates_all_on_the_new_head() -> None:
    payload = copy.deepcopy(next(e for e in _examples("push") if e["ref"] == "refs/heads/master"))
    assert gate_request("push", payload) is None
    payload["ref"] = "refs/heads/release/shop-2026-11-02"
    request = gate_request("push", payload)
    assert request is not None
    assert (request.head_sha, request.branch) == (payload["after"], "release/shop-2026-11-02")
    payload["deleted"] = True
    assert gate_request("push", payload) is None
    tag = next(e for e in _examples("push") if e["ref"].startswith("refs/tags/"))
    assert gate_request("push", tag) is None


def test_unrelated_events_ask_nothing() -> None:
    assert gate_request("issues", _examples("issues")[0]) is None
