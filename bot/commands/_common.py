"""Helpers shared by subcommands: output formats, `--now` parsing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from bot.errors import UsageError


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of text")


def add_now_flag(parser: argparse.ArgumentParser, name: str = "--now") -> None:
    parser.add_argument(
        name,
        dest="now",
        metavar="ISO",
        help="pretend the time is this ISO 8601 instant (UTC if no offset); default: the clock",
    )


def parse_instant(text: str | None, *, what: str = "--now") -> datetime:
    """Parse an ISO 8601 instant; naive values are UTC. None means the real clock."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
