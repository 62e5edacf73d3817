"""The `security` gate: open code-scanning alerts at or above a severity fail the train.

Two sources: code-scanning alerts on the release branch (GitHub API) or a SARIF 2.1.0 file
in the repository. Alerts that carry a security severity (low … critical) are compared with
`min_security_severity`; the others compare their rule severity (note … error) with
`min_severity`. Each failing alert becomes an annotation at its file and line. When the
source is unavailable (code scanning not enabled, no analysis, no SARIF file) the gate says
so as `neutral` or `failure` — never success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.gates.base import (
    Annotation,
    Conclusion,
    GateResult,
    choice,
    config_error,
    link,
    markdown_table,
    settings_keys,
)

NAME = "security"
SEVERITIES = ("none", "note", "warning", "error")
SECURITY_SEVERITIES = ("low", "medium", "high", "critical")
_SARIF_LEVEL = {"none": "none", "note": "note", "warning": "warning", "error": "error"}


@dataclass(frozen=True)
class Alert:
    """One open code-scanning alert (or SARIF result), parsed at the edge."""

    rule_id: str
    message: str
    severity: str | None = None  # rule.severity: none | note | warning | error
    security_severity: str | None = None  # low | medium | high | critical
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    number: int = 0
    url: str = ""
    tool: str = ""


@dataclass(frozen=True)
class SecurityFacts:
    """What the adapter found. `unavailable` explains why there is nothing to judge."""

    alerts: tuple[Alert, ...] = ()
    sarif_text: str | None = None  # the SARIF file's text, when the source is "sarif"
    sarif_path: str = ""
    unavailable: str | None = None  # e.g. "code scanning is not enabled (403)"
    ref: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    source: str = "code_scanning"  # code_scanning | sarif
    sarif_path: str = ""
    min_severity: str = "error"
    min_security_severity: str = "high"
    when_unavailable: str = "neutral"  # neutral | failure


def settings_from_config(mapping: Mapping[str, object]) -> SecuritySettings:
    keys = ("source", "sarif_path", "min_severity", "min_security_severity", "when_unavailable")
    settings_keys(mapping, keys, NAME)
    base = SecuritySettings()
    source = choice(mapping.get("source", base.source), ("code_scanning", "sarif"), "source")
    sarif_path = mapping.get("sarif_path", base.sarif_path)
    if not isinstance(sarif_path, str) or (source == "sarif" and not sarif_path):
        raise config_error("gates.security.sarif_path: a path is required when source is sarif")
    return SecuritySettings(
        source=source,
        sarif_path=sarif_path,
        min_severity=choice(
            mapping.get("min_severity", base.min_severity), SEVERITIES[1:], "min_severity"
        ),
        min_security_severity=choice(
            mapping.get("min_security_severity", base.min_security_severity),
            SECURITY_SEVERITIES,
            "min_security_severity",
        ),
        when_unavailable=choice(
            mapping.get("when_unavailable", base.when_unavailable),
            ("neutral", "failure"),
            "when_unavailable",
        ),
    )


def is_blocking(alert: Alert, settings: SecuritySettings) -> bool:
    """Whether an alert is at or above the configured threshold for its kind."""
    if alert.security_severity in SECURITY_SEVERITIES:
        rank = SECURITY_SEVERITIES.index(alert.security_severity)
        return rank >= SECURITY_SEVERITIES.index(settings.min_security_severity)
    severity = alert.severity if alert.severity in SEVERITIES else "warning"
    return SEVERITIES.index(severity) >= SEVERITIES.index(settings.min_severity)


def security_level(score: object) -> str | None:
    """GitHub's mapping of a CVSS-like `security-severity` score to a level."""
    try:
        value = float(str(score))
    except ValueError:
        return None
    if value >= 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    return "low" if value > 0 else None


class SarifError(ValueError):
    """The SARIF text is not a SARIF 2.1.0 log we can read."""


def parse_sarif(text: str) -> tuple[Alert, ...]:
    """The unsuppressed results of a SARIF 2.1.0 log, as alerts."""
    try:
        log = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SarifError(f"not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(log, dict) or log.get("version") != "2.1.0":
        raise SarifError('not a SARIF 2.1.0 log (`version` must be "2.1.0")')
    runs = log.get("runs")
    if not isinstance(runs, list):
        raise SarifError("`runs` must be a list")
    alerts: list[Alert] = []
    for run in runs:
        if not isinstance(run, dict):
            raise SarifError("each entry of `runs` must be an object")
        alerts += _sarif_run(run)
    return tuple(alerts)


def _sarif_run(run: dict[str, Any]) -> list[Alert]:
    driver = _obj(_obj(run.get("tool")).get("driver"))
    tool = str(driver.get("name", ""))
    rules = {str(r.get("id")): r for r in _list(driver.get("rules")) if isinstance(r, dict)}
    alerts = []
    for result in _list(run.get("results")):
        if not isinstance(result, dict) or result.get("suppressions"):
            continue
        if result.get("baselineState") == "absent":
            continue
        rule_id = str(result.get("ruleId") or _obj(result.get("rule")).get("id") or "")
        rule = _obj(rules.get(rule_id))
        default_level = _obj(rule.get("defaultConfiguration")).get("level", "warning")
        level = _SARIF_LEVEL.get(str(result.get("level", default_level)), "warning")
        props = _obj(rule.get("properties"))
        path, start, end = _sarif_location(result)
        alerts.append(
            Alert(
                rule_id=rule_id,
                message=str(_obj(result.get("message")).get("text", "")) or rule_id,
                severity=level,
                security_severity=security_level(props.get("security-severity", "")),
                path=path,
                start_line=start,
                end_line=end,
                tool=tool,
            )
        )
    return alerts


def _sarif_location(result: dict[str, Any]) -> tuple[str, int, int]:
    locations = _list(result.get("locations")) or [{}]
    physical = _obj(_obj(locations[0]).get("physicalLocation"))
    uri = str(_obj(physical.get("artifactLocation")).get("uri", ""))
    region = _obj(physical.get("region"))
    start = region.get("startLine", 0)
    start = start if isinstance(start, int) and start > 0 else 0
    end = region.get("endLine", start)
    end = end if isinstance(end, int) and end >= start else start
    return uri.removeprefix("file://").removeprefix("./"), start, end


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


class SecurityGate:
    name = NAME

    def evaluate(
        self, facts: SecurityFacts, settings: SecuritySettings, now: datetime
    ) -> GateResult:
        if facts.unavailable is not None:
            return _unavailable(facts.unavailable, settings)
        alerts = facts.alerts
        if settings.source == "sarif":
            if facts.sarif_text is None:
                where = facts.sarif_path or settings.sarif_path
                return _unavailable(f"the SARIF file `{where}` does not exist", settings)
            try:
                alerts = parse_sarif(facts.sarif_text)
            except SarifError as exc:
                return GateResult(
                    NAME, "failure", "SARIF file unreadable",
                    f"`{facts.sarif_path or settings.sarif_path}` could not be read: {exc}.",
                    details={"error": str(exc)},
                )  # fmt: skip
        if settings.source == "sarif":
            source = f"SARIF `{facts.sarif_path or settings.sarif_path}`"
        else:
            source = f"code scanning on `{facts.ref}`" if facts.ref else "code scanning"
        return _judge(alerts, settings, source)


def _unavailable(reason: str, settings: SecuritySettings) -> GateResult:
    conclusion: Conclusion = "failure" if settings.when_unavailable == "failure" else "neutral"
    return GateResult(
        NAME,
        conclusion,
        "Security scan results unavailable",
        f"No security results could be read: {reason}. This gate did not check anything, "
        f"so it reports `{conclusion}` (setting `when_unavailable`).",
        details={"unavailable": reason},
    )


def _judge(alerts: tuple[Alert, ...], settings: SecuritySettings, source: str) -> GateResult:
    blocking = [a for a in alerts if is_blocking(a, settings)]
    checked = markdown_table(
        ["source", "open alerts", "blocking", "min severity", "min security severity"],
        [[source, len(alerts), len(blocking), settings.min_severity,
          settings.min_security_severity]],
    )  # fmt: skip
    rows = [
        [link(a.rule_id or "?", a.url), a.security_severity or a.severity or "?",
         f"{a.path}:{a.start_line}" if a.path else "—", a.message,
         "**yes**" if a in blocking else "no"]
        for a in sorted(alerts, key=lambda a: a not in blocking)
    ]  # fmt: skip
    table = markdown_table(["rule", "severity", "where", "message", "blocks"], rows)
    annotations = tuple(
        Annotation(
            path=a.path, start_line=a.start_line or 1, end_line=a.end_line or a.start_line or 1,
            annotation_level="failure", title=f"{a.tool or 'code scanning'}: {a.rule_id}",
            message=f"{a.message} (severity {a.security_severity or a.severity})",
        )
        for a in blocking if a.path
    )  # fmt: skip
    details = {"source": source, "open": len(alerts), "blocking": [a.rule_id for a in blocking]}
    if blocking:
        return GateResult(
            NAME, "failure", f"{len(blocking)} alert(s) at or above the threshold",
            f"{checked}\n\n{table}", annotations=annotations, details=details,
        )  # fmt: skip
    return GateResult(
        NAME, "success", "No alerts at or above the threshold",
        f"{checked}\n\n{table}".rstrip(), details=details,
    )  # fmt: skip


GATE = SecurityGate()
