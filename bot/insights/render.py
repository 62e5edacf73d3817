"""Output of audit, verify and metrics as table, JSON, CSV or Markdown (pure: values -> str)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from bot.insights.metrics import Metric, Metrics
from bot.insights.timeline import TimelineEvent, TrainTimeline
from bot.insights.verify import Finding

FORMATS = ("table", "json", "csv", "markdown")
_EVENT_COLS = ("train_id", "at", "branch", "kind", "actor", "summary", "commit")
_FINDING_COLS = ("kind", "branch", "commit", "train_id", "message")
_METRIC_COLS = ("name", "labels", "value", "unit", "sample", "note")


def _event_row(e: TimelineEvent) -> dict[str, str]:
    return {
        "train_id": e.train_id,
        "at": e.at.isoformat(),
        "branch": e.branch,
        "kind": e.kind,
        "actor": e.actor,
        "summary": e.summary,
        "commit": e.commit,
    }


def _csv(cols: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(cols), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown(cols: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_md_cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _table(cols: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    cells = [[str(r[c]) for c in cols] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(cols)]
    widths = [min(w, 100) for w in widths]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


def _tabular(fmt: str, cols: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    if fmt == "csv":
        return _csv(cols, rows)
    if fmt == "markdown":
        return _markdown(cols, rows)
    return _table(cols, rows)


def _record_json(t: TrainTimeline) -> dict[str, Any]:
    r = t.record
    if r is None:
        return {}
    return {
        "boarded": [{"number": b.number, "title": b.title, "author": b.author} for b in r.boarded],
        "missed": [{"number": m.number, "reason": m.reason, "detail": m.detail} for m in r.missed],
        "approved_by": list(r.approved_by),
        "train_pr": r.train_pr,
        "merge_sha": r.merge_sha,
        "end_reason": r.end_reason,
        "held": r.held,
    }


def render_audit(timelines: Sequence[TrainTimeline], fmt: str) -> str:
    if fmt == "json":
        trains = [
            {
                "train_id": t.train_id,
                "state": t.state,
                **_record_json(t),
                "events": [
                    {**_event_row(e), "details": [list(d) for d in e.details]} for e in t.events
                ],
            }
            for t in timelines
        ]
        return json.dumps({"trains": trains}, indent=2) + "\n"
    rows = [_event_row(e) for t in timelines for e in t.events]
    if fmt != "table":
        return _tabular(fmt, _EVENT_COLS, rows)
    parts = []
    for t in timelines:
        parts.append(f"== {t.train_id} ({t.state})")
        cols = ("at", "kind", "actor", "summary", "commit")
        parts.append(_table(cols, [{**_event_row(e), "commit": e.commit[:12]} for e in t.events]))
    return "\n".join(parts) if parts else "no trains in the ledger\n"


def _finding_row(f: Finding) -> dict[str, str]:
    return {
        "kind": f.kind,
        "branch": f.branch,
        "commit": f.commit,
        "train_id": f.train_id,
        "message": f.message,
    }


def render_findings(findings: Sequence[Finding], fmt: str) -> str:
    rows = [_finding_row(f) for f in findings]
    if fmt == "json":
        return json.dumps({"ok": not findings, "findings": rows}, indent=2) + "\n"
    if not findings and fmt == "table":
        return "ok: the ledger and the base branch agree\n"
    return _tabular(fmt, _FINDING_COLS, rows)


def _metric_row(m: Metric) -> dict[str, Any]:
    return {
        "name": m.name,
        "labels": ",".join(f"{k}={v}" for k, v in m.labels),
        "value": "null" if m.value is None else f"{m.value:.6g}",
        "unit": m.unit,
        "sample": m.sample,
        "note": m.note,
    }


def render_metrics(metrics: Metrics, fmt: str) -> str:
    if fmt == "json":
        items = [
            {
                "name": m.name,
                "labels": dict(m.labels),
                "value": m.value,
                "unit": m.unit,
                "sample": m.sample,
                "help": m.help,
                "note": m.note or None,
            }
            for m in metrics.items
        ]
        return json.dumps({"metrics": items, "trains": len(metrics.trains)}, indent=2) + "\n"
    return _tabular(fmt, _METRIC_COLS, [_metric_row(m) for m in metrics.items])
