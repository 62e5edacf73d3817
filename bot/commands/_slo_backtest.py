"""`release-train slo backtest`: how a stage's SLOs would have judged a past period."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands._common import add_json_flag, parse_instant, print_json, render_table
from bot.errors import EXIT_CHECK_FAILED, EXIT_EXTERNAL, EXIT_OK, UsageError
from bot.insights.model import DEFAULT_LEDGER

if TYPE_CHECKING:
    from bot.config.model import Config
    from bot.config.outbound import OutboundPolicy
    from bot.core.slo.backtest import Point, Timeline

MAX_TICKS = 50_000  # a week at a 15 s step; a month at 1m is 43,200

DESCRIPTION = """\
Replay the judge over a past period: every tick from --from to --to (--step apart) is
judged by the same code as a live check of the stage — its SLOs for each service, folded
into failing streaks (failure_limit, interval), warm-up (initial_delay), minimum traffic
and inconclusive_after — from range queries asked once for the whole period (one per query
and window, never one per tick). With --bump-at (the time the stage was bumped, at or
before --from) the windows are cut to the soak as they would have been.

Prints the verdict timeline (runs of equal verdicts) and when the stage would have been
reverted. A tick without data is inconclusive, never pass.

With --ledger REPO (instead of --stage, --from, --to): every step of every past train in
the ledger that soaked with SLOs is replayed from its bump to its end with this config,
beside what happened in fact ("this config would have reverted train X at canary 12m in;
the one in force did not").
Exit 0 if it would not have reverted, 1 if it would have (or aborted; with --ledger: any
step), 4 if Prometheus failed or rejected a query, 2 for bad arguments."""


def register(actions: Any, config_default: str) -> None:
    parser = actions.add_parser(
        "backtest",
        help="replay the judge over a past period (when would it have reverted?)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", default=config_default, help=f"config file (default: {config_default})"
    )
    parser.add_argument("--stage", help="the stage whose SLOs to replay (unless --ledger)")
    parser.add_argument("--service", help="only this service (default: every configured one)")
    parser.add_argument("--from", dest="start", metavar="ISO", help="first tick (unless --ledger)")
    parser.add_argument("--to", dest="end", metavar="ISO", help="last tick (unless --ledger)")
    parser.add_argument("--step", default="1m", help="time between ticks (default: 1m)")
    parser.add_argument(
        "--bump-at", metavar="ISO", help="when the stage was bumped (default: no soak)"
    )
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (as slo check)")
    parser.add_argument(
        "--ledger",
        metavar="REPO",
        help="replay every past train's judged steps from the ledger of REPO (a local clone's "
        "path, or OWNER/NAME with $GITHUB_TOKEN) with this config, beside what happened",
    )
    parser.add_argument(
        "--ledger-branch", default=DEFAULT_LEDGER, help=f"(default: {DEFAULT_LEDGER})"
    )
    parser.add_argument("--now", metavar="ISO", help="for --ledger: the end of unfinished soaks")
    parser.add_argument(
        "--svg", metavar="FILE", help="also write the timeline as an SVG to FILE (not --ledger)"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _step(text: str) -> timedelta:
    from bot.config.durations import parse_duration

    try:
        step = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--step: {exc}") from None
    if step <= timedelta(0):
        raise UsageError("--step must be positive")
    return step


def _window(args: argparse.Namespace) -> tuple[datetime, datetime, timedelta, datetime | None]:
    missing = [f for f, v in (("--stage", args.stage), ("--from", args.start),
                              ("--to", args.end)) if not v]  # fmt: skip
    if missing:
        raise UsageError(f"{', '.join(missing)} required (or --ledger REPO)")
    start = parse_instant(args.start, what="--from")
    end = parse_instant(args.end, what="--to")
    since = parse_instant(args.bump_at, what="--bump-at") if args.bump_at else None
    step = _step(args.step)
    if end < start:
        raise UsageError("--to is before --from")
    if since is not None and since > start:
        raise UsageError("--bump-at is after --from: the backtest starts at the bump or later")
    if (end - start) / step + 1 > MAX_TICKS:
        raise UsageError(f"more than {MAX_TICKS} ticks: use a longer --step or a shorter period")
    return start, end, step, since


def load(args: argparse.Namespace) -> tuple[Config, OutboundPolicy]:
    """The config and the operator's outbound policy; a usage error without a Prometheus."""
    from bot.adapters.prometheus import configured
    from bot.config.load import load_config
    from bot.config.operator import outbound_from_env

    policy = outbound_from_env(os.environ)
    config = load_config(Path(args.config), outbound=policy)
    if not (args.prometheus or configured(config.prometheus, policy)):
        raise UsageError(
            "no Prometheus: set prometheus.source or prometheus.url in the config, "
            "PROMETHEUS_URL, or --prometheus"
        )
    return config, policy


def run(args: argparse.Namespace) -> int:
    from bot.adapters.prometheus import client_from_config
    from bot.commands.slo import find_stage, services_for
    from bot.core.slo import backtest
    from bot.core.slo.backtest_plan import ticks

    if args.ledger:
        from bot.commands._slo_ledger import run_ledger

        return run_ledger(args, _step(args.step))
    start, end, step, since = _window(args)
    config, policy = load(args)
    stage = find_stage(config, args.stage)
    jobs = [
        backtest.Job(slo, service)
        for slo in (config.slo(name) for name in stage.slos)
        for service in services_for(config, slo, args.service)
    ]
    plan = backtest.plan(jobs, stage.name, ticks(start, end, step), since, step)
    with client_from_config(config.prometheus, policy, args.prometheus) as client:
        timeline = backtest.replay(plan, backtest.fetch(client, plan.requests))
        requests = client.requests
    if args.svg:
        from bot.core.slo.backtest_svg import render_svg

        Path(args.svg).write_text(render_svg(timeline), encoding="utf-8")
    if args.json:
        print_json(to_json(timeline, start, end, step, requests))
    else:
        print(render_text(timeline, start, end, step, requests))
    return exit_code(timeline)


def exit_code(timeline: Timeline) -> int:
    if timeline.stop is not None:
        return EXIT_CHECK_FAILED
    return EXIT_EXTERNAL if timeline.counts()["error"] else EXIT_OK


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def why(point: Point) -> str:
    """The reasons of the results that are not `pass` (else the first result's)."""
    shown = [r for r in point.results if r.verdict != "pass"] or list(point.results[:1])
    return "; ".join(f"{r.slo}{'/' + r.service if r.service else ''}: {r.reason}" for r in shown)


def _runs(points: tuple[Point, ...]) -> list[list[Point]]:
    runs: list[list[Point]] = []
    for p in points:
        if runs and (runs[-1][-1].verdict, runs[-1][-1].action) == (p.verdict, p.action):
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _after(timeline: Timeline, at: datetime) -> str:
    if timeline.since is None:
        return ""
    from bot.config.durations import format_duration

    return f" ({format_duration(at - timeline.since)} after the bump)"


def summary(timeline: Timeline) -> str:
    stop = timeline.stop
    if stop is None:
        return "would not have reverted"
    verb = "reverted" if stop.action == "revert" else "aborted the train"
    return f"would have {verb} at {_iso(stop.at)}{_after(timeline, stop.at)}: {why(stop)}"


def render_text(
    timeline: Timeline, start: datetime, end: datetime, step: timedelta, requests: int
) -> str:
    from bot.config.durations import format_duration

    bumped = f", bumped {_iso(timeline.since)}" if timeline.since else ""
    head = (
        f"backtest of stage {timeline.stage} from {_iso(start)} to {_iso(end)} every "
        f"{format_duration(step)}{bumped}"
    )
    counts = ", ".join(f"{n} {v}" for v, n in timeline.counts().items())
    rows = [
        [_iso(run[0].at) or "", _iso(run[-1].at) or "", str(len(run)), run[0].verdict.value,
         run[0].action, why(run[0])]
        for run in _runs(timeline.points)
    ]  # fmt: skip
    table = render_table(["FROM", "TO", "CHECKS", "VERDICT", "ACTION", "FIRST REASON"], rows)
    lines = [head, f"{len(timeline.points)} checks: {counts}; {requests} Prometheus requests"]
    return "\n".join([*lines, "", table, "", summary(timeline)])


def to_json(
    timeline: Timeline, start: datetime, end: datetime, step: timedelta, requests: int
) -> dict[str, object]:
    stop = timeline.stop
    return {
        "stage": timeline.stage,
        "from": _iso(start),
        "to": _iso(end),
        "step_seconds": step.total_seconds(),
        "bump_at": _iso(timeline.since),
        "requests": requests,
        "counts": timeline.counts(),
        "reverted_at": _iso(stop.at) if stop else None,
        "stop_action": stop.action if stop else None,
        "summary": summary(timeline),
        "points": [
            {
                "at": _iso(p.at),
                "verdict": p.verdict.value,
                "action": p.action,
                "results": [r.to_json() for r in p.results],
            }
            for p in timeline.points
        ],
    }
