"""Which webhook deliveries ask the gates to look again (or to hold the train).

- `check_run.rerequested` on one of our runs ("Re-run"): re-evaluate that gate;
- `check_run.requested_action` on one of our runs: the button's identifier
  (`reevaluate.<nonce>` re-evaluates that gate, `hold.<nonce>` holds the train); the shell
  honours a press only while the nonce matches the train's state (`checkrun.button_nonce`)
  and, for a re-evaluation, the pressed run is still the gate's newest: a replayed or stale
  press does nothing (a Re-run, too, counts only from the gate's newest run);
- `check_suite.rerequested` for our app: re-evaluate every gate on that head;
- `push` to a release branch: re-evaluate every gate on the new head.
Pure: payload in, request out; the shell checks permissions and acts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.gates.checkrun import gate_of, requested_action

ALL_GATES: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateRequest:
    action: str  # "reevaluate" | "hold"
    gates: tuple[str, ...]  # the gates to re-evaluate; () means all of them
    head_sha: str
    actor: str
    source: str  # e.g. "check_run.rerequested"
    branch: str = ""
    nonce: str = ""  # a button's: the train state it was shown in (`checkrun.button_nonce`)
    run_id: int = 0  # the check run whose button was pressed


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ours(app: Mapping[str, Any], app_id: int | None) -> bool:
    return app_id is None or app.get("id") == app_id


def gate_request(
    event: str,
    payload: Mapping[str, Any],
    *,
    app_id: int | None = None,
    release_prefix: str = "release/",
) -> GateRequest | None:
    """What a delivery asks of the gates, or None when it asks nothing of them."""
    action = str(payload.get("action") or "")
    actor = str(_obj(payload.get("sender")).get("login") or "")
    if event == "check_run":
        return _check_run(action, payload, actor, app_id)
    if event == "check_suite" and action == "rerequested":
        suite = _obj(payload.get("check_suite"))
        if not _ours(_obj(suite.get("app")), app_id):
            return None
        branch = str(suite.get("head_branch") or "")
        return GateRequest("reevaluate", ALL_GATES, str(suite.get("head_sha") or ""), actor,
                           "check_suite.rerequested", branch)  # fmt: skip
    if event == "push":
        ref = str(payload.get("ref") or "")
        branch = ref.removeprefix("refs/heads/")
        after = str(payload.get("after") or "")
        if not ref.startswith("refs/heads/" + release_prefix) or payload.get("deleted"):
            return None
        return GateRequest("reevaluate", ALL_GATES, after, actor, "push", branch)
    return None


def _check_run(
    action: str, payload: Mapping[str, Any], actor: str, app_id: int | None
) -> GateRequest | None:
    run = _obj(payload.get("check_run"))
    gate = gate_of(str(run.get("name") or ""))
    if gate is None or not _ours(_obj(run.get("app")), app_id):
        return None
    head_sha = str(run.get("head_sha") or "")
    branch = str(_obj(run.get("check_suite")).get("head_branch") or "")
    run_id = int(run.get("id") or 0)
    if action == "rerequested":
        source = "check_run.rerequested"
        return GateRequest("reevaluate", (gate,), head_sha, actor, source, branch, "", run_id)
    if action == "requested_action":
        identifier = str(_obj(payload.get("requested_action")).get("identifier") or "")
        pressed = requested_action(identifier)
        if pressed is None:
            return None
        wanted, nonce = pressed
        gates = (gate,) if wanted == "reevaluate" else ALL_GATES
        source = "check_run.requested_action"
        return GateRequest(wanted, gates, head_sha, actor, source, branch, nonce, run_id)
    return None
