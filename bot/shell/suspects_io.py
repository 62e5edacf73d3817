"""The incident's suspects: each boarded PR's changed files read from GitHub, ranked by
`bot.core.suspects` (one `GET pulls/{n}/files` per PR, first pages only)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from bot.config.model import Config
from bot.core.ledger import TrainRecord
from bot.core.suspects import FileChange, rank, section
from bot.errors import ExternalError

MAX_FILES = 300  # per PR: enough to see which services it touches


def pull_files(client: Any, number: int) -> list[FileChange]:
    return [
        FileChange(str(f.get("filename", "")), int(f.get("changes") or 0))
        for f in islice(client.get_pages(f"/pulls/{number}/files", {}), MAX_FILES)
        if isinstance(f, dict)
    ]


def suspects_section(client: Any, config: Config, record: TrainRecord, rows: Any) -> str:
    """The "Suspects" section for the incident of `record` ("" when it has no PRs or the
    files cannot be read: the incident opens without it rather than not at all)."""
    riding = [
        (b.number, b.title, b.labels) for b in record.boarded if b.number not in _missed(record)
    ]
    try:
        files = {n: pull_files(client, n) for n, _t, _l in riding}
    except ExternalError:
        return ""
    breaching = {row.service for row in rows if getattr(row, "service", "")}
    return section(rank(riding, files, breaching, config.services))


def _missed(record: TrainRecord) -> set[int]:
    return {m.number for m in record.missed}
