"""Code-scanning alerts: list (``ref``, ``state``, ``severity``, ``tool_name``) and get.

A repository with no analysis answers 404 "no analysis found", as GitHub does. An analysis
exists once an alert was seeded (`Scenario.alert` or `seed_alerts`) or `mark_analyzed`
recorded a clean analysis for a ref.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import ApiError, RequestContext, Response, Router, invalid_field, paginate
from bot.sandbox.store import Store

STATES = ("open", "closed", "dismissed", "fixed")
SEVERITIES = ("critical", "high", "medium", "low", "warning", "note", "error")
_NO_ANALYSIS = "no analysis found"


def mark_analyzed(store: Store, repo: str, ref: str = "refs/heads/main") -> None:
    """Record that code scanning analysed `ref` (so an empty list is 200, not 404)."""
    with store.transaction() as data:
        refs = data["extra"].setdefault("code_scanning_analyses", {}).setdefault(repo, [])
        if ref not in refs:
            refs.append(ref)


def seed_alerts(scenario: Any, repo: str, alerts: list[dict[str, Any]]) -> list[int]:
    """Seed several alerts through `Scenario.alert` (each dict holds its keyword arguments:
    rule_id, severity, ref, security_severity, state, path, line, tool); their numbers."""
    numbers = [int(scenario.alert(repo, **spec)) for spec in alerts]
    for spec in alerts:
        mark_analyzed(scenario.store, repo, spec.get("ref", "refs/heads/main"))
    return numbers


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def _analysed(ctx: RequestContext, full: str, ref: str | None) -> bool:
    refs = set(ctx.store.data["extra"].get("code_scanning_analyses", {}).get(full, []))
    refs |= {a["ref"] for a in ctx.store.data["code_scanning_alerts"].values() if a["repo"] == full}
    return bool(refs) if ref is None else ref in refs


def alert_json(ctx: RequestContext, alert: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{alert['repo']}/code-scanning/alerts/{alert['number']}"
    rule = alert["rule"]
    instance = alert["most_recent_instance"]
    return {
        "number": alert["number"],
        "created_at": alert["created_at"],
        "updated_at": alert.get("updated_at"),
        "url": api,
        "html_url": f"{ctx.base_url}/{alert['repo']}/security/code-scanning/{alert['number']}",
        "instances_url": f"{api}/instances",
        "state": alert["state"],
        "fixed_at": alert.get("fixed_at"),
        "dismissed_by": None,
        "dismissed_at": alert.get("dismissed_at"),
        "dismissed_reason": None,
        "dismissed_comment": None,
        "rule": {
            "id": rule["id"],
            "name": rule.get("name", rule["id"]),
            "severity": rule.get("severity"),
            "security_severity_level": rule.get("security_severity_level"),
            "description": rule.get("description", rule["id"]),
            "tags": rule.get("tags", ["security"]),
        },
        "tool": {
            "name": alert["tool"]["name"],
            "guid": None,
            "version": alert["tool"].get("version"),
        },
        "most_recent_instance": {
            "ref": instance["ref"],
            "analysis_key": ".github/workflows/codeql.yml:analyze",
            "environment": "{}",
            "category": ".github/workflows/codeql.yml:analyze",
            "state": instance.get("state", alert["state"]),
            "commit_sha": instance.get("commit_sha"),
            "message": instance.get("message", {"text": rule["id"]}),
            "location": instance.get("location", {}),
            "classifications": [],
        },
    }


def _severity_of(alert: dict[str, Any]) -> set[str]:
    rule = alert["rule"]
    return {str(rule.get("security_severity_level")), str(rule.get("severity"))}


def _filters(ctx: RequestContext) -> tuple[str | None, str | None, str | None]:
    state, severity = ctx.arg("state"), ctx.arg("severity")
    if state is not None and state not in STATES:
        raise invalid_field("Query", "state")
    if severity is not None and severity not in SEVERITIES:
        raise invalid_field("Query", "severity")
    ref = ctx.arg("ref")
    return (_full_ref(ref) if ref else None), state, severity


def list_alerts(ctx: RequestContext) -> Response:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    repo = ctx.require(full, "read")
    ref, state, severity = _filters(ctx)
    wanted_ref = ref or f"refs/heads/{repo['default_branch']}"
    if not _analysed(ctx, full, wanted_ref if ref else None):
        raise ApiError(404, _NO_ANALYSIS)
    tool = ctx.arg("tool_name")
    rows = [
        a for a in ctx.store.data["code_scanning_alerts"].values()
        if a["repo"] == full and a["ref"] == wanted_ref
        and (state is None or a["state"] == state)
        and (severity is None or severity in _severity_of(a))
        and (tool is None or a["tool"]["name"] == tool)
    ]  # fmt: skip
    reverse = ctx.arg("direction", "desc") == "desc"
    rows.sort(key=lambda a: (a["created_at"], a["number"]), reverse=reverse)
    return paginate(ctx, [alert_json(ctx, a) for a in rows])


def get_alert(ctx: RequestContext) -> Response:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    ctx.require(full, "read")
    alert = ctx.store.get("code_scanning_alerts", f"{full}#{ctx.params['alert_number']}")
    if alert is None:
        raise ApiError(404, "No alert found for alert number " + ctx.params["alert_number"])
    return Response(200, alert_json(ctx, alert))


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/code-scanning/alerts"
    router.add("GET", base, list_alerts)
    router.add("GET", f"{base}/{{alert_number}}", get_alert)
