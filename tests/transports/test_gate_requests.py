"""Re-run and the check-run buttons reach reconcile: a delivery for one of our gate check
runs carries a GateRequest through the worker, and coalescing never drops one."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask
from transport_kit import Recorder, example, signed_headers

from bot.core.gates.events import GateRequest
from bot.transports.app import runtime


def _post(app: Flask, event: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return app.test_client().post("/webhook", data=body, headers=signed_headers(event, body))


def _our_run(action: str, name: str = "release-train/ci") -> dict[str, Any]:
    payload = copy.deepcopy(example("check_run"))
    payload["action"] = action
    payload["check_run"]["name"] = name
    payload["check_run"]["app"]["id"] = 4242  # the app in the settings fixture
    return payload


def test_rerun_of_our_gate_reaches_reconcile(app: Flask, recorder: Recorder) -> None:
    assert _post(app, "check_run", _our_run("rerequested")).status_code == 202
    assert runtime(app).worker.wait_idle(10)
    (call,) = recorder.calls
    (asked,) = call.gate_requests
    assert isinstance(asked, GateRequest)
    assert asked.action == "reevaluate" and asked.gates == ("ci",)


def test_a_hold_button_is_not_lost_when_deliveries_coalesce(app: Flask, recorder: Recorder) -> None:
    hold = _our_run("requested_action", "release-train/policy")
    hold["requested_action"] = {"identifier": "hold"}
    rerun = _our_run("rerequested")
    for payload in (rerun, hold, rerun):
        assert _post(app, "check_run", payload).status_code == 202
    assert runtime(app).worker.wait_idle(10)
    actions = [g.action for call in recorder.calls for g in call.gate_requests]
    # however the worker coalesced the three deliveries, the hold arrives exactly once
    assert actions.count("hold") == 1 and "reevaluate" in actions
    assert actions.index("reevaluate") < actions.index("hold")


def test_someone_elses_check_run_asks_nothing(app: Flask, recorder: Recorder) -> None:
    payload = _our_run("rerequested", "build")
    _post(app, "check_run", payload)
    assert runtime(app).worker.wait_idle(10)
    assert all(call.gate_requests == () for call in recorder.calls)
