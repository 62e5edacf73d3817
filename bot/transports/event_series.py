"""Deployment events as Prometheus series, and as a Markdown table for the Action's summary.

`release_train_promotion_event_timestamp_seconds{repository, train, stage, event}` is the
Unix time of the latest `event` of `train` at `stage` (`bot.core.deploy_events`), replaced
per repository after each of its reconciles. A Grafana annotation takes the value as the
event's time (`useValueForTime`, the value times 1000), so every scrape of an unchanged
event lands on the same instant: one marker per event, exactly when the ledger says.

Bounded: the 5 trains of a repository with the newest events (`RECENT_TRAINS`), at most
32 (stage, event) pairs each (`bot.core.deploy_events`): at most 160 series a repository;
repositories are the operator's installations.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from bot.core.deploy_events import RECENT_TRAINS, DeployEvent, keep_recent

NAME = "release_train_promotion_event_timestamp_seconds"
LABELS = ("repository", "train", "stage", "event")
HELP = (
    "Unix time of the latest deployment event (bump, complete, fail, merge, hold, resume, "
    "revert, abort, train_complete) of each recent train and stage, from the ledger."
)


class EventSeries:
    """A collector holding each repository's recent events (register it on a registry).

    A reconcile reads only the trains still running, so a train that ended keeps the events
    last seen until newer trains push it out of the `RECENT_TRAINS` kept per repository
    (after a restart, ended trains are no longer exported; Prometheus keeps what it
    scraped)."""

    def __init__(self, recent: int = RECENT_TRAINS) -> None:
        self._recent = recent
        self._by_repo: dict[str, dict[str, tuple[DeployEvent, ...]]] = {}
        self._lock = threading.Lock()

    def set(self, repository: str, events: Sequence[DeployEvent]) -> None:
        """Merge what a reconcile of `repository` saw: each train it saw is replaced."""
        seen: dict[str, list[DeployEvent]] = {}
        for event in events:
            seen.setdefault(event.train, []).append(event)
        with self._lock:
            merged = {**self._by_repo.get(repository, {}), **seen}
            self._by_repo[repository] = keep_recent(merged, self._recent)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(NAME, HELP, labels=list(LABELS))
        with self._lock:
            current = sorted(self._by_repo.items())
        for repository, trains in current:
            for e in (e for events in trains.values() for e in events):
                family.add_metric([repository, e.train, e.stage, e.event], e.timestamp)
        yield family

    def describe(self) -> list[Any]:
        return []


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def events_table(events: Sequence[DeployEvent]) -> list[str]:
    """The events as Markdown lines (a heading and a table), none when there are none."""
    if not events:
        return []
    lines = ["**Deployment events** (recent trains):", "", "| time (UTC) | train | stage | event |"]
    lines.append("|---|---|---|---|")
    for e in events:
        when = e.at.isoformat().replace("+00:00", "Z")
        stage = f"`{_cell(e.stage)}`" if e.stage else "–"
        lines.append(f"| {when} | `{_cell(e.train)}` | {stage} | {e.event} |")
    return [*lines, ""]
