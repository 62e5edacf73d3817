"""`release-train slo backtest --ledger REPO`: every past train's judged steps, replayed
with this config, beside what happened in fact."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands._common import parse_instant, print_json, render_table
from bot.errors import EXIT_CHECK_FAILED, EXIT_EXTERNAL, EXIT_OK

if TYPE_CHECKING:
    from bot.core.slo.backtest import Timeline
    from bot.core.slo.backtest_ledger import Replay


def _records(args: argparse.Namespace) -> list[Any]:
    from bot.insights.source import SourceSpec
    from bot.insights.timeline import tip_records

    history = SourceSpec(args.ledger, ledger_branch=args.ledger_branch).load()
    return [r for _, r in sorted(tip_records(history).items())]


def run_ledger(args: argparse.Namespace, step: timedelta) -> int:
    from bot.adapters.prometheus import client_from_config
    from bot.commands._slo_backtest import load
    from bot.core import promotion as pm
    from bot.core.slo import backtest
    from bot.core.slo.backtest_ledger import replays
    from bot.core.slo.backtest_plan import ticks

    config, policy = load(args)
    now = parse_instant(args.now, what="--now")
    todo, notes = replays(_records(args), pm.plan_steps(config), now)
    done: list[tuple[Replay, Timeline, int]] = []
    with client_from_config(config.prometheus, policy, args.prometheus) as client:
        for replay in todo:
            jobs = [
                backtest.Job(config.slo(name), service)
                for name in replay.slos
                for service in replay.services
                if args.service is None or service == args.service
            ]
            plan = backtest.plan(
                jobs, replay.step, ticks(replay.since, replay.end, step), replay.since, step
            )
            before = client.requests
            timeline = backtest.replay(plan, backtest.fetch(client, plan.requests))
            done.append((replay, timeline, client.requests - before))
    if args.json:
        print_json({"replays": [_json(r, t, n) for r, t, n in done], "notes": notes})
    else:
        print(render(done, notes))
    if any(t.stop is not None for _, t, _ in done):
        return EXIT_CHECK_FAILED
    return EXIT_EXTERNAL if any(t.counts()["error"] for _, t, _ in done) else EXIT_OK


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def verdict(replay: Replay, timeline: Timeline) -> str:
    """What this config would have done, against what the one in force did."""
    from bot.config.durations import format_duration

    stop = timeline.stop
    where = f"train {replay.train} at {replay.step}"
    if stop is None:
        if replay.reverted:
            return f"this config would not have reverted {where}; the one in force did"
        return f"this config would not have reverted {where} either"
    verb = "reverted" if stop.action == "revert" else "aborted"
    after = format_duration(stop.at - replay.since)
    tail = "; the one in force did too" if replay.reverted else "; the one in force did not"
    return f"this config would have {verb} {where} {after} in{tail}"


def render(done: list[tuple[Replay, Timeline, int]], notes: list[str]) -> str:
    from bot.commands._slo_backtest import why

    if not done:
        return "\n".join([*notes, "no judged steps in the ledger"])
    rows = []
    for replay, timeline, sent in done:
        counts = timeline.counts()
        shown = "/".join(str(counts[v]) for v in ("pass", "fail", "inconclusive", "error"))
        stop = timeline.stop
        rows.append([replay.train, replay.step, _iso(replay.since), replay.in_fact,
                     stop.action if stop else "-", shown, str(sent)])  # fmt: skip
    heads = ["TRAIN", "STEP", "BUMPED", "IN FACT", "THIS CONFIG", "PASS/FAIL/INC/ERR", "REQUESTS"]
    lines = [render_table(heads, rows), ""]
    for replay, timeline, _ in done:
        lines.append(verdict(replay, timeline))
        if timeline.stop is not None:
            lines.append(f"  {why(timeline.stop)}")
    return "\n".join([*lines, *notes])


def _json(replay: Replay, timeline: Timeline, sent: int) -> dict[str, object]:
    stop = timeline.stop
    return {
        "train": replay.train,
        "step": replay.step,
        "bumped_at": _iso(replay.since),
        "end": _iso(replay.end),
        "services": list(replay.services),
        "in_fact": replay.in_fact,
        "reverted_at": _iso(stop.at) if stop else None,
        "stop_action": stop.action if stop else None,
        "counts": timeline.counts(),
        "requests": sent,
        "summary": verdict(replay, timeline),
    }
