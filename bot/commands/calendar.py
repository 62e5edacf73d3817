"""`release-train calendar`: the next departures and cutover windows, and what freezes cancel."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.commands._common import add_json_flag, parse_instant, print_json, render_table
from bot.config.repo import CONFIG_PATH
from bot.errors import ConfigError, Problem, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calendar",
        help="show the next departures and cutover windows",
        description="Show each train's next scheduled departures and the next cutover windows, "
        "marking those a freeze cancels and when the next real departure is, and the next "
        "migration windows (gates.migrations.windows) with a warning for each departure "
        "whose train would pass its departed deadline before one opens. Cadences are "
        "UTC cron; cutover windows and freezes are read in the cutover time zone, each "
        "migration window in its own.",
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
        **_migrations(config, start, count),
    }


def _migrations(config: Any, start: datetime, count: int) -> dict[str, Any]:
    """The migration windows (`gates.migrations.windows`) and the departures whose train
    would reach its `departed` deadline before one opens; nothing without windows."""
    from itertools import islice

    from bot.core import calendar as cal
    from bot.core.gates.migrations import settings_from_config

    if not config.gates.migrations:
        return {}
    windows = settings_from_config(config.gates.migrations).windows
    if not windows:
        return {}
    openings = islice(cal.window_openings(windows, start, start + cal.HORIZON), count)
    misses = [
        miss
        for train in config.trains
        for miss in cal.migration_window_misses(
            train, config.freezes, windows, start, count, config.cutover.timezone
        )
    ]
    return {
        "migration_windows": [{"start": _iso(a), "end": _iso(b)} for a, b in openings],
        "migration_window_misses": [
            {
                "train": m.train,
                "departs": _iso(m.departs),
                "deadline": _iso(m.deadline),
                "next_window": _iso(m.next_window),
            }
            for m in misses
        ],
    }


WINDOW_DEPARTURES = 10  # departures `validate` looks at for a missed migration window


def window_problems(config: Any, now: datetime, where: str) -> list[Problem]:
    """For `validate`: a warning per train whose next departures reach their `departed`
    deadline before a migration window opens ("never" when none of them does)."""
    try:
        data = _migrations(config, now, WINDOW_DEPARTURES)
    except ConfigError as exc:  # a gate setting the schema let through (e.g. a bad cron)
        return [replace(p, file=where) for p in exc.problems]
    problems = []
    for train in config.trains:
        misses = [m for m in data.get("migration_window_misses", ()) if m["train"] == train.name]
        if not misses:
            continue
        if len(misses) == WINDOW_DEPARTURES:
            message = (
                f"gates.migrations.windows: for train {train.name}, no migration window ever "
                f"opens before its departed deadline (checked its next {WINDOW_DEPARTURES} "
                f"departures): a train carrying migrations would be aborted; "
                f"first: {miss_text(misses[0])}"
            )
        else:
            message = f"gates.migrations.windows: {miss_text(misses[0])}" + (
                f" (and {len(misses) - 1} more of its next {WINDOW_DEPARTURES} departures)"
                if len(misses) > 1
                else ""
            )
        problems.append(Problem(message, file=where, severity="warning"))
    return problems


def miss_text(miss: dict[str, Any]) -> str:
    after = f"the next opens {miss['next_window']}" if miss["next_window"] else "none opens"
    return (
        f"train {miss['train']} departing {miss['departs']}: no migration window opens before "
        f"its departed deadline {miss['deadline']} ({after}); a train carrying migrations "
        "would be aborted"
    )


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
    if "migration_windows" in data:
        out += ["", "Migration windows (gates.migrations.windows)"]
        rows = [[w["start"], w["end"]] for w in data["migration_windows"]]
        out.append(render_table(["opens (UTC)", "closes (UTC)"], rows) if rows else "none")
        out += [f"warning: {miss_text(m)}" for m in data["migration_window_misses"]]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from bot.config.load import load_config

    if args.count < 1:
        raise UsageError("--count must be at least 1")
    start = parse_instant(args.start, what="--from")
    config = load_config(Path(args.config))
    try:
        data = build_calendar(config, start, args.count)
    except ConfigError as exc:  # a gate setting: name the file given, not the default path
        raise ConfigError([replace(p, file=args.config) for p in exc.problems]) from None
    if args.json:
        print_json(data)
    else:
        print(_render_text(data))
    return 0
