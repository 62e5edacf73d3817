"""Plain values the insights work on: commits as read from either branch, and a history.

`gitlog` (local clone) and `github` (the REST API) both produce a `History`; everything else
in `bot.insights` is pure and takes one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from bot.core.ledger import TrainRecord, decode, parse_commit_message

NULL_BLOB = "0" * 40
DEFAULT_LEDGER = "release-train/ledger"


@dataclass(frozen=True)
class Change:
    """One path a commit changed (``git log --raw``): blob before and after (NULL_BLOB if none)."""

    path: str
    old_blob: str
    new_blob: str


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    at: datetime
    message: str
    changes: tuple[Change, ...] = ()
    email: str = ""  # the author's e-mail
    verified: bool | None = None  # GitHub's verification (None: the source cannot tell)

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()

    @cached_property
    def parsed(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """(event, train id, trailers) of the message, parsed once."""
        return parse_commit_message(self.message)

    def trailers(self) -> tuple[tuple[str, str], ...]:
        return self.parsed[2]

    def trailer(self, key: str) -> str:
        """The first value of trailer `key` ('' when absent)."""
        return next((v for k, v in self.trailers() if k == key), "")

    def trailer_values(self, key: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.trailers() if k == key)


@dataclass(frozen=True)
class History:
    """Both branches, oldest commit first, and the blob texts the source could read.

    `changes_known` is False when the source could not list each commit's changed files (the
    REST API's commit list does not carry them); then `tip_files` holds the ledger files at
    the tip and per-commit file checks are skipped.
    """

    ledger: tuple[Commit, ...] = ()
    base: tuple[Commit, ...] = ()
    blobs: Mapping[str, str] = field(default_factory=dict)
    tip_files: Mapping[str, str] = field(default_factory=dict)
    changes_known: bool = True
    ledger_ref: str = ""
    base_ref: str = ""
    repo_url: str = ""  # e.g. https://github.com/acme/shop, for links
    # set by `bot.insights.trust.own_history`: the ledger chain as read, and the commits
    # that are not the bot's (ledger) or claim to be (base); `ledger`/`base` exclude them
    ledger_read: tuple[Commit, ...] = ()
    foreign_ledger: tuple[Commit, ...] = ()
    forged_base: tuple[Commit, ...] = ()

    def blob(self, sha: str) -> str | None:
        return self.blobs.get(sha)

    @cached_property
    def _records(self) -> dict[str, Any]:
        return {}

    @cached_property
    def _raw(self) -> dict[str, Any]:
        return {}

    def raw(self, blob_sha: str) -> dict[str, Any] | None:
        """The JSON object in blob `blob_sha`, parsed once per History (None if unreadable);
        cheaper than `record` when only a few keys are needed."""
        memo = self._raw
        if blob_sha not in memo:
            text = self.blobs.get(blob_sha)
            try:
                value = json.loads(text) if text else None
            except ValueError:
                value = None
            memo[blob_sha] = value if isinstance(value, dict) else None
        return memo[blob_sha]

    def record(self, blob_sha: str) -> TrainRecord | None:
        """The train record in blob `blob_sha`, decoded once per History (None if unreadable)."""
        memo = self._records
        if blob_sha not in memo:
            memo[blob_sha] = decode_record(self.blobs.get(blob_sha))
        return memo[blob_sha]


def decode_record(text: str | None) -> TrainRecord | None:
    """The record in `text`; None when absent or not a readable record."""
    if not text:
        return None
    try:
        return decode(text)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
