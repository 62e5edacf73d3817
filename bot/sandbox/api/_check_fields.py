"""What a check run's create or update body may say, with GitHub's limits: status and
conclusion, output text (at most 65,535 characters), annotations (at most 50 a request),
actions. A helper module (its name starts with ``_``): it has no routes."""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import ApiError, RequestContext, invalid_field, missing_field

MAX_ANNOTATIONS = 50
MAX_TEXT = 65535
STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale",
    "timed_out",
)  # fmt: skip
LEVELS = ("notice", "warning", "failure")


def _check_text(output: dict[str, Any]) -> None:
    for name in ("title", "summary", "text"):
        value = output.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise invalid_field("CheckRun", f"output.{name}")
        if len(value) > MAX_TEXT:
            raise ApiError(
                422,
                "Invalid request.",
                [{"resource": "CheckRun", "field": f"output.{name}", "code": "invalid",
                  "message": f"Only {MAX_TEXT} characters are allowed; {len(value)} were "
                  "supplied."}],
            )  # fmt: skip


def _annotations(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_field("CheckRun", "output.annotations")
    if len(raw) > MAX_ANNOTATIONS:
        raise ApiError(
            422,
            "Invalid request.",
            [{"resource": "CheckRun", "field": "output.annotations", "code": "invalid",
              "message": f"Only {MAX_ANNOTATIONS} annotations are allowed per request; "
              f"{len(raw)} were supplied."}],
        )  # fmt: skip
    return [_annotation(item) for item in raw]


def _annotation(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid_field("CheckRun", "output.annotations")
    for name in ("path", "start_line", "end_line", "annotation_level", "message"):
        if item.get(name) in (None, ""):
            raise missing_field("CheckRun", f"output.annotations.{name}")
    if item["annotation_level"] not in LEVELS:
        raise invalid_field("CheckRun", "output.annotations.annotation_level")
    start, end = item["start_line"], item["end_line"]
    same_line = start == end
    return {
        "path": str(item["path"]),
        "start_line": int(start),
        "end_line": int(end),
        "start_column": item.get("start_column") if same_line else None,
        "end_column": item.get("end_column") if same_line else None,
        "annotation_level": item["annotation_level"],
        "title": item.get("title"),
        "message": str(item["message"]),
        "raw_details": item.get("raw_details"),
    }


def _actions(raw: Any) -> list[dict[str, Any]]:
    """Up to 3 buttons, each with label (<= 20), description (<= 40), identifier (<= 20)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 3:
        raise invalid_field("CheckRun", "actions", "at most 3 actions are allowed")
    limits = {"label": 20, "description": 40, "identifier": 20}
    for action in raw:
        if not isinstance(action, dict):
            raise invalid_field("CheckRun", "actions")
        for name, limit in limits.items():
            value = action.get(name)
            if not isinstance(value, str) or not value or len(value) > limit:
                raise invalid_field("CheckRun", f"actions.{name}", f"1 to {limit} characters")
    return [{k: a[k] for k in limits} for a in raw]


def apply_fields(ctx: RequestContext, run: dict[str, Any], body: dict[str, Any]) -> None:
    """Set status/conclusion/times/output from a create or update body (validated)."""
    for name in ("name", "details_url", "external_id", "started_at"):
        if name in body and body[name] is not None:
            run[name] = body[name]
    status, conclusion = body.get("status"), body.get("conclusion")
    if status is not None and status not in STATUSES:
        raise invalid_field("CheckRun", "status")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise invalid_field("CheckRun", "conclusion")
    if conclusion is not None:
        status = "completed"
    if status == "completed" and conclusion is None and run.get("conclusion") is None:
        raise missing_field("CheckRun", "conclusion")
    if status is not None:
        run["status"] = status
    if conclusion is not None:
        run["conclusion"] = conclusion
    if run["status"] == "completed":
        run["completed_at"] = body.get("completed_at") or run.get("completed_at") or ctx.now()
    if "actions" in body:
        run["actions"] = _actions(body["actions"])
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            raise invalid_field("CheckRun", "output")
        _check_text(output)
        new = _annotations(output.get("annotations"))
        kept = run["output"]
        for name in ("title", "summary", "text"):
            if name in output:
                kept[name] = output[name]
        run["annotations"] = [*run.get("annotations", []), *new]
        kept["annotations_count"] = len(run["annotations"])
