"""Helpers shared by subcommands: output formats, `--now` (parsed by `bot.formats`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bot.formats import parse_instant as parse_instant
from bot.formats import render_table as render_table


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of text")


def add_now_flag(parser: argparse.ArgumentParser, name: str = "--now") -> None:
    parser.add_argument(
        name,
        dest="now",
        metavar="ISO",
        help="pretend the time is this ISO 8601 instant (UTC if no offset); default: the clock",
    )


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"
