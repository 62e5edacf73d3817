"""Per-train facts gathered from a timeline (pure): the numbers metrics and the dashboard use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.gates.verdict import parse_trailer
from bot.core.train import ABORTED, COMPLETED, DEPARTED, MERGED, ROLLED_BACK
from bot.insights.timeline import BASE, TimelineEvent, TrainTimeline

_EVIDENCE = re.compile(
    r"^(?P<slo>\S+)\s+(?P<value>[-+0-9.eE]+)\s*(?P<op>[<>]=?)\s*(?P<threshold>[-+0-9.eE]+)"
    r"(?:\s*\((?P<window>[^)]*)\))?"
)
_BUMP = re.compile(r"^(?P<service>\S+)\s+(?P<old>\S+)\s*->\s*(?P<new>\S+)$")


@dataclass(frozen=True)
class Evidence:
    slo: str
    value: float
    threshold: float
    window: str = ""


def parse_evidence(text: str) -> Evidence | None:
    """``<slo> <value> > <threshold> (<window>)`` -> Evidence (None when it is not that)."""
    match = _EVIDENCE.match(text.strip())
    if not match:
        return None
    try:
        value, threshold = float(match["value"]), float(match["threshold"])
    except ValueError:
        return None
    return Evidence(match["slo"], value, threshold, match["window"] or "")


@dataclass(frozen=True)
class StageRun:
    stage: str
    started: datetime | None = None
    completed: datetime | None = None
    verdicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainFacts:
    train_id: str
    state: str
    created: datetime | None = None
    departed: datetime | None = None
    merged: datetime | None = None
    completed: datetime | None = None
    rolled_back: datetime | None = None
    breach: datetime | None = None
    boarded: int = 0
    services: int = 0
    first_labeled: datetime | None = None
    stages: tuple[StageRun, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    incidents: tuple[tuple[str, datetime], ...] = ()
    gates: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str, str], ...] = ()  # (service, stage, new tag)
    train_pr: int = 0
    merge_sha: str = ""

    @property
    def reached_departure(self) -> bool:
        return self.departed is not None or self.state in (MERGED, COMPLETED, ROLLED_BACK)

    @property
    def ended(self) -> bool:
        return self.state in (COMPLETED, ROLLED_BACK, ABORTED)


def _first(times: list[datetime]) -> datetime | None:
    return min(times) if times else None


def _state_time(timeline: TrainTimeline, *names: str) -> datetime | None:
    record = timeline.record
    times = [e.at for e in record.history if e.event in names] if record else []
    return _first(times)


def kinds(event: TimelineEvent) -> tuple[str, ...]:
    """Every event a timeline entry records: a ledger commit's `Event` trailers (one commit
    may record several, e.g. a stage's verdict and its completion), else its kind."""
    named = event.details_of("Event") if event.branch != BASE else ()
    return named or (event.kind,)


def _stages(timeline: TrainTimeline) -> tuple[StageRun, ...]:
    runs: dict[str, dict[str, object]] = {}
    for event in timeline.events:
        stage = event.detail("Stage")
        if not stage or event.branch == BASE:
            continue
        run = runs.setdefault(stage, {"verdicts": []})
        names = kinds(event)
        if "stage-started" in names:
            run.setdefault("started", event.at)
        if "stage-completed" in names:
            run["completed"] = event.at
        if "stage-verdict" in names:
            run["verdicts"].append(event.detail("Verdict"))  # type: ignore[attr-defined]
    return tuple(
        StageRun(name, r.get("started"), r.get("completed"), tuple(r["verdicts"]))  # type: ignore[arg-type]
        for name, r in runs.items()
    )


def _tags(timeline: TrainTimeline) -> tuple[tuple[str, str, str], ...]:
    out = []
    for event in timeline.events:
        if event.kind != "promote":
            continue
        for bump in event.details_of("Bump"):
            if match := _BUMP.match(bump.strip()):
                out.append((match["service"], event.detail("Stage"), match["new"]))
    return tuple(out)


def train_facts(timeline: TrainTimeline) -> TrainFacts:
    record = timeline.record
    events = timeline.events
    evidence = tuple(
        dict.fromkeys(
            ev for e in events for text in e.details_of("Evidence") if (ev := parse_evidence(text))
        )
    )
    fails = [e.at for e in events if "stage-verdict" in kinds(e) and e.detail("Verdict") == "fail"]
    rolled = [e.at for e in events if {"rolled-back", "revert"} & set(kinds(e))]
    incidents = tuple((e.detail("Incident"), e.at) for e in events if e.detail("Incident"))
    merge = next((e for e in events if e.kind == "train-merge"), None)
    services = {s for e in events for v in e.details_of("Services") for s in v.split()}
    services |= {t[0] for t in _tags(timeline)}
    return TrainFacts(
        train_id=timeline.train_id,
        state=timeline.state,
        created=record.created_at if record else None,
        departed=_state_time(timeline, DEPARTED),
        merged=_state_time(timeline, MERGED) or (merge.at if merge else None),
        completed=_state_time(timeline, COMPLETED),
        rolled_back=_state_time(timeline, ROLLED_BACK) or _first(rolled),
        breach=_first(fails),
        boarded=len(record.boarded) if record else 0,
        services=len(services),
        first_labeled=_first([b.labeled_at for b in record.boarded]) if record else None,
        stages=_stages(timeline),
        evidence=evidence,
        incidents=incidents,
        gates=tuple(parse_trailer(merge.detail("Gates")).items()) if merge else (),
        tags=_tags(timeline),
        train_pr=record.train_pr if record else 0,
        merge_sha=record.merge_sha if record else "",
    )
