"""The dashboard page as HTML (pure): calendar, trains in flight, held services, history,
metrics + charts.

Rendered through Jinja2 templates (``templates/``, autoescaped: `bot.insights.html`); this
module turns the history into plain rows. Works without JavaScript; landmarks, headings,
table captions and header cells, labelled SVG charts, AA contrast, a skip link and visible
keyboard focus. Links point at the repository's own web address (`History.repo_url`, from
the GitHub the source reads), only when it is an http(s) URL.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.core import holds as held
from bot.core.train import TERMINAL
from bot.insights.charts import bar_chart, progress
from bot.insights.facts import TrainFacts, train_facts
from bot.insights.html import render
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


@dataclass(frozen=True)
class Link:
    text: str
    href: str = ""  # empty: plain text


@dataclass(frozen=True)
class Cell:
    """Text shown with a CSS class (an `anchor` id), or SVG a chart template rendered."""

    text: str = ""
    css: str = ""
    anchor: str = ""
    svg: Markup | None = None


Value = str | Link | Cell | list[Link]


@dataclass(frozen=True)
class Table:
    caption: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Value]]


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    tables: Sequence[Table] = ()
    charts: Sequence[Chart] = ()
    text: str = ""


@dataclass(frozen=True)
class Links:
    """Links into the repository's web pages (nothing when its address is not http(s))."""

    base: str = ""

    @classmethod
    def of(cls, repo_url: str) -> Links:
        url = repo_url.strip().rstrip("/")
        return cls(url if url.startswith(("https://", "http://")) else "")

    def to(self, path: str, text: str) -> Link:
        return Link(text, self.base + path if self.base else "")

    def pr(self, number: int) -> Link | str:
        return self.to(f"/pull/{number}", f"#{number}") if number else ""

    def commit(self, sha: str) -> Link | str:
        return self.to(f"/commit/{sha}", sha[:12]) if sha else ""


def message_page(title: str, text: str, link: tuple[str, str] | None = None) -> str:
    """A small page in the dashboard's style: a heading, a paragraph, maybe a link."""
    return str(render("message.html", css=Markup(CSS), title=title, text=text, link=link))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _calendar(view: DashboardInput) -> Section:
    config = view.config
    if config is None:
        return Section(
            "calendar", "Calendar", text="No configuration loaded: calendar unavailable."
        )
    from bot.core import calendar as cal

    tz = config.cutover.timezone
    rows: list[list[Value]] = []
    for train in config.trains:
        for slot in cal.departures(train, config.freezes, view.now, 3, tz):
            note = f"cancelled by freeze {slot.freeze.name}" if slot.freeze else "departs"
            rows.append([train.name, _when(slot.start), note])
    windows: list[list[Value]] = [
        [_when(w.start), _when(w.end), f"freeze {w.freeze.name}" if w.freeze else "open"]
        for w in cal.cutover_windows(config.cutover, config.freezes, view.now, 3)
    ]
    tables = [
        Table("Next departures", ["Train", "At", "Status"], rows),
        Table("Cutover windows", ["From", "To", "Status"], windows),
        Table("Freezes", ["Name", "From", "To", "Repeats", "Reason"], _freezes(view)),
    ]
    return Section("calendar", "Calendar", (*tables, *_migration_windows(view)))


def _migration_windows(view: DashboardInput) -> list[Table]:
    """The next migration windows (`gates.migrations.windows`), when there are any."""
    from itertools import islice

    from bot.core import calendar as cal
    from bot.core.gates.migrations import settings_from_config
    from bot.errors import ConfigError

    if not view.config.gates.migrations:
        return []
    try:
        windows = settings_from_config(view.config.gates.migrations).windows
    except ConfigError:
        return []  # the migrations gate's check run says what is wrong
    if not windows:
        return []
    found = islice(cal.window_openings(windows, view.now, view.now + cal.HORIZON), 3)
    rows: list[list[Value]] = [[_when(start), _when(end)] for start, end in found]
    return [Table("Migration windows (trains carrying migrations merge inside one)",
                  ["From", "To"], rows)]  # fmt: skip


def _freezes(view: DashboardInput) -> list[list[Value]]:
    """Each freeze with its real dates: a yearly one's occurrence in force or next."""
    from bot.core.calendar import freeze_dates

    today = view.now.astimezone(ZoneInfo(view.config.cutover.timezone or "UTC")).date()
    rows: list[list[Value]] = []
    for freeze in view.config.freezes:
        start, end = freeze_dates(freeze, today)
        repeats = "every year" if freeze.yearly else "once"
        rows.append([freeze.name, start.isoformat(), end.isoformat(), repeats, freeze.reason])
    return rows


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


def _in_flight(view: DashboardInput, trains: Sequence[TimelineAndFacts]) -> Section:
    links = Links.of(view.history.repo_url)
    names = _stage_names(view, [f for _, f in trains])
    rows: list[list[Value]] = []
    for timeline, facts in trains:
        if timeline.state in TERMINAL:
            continue
        stages = [(n, _stage_status(facts, n)) for n in names]
        verdicts = "; ".join(
            f"{s.stage}: {', '.join(s.verdicts)}" for s in facts.stages if s.verdicts
        )
        last = timeline.events[-1] if timeline.events else None
        tid = timeline.train_id
        rows.append(
            [
                Cell(tid, css="train", anchor=f"train-{tid}"),
                Cell(timeline.state, css="state"),
                Cell(svg=progress(stages, f"p-{tid}"), css="svg"),
                verdicts or Cell("none yet", css="muted"),
                links.pr(facts.train_pr),
                last.summary if last else "",
            ]
        )
    headers = ["Train", "State", "Stages", "SLO verdicts", "Train PR", "Latest"]
    return Section("in-flight", "Trains in flight", (Table("Trains in flight", headers, rows),))


def _held(view: DashboardInput) -> Section:
    """Services held after a revert (or by hand): no train bumps them until released."""
    holds = held.decode(view.history.tip_files.get(held.HOLDS_PATH))
    rows: list[list[Value]] = [
        [h.service, h.train, _when(h.since), h.reason or "no reason recorded"] for h in holds.held
    ]
    headers = ["Service", "Held by train", "Since", "Reason"]
    table = Table("Held services (no train bumps them until released)", headers, rows)
    return Section("held", "Held services", (table,))


def _history(view: DashboardInput, trains: Sequence[TimelineAndFacts]) -> Section:
    links = Links.of(view.history.repo_url)
    rows: list[list[Value]] = []
    for timeline, facts in reversed(trains):
        if timeline.state not in TERMINAL:
            continue
        record = timeline.record
        prs = (
            [links.to(f"/pull/{b.number}", f"#{b.number}") for b in record.boarded]
            if record
            else []
        )
        why = record.end_reason if record else ""
        evidence = "; ".join(f"{e.slo} {e.value:g} > {e.threshold:g}" for e in facts.evidence)
        rows.append(
            [
                timeline.train_id,
                Cell(timeline.state, css="state"),
                _when(facts.merged),
                prs,
                links.pr(facts.train_pr),
                links.commit(facts.merge_sha),
                why or evidence,
            ]
        )
    headers = ["Train", "Outcome", "Merged", "PRs", "Train PR", "Merge commit", "Why"]
    return Section("history", "History", (Table("History", headers, rows),))


TimelineAndFacts = tuple[TrainTimeline, TrainFacts]


def _metrics(metrics: Metrics, trains: Sequence[TimelineAndFacts]) -> Section:
    rows: list[list[Value]] = []
    for m in metrics.items:
        if m.name == "trains_by_state":
            continue
        label = m.name + ("".join(f" [{k}={v}]" for k, v in m.labels))
        value = "—" if m.value is None else f"{m.value:.4g} {m.unit}"
        rows.append([label, value, m.note or m.help])
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
    specs = [
        ("chart-states", "Trains by state", states, ""),
        ("chart-prs", "PRs per train (latest departed trains)", recent, "PRs"),
        ("chart-stages", "Mean stage duration", durations, "min"),
    ]
    charts = [
        Chart(title, bar_chart(cid, title, bars, unit=unit)) for cid, title, bars, unit in specs
    ]
    table = Table("Release metrics", ["Metric", "Value", "Meaning or why empty"], rows)
    return Section("metrics", "Metrics", (table,), charts)


def render_page(view: DashboardInput) -> str:
    timelines = build_timelines(view.history)
    trains = [(t, train_facts(t)) for t in timelines]
    metrics = compute(timelines)
    sections = [
        _calendar(view),
        _in_flight(view, trains),
        _held(view),
        _history(view, trains),
        _metrics(metrics, trains),
    ]
    return str(
        render(
            "dashboard.html",
            css=Markup(CSS),
            viewer=view.viewer,
            as_of=_when(view.now),
            ledger_ref=view.history.ledger_ref,
            base_ref=view.history.base_ref,
            note=view.note,
            sections=sections,
        )
    )
