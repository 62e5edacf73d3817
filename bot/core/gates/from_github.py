"""Parse GitHub's JSON (REST responses and webhook payloads) into the gates' facts, once, at
the edge. Pure functions over plain `dict`s; unknown or missing fields get safe defaults
instead of exceptions, because real payloads vary (see DESIGN.md §8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.core.gates.checkrun import ExistingCheckRun
from bot.core.gates.ci import CheckRun, CommitStatus
from bot.core.gates.policy import Review
from bot.core.gates.security import Alert


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as GitHub writes it (``2026-11-02T14:00:00Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(body: object, key: str) -> Sequence[Any]:
    """A list response, or the list under `key` of an envelope response."""
    if isinstance(body, list):
        return body
    found = _obj(body).get(key)
    return found if isinstance(found, list) else []


def check_run_from_api(obj: Mapping[str, Any]) -> CheckRun:
    return CheckRun(
        name=str(obj.get("name", "")),
        status=str(obj.get("status") or "queued"),
        conclusion=obj.get("conclusion") if isinstance(obj.get("conclusion"), str) else None,
        url=str(obj.get("html_url") or obj.get("details_url") or ""),
        started_at=parse_time(obj.get("started_at")),
        id=int(obj.get("id") or 0),
    )


def check_runs_from_api(body: object) -> tuple[CheckRun, ...]:
    """GET /repos/{o}/{r}/commits/{ref}/check-runs (``{"check_runs": [...]}``) or a list."""
    return tuple(check_run_from_api(_obj(o)) for o in _items(body, "check_runs"))


def commit_status_from_api(obj: Mapping[str, Any]) -> CommitStatus:
    return CommitStatus(
        context=str(obj.get("context") or "default"),
        state=str(obj.get("state") or "pending"),
        url=str(obj.get("target_url") or ""),
        description=str(obj.get("description") or ""),
        updated_at=parse_time(obj.get("updated_at") or obj.get("created_at")),
    )


def commit_statuses_from_api(body: object) -> tuple[CommitStatus, ...]:
    """GET .../commits/{ref}/status (``{"statuses": [...]}``) or .../statuses (a list)."""
    return tuple(commit_status_from_api(_obj(o)) for o in _items(body, "statuses"))


def alert_from_api(obj: Mapping[str, Any]) -> Alert:
    """A code-scanning alert (REST list item or webhook `alert`)."""
    rule = _obj(obj.get("rule"))
    instance = _obj(obj.get("most_recent_instance"))
    location = _obj(instance.get("location"))
    start = location.get("start_line")
    end = location.get("end_line")
    message = _obj(instance.get("message")).get("text") or rule.get("description") or ""
    return Alert(
        rule_id=str(rule.get("id") or rule.get("name") or ""),
        message=str(message),
        severity=rule.get("severity") if isinstance(rule.get("severity"), str) else None,
        security_severity=(
            rule.get("security_severity_level")
            if isinstance(rule.get("security_severity_level"), str)
            else None
        ),
        path=str(location.get("path") or ""),
        start_line=start if isinstance(start, int) else 0,
        end_line=end if isinstance(end, int) else 0,
        number=int(obj.get("number") or 0),
        url=str(obj.get("html_url") or ""),
        tool=str(_obj(obj.get("tool")).get("name") or ""),
    )


def open_alerts_from_api(body: object) -> tuple[Alert, ...]:
    """GET .../code-scanning/alerts?state=open&ref=...; closed ones are dropped anyway."""
    return tuple(
        alert_from_api(_obj(o))
        for o in _items(body, "alerts")
        if _obj(o).get("state", "open") == "open"
    )


def code_scanning_unavailable(status: int, message: str = "") -> str | None:
    """Why code scanning has nothing to say (403/404), in words; None for other statuses."""
    if status == 404:
        detail = message or "no analysis found"
        return f"code scanning has no analysis for this branch (GitHub answered 404: {detail})"
    if status == 403:
        detail = message or "code scanning is not enabled"
        return f"code scanning is not available (GitHub answered 403: {detail})"
    return None


def review_from_api(obj: Mapping[str, Any]) -> Review | None:
    """A pull-request review; None for a pending review (not submitted, no time)."""
    submitted = parse_time(obj.get("submitted_at"))
    user = _obj(obj.get("user")).get("login")
    if submitted is None or not isinstance(user, str):
        return None
    return Review(
        user=user,
        state=str(obj.get("state") or "").upper(),
        submitted_at=submitted,
        commit_id=str(obj.get("commit_id") or ""),
    )


def reviews_from_api(body: object) -> tuple[Review, ...]:
    reviews = (review_from_api(_obj(o)) for o in _items(body, "reviews"))
    return tuple(r for r in reviews if r is not None)


def existing_check_run_from_api(obj: Mapping[str, Any]) -> ExistingCheckRun:
    output = _obj(obj.get("output"))
    conclusion = obj.get("conclusion")
    return ExistingCheckRun(
        id=int(obj.get("id") or 0),
        name=str(obj.get("name") or ""),
        head_sha=str(obj.get("head_sha") or ""),
        status=str(obj.get("status") or ""),
        conclusion=conclusion if isinstance(conclusion, str) else None,
        title=str(output.get("title") or ""),
        summary=str(output.get("summary") or ""),
        annotations_count=int(output.get("annotations_count") or 0),
        external_id=str(obj.get("external_id") or ""),
    )
