"""The dashboard page as HTML (pure): calendar, trains in flight, history, metrics + charts.

Works without JavaScript; landmarks, headings, table captions and header cells, labelled SVG
charts, AA contrast, a skip link and visible keyboard focus.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from html import escape
from typing import Any

from bot.core.train import TERMINAL
from bot.insights.charts import bar_chart, progress
from bot.insights.facts import TrainFacts, train_facts
from bot.insights.metrics import Metrics, compute
from bot.insights.model import History
from bot.insights.timeline import TrainTimeline, build_timelines


@dataclass(frozen=True)
class DashboardInput:
    history: History
    now: datetime
    config: Any = None  # bot.config.model.Config, for the calendar and stage names
    note: str = ""  # shown at the top, e.g. why there is no data
    viewer: str = ""  # the signed-in GitHub login (a sign-out button is shown), if any


CSS = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;
color:#111827;background:#fff}
body{margin:0 auto;max-width:72rem;padding:0 1rem 3rem;line-height:1.45}
a{color:#1d4ed8}a:focus-visible,summary:focus-visible{outline:3px solid #b45309;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
caption{text-align:left;font-weight:600}
th,td{border-bottom:1px solid #d1d5db;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}.state{font-weight:600}.muted{color:#4b5563}
.chart text,.progress text{font-size:12px;fill:#111827}.progress text{fill:inherit}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}figcaption{font-weight:600}
.signout{display:inline}.signout button{font:inherit}
"""

# The only inline thing the page has is its <style>: allowed by hash, no script at all.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{b64encode(sha256(CSS.encode()).digest()).decode()}'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def message_page(title: str, text: str, link: tuple[str, str] | None = None) -> str:
    """A small page in the dashboard's style: a heading, a paragraph, maybe a link."""
    more = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · Release Train</title><style>{CSS}</style></head><body>"
        f'<main id="main"><h1>{escape(title)}</h1><p>{escape(text)}</p>{more}</main>'
        "</body></html>"
    )


def _viewer(view: DashboardInput) -> str:
    if not view.viewer:
        return ""
    return (
        f'<div>Signed in as <strong>{escape(view.viewer)}</strong> · <form class="signout" '
        'method="post" action="/logout"><button type="submit">Sign out</button></form></div>'
    )


def _link(base: str, path: str, text: str) -> str:
    if not base:
        return escape(text)
    return f'<a href="{escape(base + path)}">{escape(text)}</a>'


def _pr(base: str, number: int) -> str:
    return _link(base, f"/pull/{number}", f"#{number}") if number else ""


def _commit(base: str, sha: str) -> str:
    return _link(base, f"/commit/{sha}", sha[:12]) if sha else ""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>'
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _calendar(view: DashboardInput) -> str:
    config = view.config
    if config is None:
        return '<p class="muted">No configuration loaded: calendar unavailable.</p>'
    from bot.core import calendar as cal

    rows = []
    for train in config.trains:
        for slot in cal.departures(train, config.freezes, view.now, 3, config.cutover.timezone):
            note = f"cancelled by freeze {slot.freeze.name}" if slot.freeze else "departs"
            rows.append([escape(train.name), _when(slot.start), escape(note)])
    windows = [
        [_when(w.start), _when(w.end), escape(f"freeze {w.freeze.name}" if w.freeze else "open")]
        for w in cal.cutover_windows(config.cutover, config.freezes, view.now, 3)
    ]
    freezes = [
        [escape(f.name), f.start.isoformat(), f.end.isoformat(), escape(f.reason)]
        for f in config.freezes
    ]
    return (
        _table("Next departures", ["Train", "At", "Status"], rows)
        + _table("Cutover windows", ["From", "To", "Status"], windows)
        + _table("Freezes", ["Name", "From", "To", "Reason"], freezes)
    )


def _stage_status(facts: TrainFacts, stage: str) -> str:
    run = next((s for s in facts.stages if s.stage == stage), None)
    if run is None:
        return "pending"
    if "fail" in run.verdicts:
        return "failed"
    return "done" if run.completed else "running"


def _stage_names(view: DashboardInput, facts: Sequence[TrainFacts]) -> list[str]:
    if view.config is not None and view.config.stages:
        return [s.name for s in view.config.stages]
    return list(dict.fromkeys(s.stage for f in facts for s in f.stages))


def _in_flight(view: DashboardInput, trains: Sequence[TimelineAndFacts]) -> str:
    base = view.history.repo_url
    names = _stage_names(view, [f for _, f in trains])
    rows = []
    for timeline, facts in trains:
        if timeline.state in TERMINAL:
            continue
        stages = [(n, _stage_status(facts, n)) for n in names]
        verdicts = "; ".join(
            f"{s.stage}: {', '.join(s.verdicts)}" for s in facts.stages if s.verdicts
        )
        last = timeline.events[-1] if timeline.events else None
        rows.append(
            [
                f'<span id="train-{escape(timeline.train_id)}">{escape(timeline.train_id)}</span>',
                f'<span class="state">{escape(timeline.state)}</span>',
                progress(stages, f"p-{escape(timeline.train_id)}"),
                escape(verdicts) or '<span class="muted">none yet</span>',
                _pr(base, facts.train_pr),
                escape(last.summary) if last else "",
            ]
        )
    return _table(
        "Trains in flight", ["Train", "State", "Stages", "SLO verdicts", "Train PR", "Latest"], rows
    )


def _history(view: DashboardInput, trains: Sequence[TimelineAndFacts]) -> str:
    base = view.history.repo_url
    rows = []
    for timeline, facts in reversed(trains):
        if timeline.state not in TERMINAL:
            continue
        record = timeline.record
        prs = " ".join(_pr(base, b.number) for b in record.boarded) if record else ""
        why = record.end_reason if record else ""
        evidence = "; ".join(f"{e.slo} {e.value:g} > {e.threshold:g}" for e in facts.evidence)
        rows.append(
            [
                escape(timeline.train_id),
                f'<span class="state">{escape(timeline.state)}</span>',
                _when(facts.merged),
                prs,
                _pr(base, facts.train_pr),
                _commit(base, facts.merge_sha),
                escape(why or evidence),
            ]
        )
    return _table(
        "History", ["Train", "Outcome", "Merged", "PRs", "Train PR", "Merge commit", "Why"], rows
    )


TimelineAndFacts = tuple[TrainTimeline, TrainFacts]


def _metrics(metrics: Metrics, trains: Sequence[TimelineAndFacts]) -> str:
    rows = []
    for m in metrics.items:
        if m.name == "trains_by_state":
            continue
        label = m.name + ("".join(f" [{k}={v}]" for k, v in m.labels))
        value = "—" if m.value is None else f"{m.value:.4g} {m.unit}"
        rows.append([escape(label), escape(value), escape(m.note or m.help)])
    states = [
        (dict(m.labels)["state"], m.value or 0.0)
        for m in metrics.items
        if m.name == "trains_by_state"
    ]
    recent = [(t.train_id, float(f.boarded)) for t, f in trains if f.reached_departure][-10:]
    durations = [
        (dict(m.labels).get("stage", "?"), round((m.value or 0) / 60, 1))
        for m in metrics.items
        if m.name == "deployment_duration_seconds" and m.labels
    ]
    charts = [
        ("chart-states", "Trains by state", states, ""),
        ("chart-prs", "PRs per train (latest departed trains)", recent, "PRs"),
        ("chart-stages", "Mean stage duration", durations, "min"),
    ]
    figures = "".join(
        f"<figure><figcaption>{escape(title)}</figcaption>{bar_chart(cid, title, bars, unit=unit)}"
        "</figure>"
        for cid, title, bars, unit in charts
    )
    return f'<div class="charts">{figures}</div>' + _table(
        "Release metrics", ["Metric", "Value", "Meaning or why empty"], rows
    )


def render_page(view: DashboardInput) -> str:
    timelines = build_timelines(view.history)
    trains = [(t, train_facts(t)) for t in timelines]
    metrics = compute(timelines)
    sections = [
        ("calendar", "Calendar", _calendar(view)),
        ("in-flight", "Trains in flight", _in_flight(view, trains)),
        ("history", "History", _history(view, trains)),
        ("metrics", "Metrics", _metrics(metrics, trains)),
    ]
    nav = "".join(f'<li><a href="#{sid}">{escape(title)}</a></li>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{escape(title)}</h2>'
        f"{html}</section>"
        for sid, title, html in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Release Train</title><style>{CSS}</style></head><body>"
        '<a class="skip" href="#main">Skip to content</a>'
        "<header><h1>Release Train</h1>"
        + _viewer(view)
        + f'<p class="muted">As of {_when(view.now)} · ledger '
        f"{escape(view.history.ledger_ref)} · base {escape(view.history.base_ref)}</p>"
        f'<nav aria-label="Sections"><ul>{nav}</ul></nav>'
        + (f'<p role="status"><strong>{escape(view.note)}</strong></p>' if view.note else "")
        + "</header>"
        f'<main id="main">{body}</main></body></html>'
    )
