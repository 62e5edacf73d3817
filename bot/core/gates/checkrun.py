"""How a `GateResult` becomes a GitHub check run (pure: payloads only, no HTTP).

One check run per gate, named ``release-train/<gate>``, on the train PR head. GitHub limits
that shape the payloads: `output.summary` and `output.text` at most 65,535 characters (we
count UTF-8 bytes, which is never less, so a payload within our limit is within GitHub's);
at most 50 annotations per request, more are appended by further updates; at most three
`actions` buttons, label ≤ 20, description ≤ 40, identifier ≤ 20 characters.
`in_progress` is a check-run *status*; the other conclusions complete the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.gates.base import Annotation, GateResult
from bot.core.ledger import TrainRecord

PREFIX = "release-train/"
MAX_TEXT = 65_535
MAX_ANNOTATIONS = 50
MAX_ANNOTATION_MESSAGE = 65_535
MAX_ANNOTATION_TITLE = 255
MAX_TITLE = 255
MAX_ACTIONS = 3
MAX_ACTION_LABEL = 20
MAX_ACTION_DESCRIPTION = 40
MAX_ACTION_IDENTIFIER = 20
NONCE_LENGTH = 8  # hex digits of the state nonce in a button's identifier
OBSERVATIONS = frozenset({"gate", "stage-verdict"})  # history events that move nothing
TRUNCATION_NOTE = "\n\n---\n*Truncated: {omitted} more characters are in the ledger.*"


@dataclass(frozen=True)
class CheckAction:
    """A `requested_action` button on the check run."""

    label: str
    description: str
    identifier: str

    def __post_init__(self) -> None:
        for value, limit, what in (
            (self.label, MAX_ACTION_LABEL, "label"),
            (self.description, MAX_ACTION_DESCRIPTION, "description"),
            (self.identifier, MAX_ACTION_IDENTIFIER, "identifier"),
        ):
            if not value or len(value) > limit:
                raise ValueError(f"check-run action {what} {value!r}: 1 to {limit} characters")

    def payload(self) -> dict[str, str]:
        return {"label": self.label, "description": self.description, "identifier": self.identifier}


REEVALUATE = CheckAction("Re-evaluate", "Evaluate this gate again now", "reevaluate")
HOLD = CheckAction("Hold train", "Hold the train: no merge, no promotion", "hold")
ACTIONS: tuple[CheckAction, ...] = (REEVALUATE, HOLD)


def check_run_name(gate: str) -> str:
    return PREFIX + gate


def gate_of(check_run_name: str) -> str | None:
    """The gate a check run belongs to (for `check_run.rerequested`), or None if not ours."""
    if not check_run_name.startswith(PREFIX):
        return None
    return check_run_name[len(PREFIX) :] or None


def button_nonce(record: TrainRecord) -> str:
    """A short hash of the train's ledger state (id, state, hold, and the transitions in its
    history, not the gate verdicts it records): the buttons shown on its check runs carry
    it, so a press made (or captured) in an earlier state no longer matches once the train
    moved on, e.g. after the press itself (a hold is a recorded transition)."""
    moves = [e for e in record.history if e.event not in OBSERVATIONS]
    last = f"{moves[-1].event}@{moves[-1].at.isoformat()}" if moves else ""
    state = f"{record.id}\n{record.state}\n{record.held}\n{len(moves)}\n{last}"
    return hashlib.sha256(state.encode()).hexdigest()[:NONCE_LENGTH]


def buttons(nonce: str) -> tuple[CheckAction, ...]:
    """The buttons to show, their identifiers as `<what>.<nonce>`."""
    return tuple(
        CheckAction(a.label, a.description, f"{a.identifier}.{nonce}" if nonce else a.identifier)
        for a in ACTIONS[:MAX_ACTIONS]
    )


def requested_action(identifier: str) -> tuple[str, str] | None:
    """What a pressed button asks for and the nonce it was shown with: ``("reevaluate",
    nonce)``, ``("hold", nonce)`` or None (unknown). An identifier without a nonce (from
    before nonces) gives nonce ``""``, which no train state matches."""
    what, _, nonce = identifier.partition(".")
    known = next((a.identifier for a in ACTIONS if a.identifier == what), None)
    return (known, nonce) if known else None


def status_fields(result: GateResult, now: datetime) -> dict[str, str]:
    """The `status` / `conclusion` / `completed_at` fields for a gate result."""
    if result.conclusion == "in_progress":
        return {"status": "in_progress"}
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"status": "completed", "conclusion": result.conclusion, "completed_at": stamp}


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending with a note of what was cut."""
    if _size(text) <= limit:
        return text
    note = TRUNCATION_NOTE.format(omitted=f"{len(text):,}")  # upper bound, resized below
    budget = limit - _size(note)
    head = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    if cut >= 0 and cut > len(head) - 2000:
        head = head[:cut]
    note = TRUNCATION_NOTE.format(omitted=f"{len(text) - len(head):,}")
    result = head + note
    while _size(result) > limit:  # the final count may be a digit shorter or longer
        head = head[:-1]
        result = head + note
    return result


def _clip(text: str, limit: int) -> str:
    if _size(text) <= limit:
        return text
    return text.encode("utf-8")[: limit - 3].decode("utf-8", errors="ignore") + "…"


def annotation_payload(annotation: Annotation) -> dict[str, Any]:
    start = max(annotation.start_line, 1)
    payload: dict[str, Any] = {
        "path": annotation.path.removeprefix("./").lstrip("/"),
        "start_line": start,
        "end_line": max(annotation.end_line, start),
        "annotation_level": annotation.annotation_level,
        "message": _clip(annotation.message or "(no message)", MAX_ANNOTATION_MESSAGE),
    }
    if annotation.title:
        payload["title"] = _clip(annotation.title, MAX_ANNOTATION_TITLE)
    return payload


def annotation_batches(
    annotations: Sequence[Annotation], size: int = MAX_ANNOTATIONS
) -> list[list[dict[str, Any]]]:
    """Annotation payloads in order, in batches of at most `size` (GitHub allows 50)."""
    payloads = [annotation_payload(a) for a in annotations]
    return [payloads[i : i + size] for i in range(0, len(payloads), size)]


def render_output(result: GateResult, text: str = "") -> dict[str, str]:
    """The check run `output` (title, summary, optional text) within GitHub's limits."""
    output = {
        "title": _clip(" ".join(result.title.split()) or result.gate, MAX_TITLE),
        "summary": truncate(result.summary or result.title),
    }
    if text:
        output["text"] = truncate(text)
    return output


@dataclass(frozen=True)
class ExistingCheckRun:
    """Our check run as GitHub has it now, to skip updates that would change nothing."""

    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    title: str
    summary: str
    annotations_count: int
    external_id: str = ""


@dataclass(frozen=True)
class CheckRunPlan:
    """The requests that publish one gate result.

    `first` creates the run (POST .../check-runs) or, without `name`/`head_sha`, updates an
    existing one (PATCH .../check-runs/{id}); each of `rest` is a further PATCH that appends
    the next batch of annotations.
    """

    first: dict[str, Any]
    rest: tuple[dict[str, Any], ...]

    def as_update(self) -> dict[str, Any]:
        return {k: v for k, v in self.first.items() if k != "head_sha"}

    def all_annotations(self) -> list[dict[str, Any]]:
        bodies = (self.first, *self.rest)
        return [a for body in bodies for a in body["output"].get("annotations", [])]


def plan_check_run(
    result: GateResult,
    head_sha: str,
    now: datetime,
    *,
    text: str = "",
    details_url: str = "",
    external_id: str = "",
    nonce: str = "",
) -> CheckRunPlan:
    output = render_output(result, text)
    batches = annotation_batches(result.annotations)
    first: dict[str, Any] = {
        "name": check_run_name(result.gate),
        "head_sha": head_sha,
        **status_fields(result, now),
        "output": {**output, **({"annotations": batches[0]} if batches else {})},
        "actions": [a.payload() for a in buttons(nonce)],
    }
    if details_url:
        first["details_url"] = details_url
    if external_id:
        first["external_id"] = external_id
    brief = {"title": output["title"], "summary": output["summary"]}
    rest = tuple({"output": {**brief, "annotations": batch}} for batch in batches[1:])
    return CheckRunPlan(first, rest)


def needs_update(existing: ExistingCheckRun | None, plan: CheckRunPlan) -> bool:
    """Whether publishing `plan` would change what GitHub shows (reconcile twice: no-op)."""
    if existing is None:
        return True
    first = plan.first
    output = first["output"]
    return (
        existing.name != first["name"]
        or existing.head_sha != first["head_sha"]
        or existing.status != first["status"]
        or existing.conclusion != first.get("conclusion")
        or existing.title != output["title"]
        or existing.summary != output["summary"]
        or existing.annotations_count != len(plan.all_annotations())
        or existing.external_id != first.get("external_id", existing.external_id)
    )


def publish_action(existing: ExistingCheckRun | None, plan: CheckRunPlan) -> str:
    """How to publish `plan`: ``"skip"``, ``"update"`` (PATCH the existing run) or ``"create"``.

    GitHub *appends* annotations on every update, so a result with annotations (or replacing
    one that had some) goes to a new check run; GitHub shows the newest run of a name.
    """
    if existing is None or existing.head_sha != plan.first["head_sha"]:
        return "create"
    if not needs_update(existing, plan):
        return "skip"
    if plan.all_annotations() or existing.annotations_count:
        return "create"
    return "update"
