"""`release-train calendar`: the next departures and cutover windows, and what freezes cancel."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.commands._common import add_json_flag, parse_instant, print_json, render_table
from bot.config.repo import CONFIG_PATH
from bot.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calendar",
        help="show the next departures and cutover windows",
        description="Show each train's next scheduled departures and the next cutover windows, "
        "marking those a freeze cancels and when the next real departure is. Cadences are "
        "UTC cron; windows and freezes are read in the cutover time zone.",
    )
    parser.add_argument(
        "--config", default=CONFIG_PATH, help=f"config file (default: {CONFIG_PATH})"
    )
    parser.add_argument("--from", dest="start", metavar="ISO", help="start here (default: now)")
    parser.add_argument(
        "--count", type=int, default=5, help="how many of each to list (default: 5)"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def build_calendar(config: Any, start: datetime, count: int) -> dict[str, Any]:
    """The calendar as plain data (what `--json` prints)."""
    from bot.core import calendar as cal

    tz = config.cutover.timezone
    trains = []
    for train in config.trains:
        slots = cal.departures(train, config.freezes, start, count, tz)
        nxt = cal.next_departure(train, config.freezes, start, tz)
        trains.append(
            {
                "train": train.name,
                "cadence": train.cadence,
                "next_departure": _iso(nxt.at) if nxt else None,
                "departures": [
                    {
                        "at": _iso(s.start),
                        "cancelled_by": s.freeze.name if s.freeze else None,
                        "reason": s.freeze.reason if s.freeze else None,
                    }
                    for s in slots
                ],
            }
        )
    windows = cal.cutover_windows(config.cutover, config.freezes, start, count)
    nxt_window = cal.next_cutover(config.cutover, config.freezes, start)
    return {
        "from": _iso(start),
        "timezone": tz,
        "trains": trains,
        "cutover_windows": [
            {
                "start": _iso(w.start),
                "end": _iso(w.end),
                "cancelled_by": w.freeze.name if w.freeze else None,
            }
            for w in windows
        ],
        "next_cutover": {"start": _iso(nxt_window[0]), "end": _iso(nxt_window[1])}
        if nxt_window
        else None,
    }


def _render_text(data: dict[str, Any]) -> str:
    out: list[str] = [f"Calendar from {data['from']} (windows and freezes in {data['timezone']})"]
    for train in data["trains"]:
        rows = [
            [d["at"], f"cancelled: freeze {d['cancelled_by']}" if d["cancelled_by"] else "departs"]
            for d in train["departures"]
        ]
        out += ["", f"Train {train['train']} ({train['cadence']} UTC)"]
        out.append(render_table(["departure (UTC)", "status"], rows))
        out.append(f"next real departure: {train['next_departure'] or 'none within 400 days'}")
    out += ["", "Cutover windows"]
    if not data["cutover_windows"]:
        out.append("no windows configured: merges may happen at any time outside freezes")
    else:
        rows = [
            [
                w["start"],
                w["end"],
                f"cancelled: freeze {w['cancelled_by']}" if w["cancelled_by"] else "open",
            ]
            for w in data["cutover_windows"]
        ]
        out.append(render_table(["opens (UTC)", "closes (UTC)", "status"], rows))
    nxt = data["next_cutover"]
    out.append(
        f"next open window: {nxt['start']} to {nxt['end']}" if nxt else "next open window: none"
    )
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from bot.config.load import load_config

    if args.count < 1:
        raise UsageError("--count must be at least 1")
    start = parse_instant(args.start, what="--from")
    config = load_config(Path(args.config))
    data = build_calendar(config, start, args.count)
    if args.json:
        print_json(data)
    else:
        print(_render_text(data))
    return 0
