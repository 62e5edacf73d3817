"""Run the demo: sandbox, metrics source and story together; the summary and audit after.

`run_demo(options, stream)` starts everything in-process (a temporary directory, loopback
ports), plays `bot.demo.story.play`, and returns a `DemoReport`. With `keep`, the caller
gets the running sandbox through `on_keep` before anything stops.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.demo import releases
from bot.demo.argocd import summary as argocd_summary
from bot.demo.gates import gate_runs
from bot.demo.images import shipped
from bot.demo.narrate import Line, Narrator
from bot.demo.scene import MONDAY, breach_plan
from bot.demo.story import Options, StoryFailed, capabilities, play, set_scene
from bot.demo.world import LEDGER, VirtualClock, World, iter_records


@dataclass(frozen=True)
class DemoReport:
    ok: bool
    failure: str
    trains: tuple[dict[str, Any], ...]
    requests: int  # sandbox API requests made by the bot during the story
    metrics_requests: int
    phases: dict[str, str]
    audit: str
    lines: tuple[Line, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failure": self.failure,
            "trains": list(self.trains),
            "requests": self.requests,
            "metrics_requests": self.metrics_requests,
            "phases": self.phases,
            "events": [line.as_json() for line in self.lines],
        }


@contextlib.contextmanager
def _metrics(options: Options, clock: VirtualClock) -> Iterator[tuple[str, Any]]:
    """The built-in metrics source, or the real Prometheus the user named."""
    if options.prometheus_url:
        yield options.prometheus_url, None
        return
    from bot.demo.metrics import MetricsServer

    with MetricsServer(breach_plan(options.seed), clock=clock) as server:
        yield server.url, server


def run_demo(
    options: Options,
    stream: TextIO | None = None,
    on_keep: Callable[[World, str], None] | None = None,
) -> DemoReport:
    """Play the story; `on_keep(world, metrics_url)` runs before the servers stop."""
    from bot.adapters.github import ResponseCache
    from bot.adapters.prometheus import PrometheusClient
    from bot.sandbox.runner import run_sandbox

    clock = VirtualClock(MONDAY)
    caps = capabilities()
    with contextlib.ExitStack() as stack:
        sb = stack.enter_context(run_sandbox(seed=options.seed, durable=False))
        url, server = stack.enter_context(_metrics(options, clock))
        prometheus = stack.enter_context(PrometheusClient(url, retries=1, timeout=10.0))
        if options.prometheus_url:
            from bot.demo.preflight import check_prometheus

            check_prometheus(prometheus, url)
        sb.server.clock = clock
        world = World(sb, clock, Narrator(stream), "acme/shop", ResponseCache(), prometheus)
        failure = _play(world, url, caps, options.story)
        requests = len(sb.server.request_log)
        audit_text, stages = audit(world)
        report = DemoReport(
            ok=not failure,
            failure=failure,
            trains=tuple(
                _train_summary(world, r, stages.get(r.id, [])) for r in iter_records(world)
            ),
            requests=requests,
            metrics_requests=server.requests if server is not None else 0,
            phases=_phases(caps),
            audit=audit_text,
            lines=tuple(world.narrator.lines),
        )
        if on_keep is not None:
            on_keep(world, url)
    return report


def _play(world: World, metrics_url: str, caps: Any, story: str = "default") -> str:
    """Set the scene and play the story; what went wrong, or ""."""
    try:
        set_scene(world, metrics_url)
        if story == "culprit":
            from bot.demo.culprit import play_culprit

            play_culprit(world, caps)
        else:
            play(world, caps)
    except StoryFailed as exc:
        return str(exc)
    except Exception as exc:  # a crash is the bot misbehaving: report it, stop the story
        failure = f"the bot crashed: {type(exc).__name__}: {exc}"
        world.say("demo", failure, "check")
        traceback.print_exc(file=sys.stderr)
        return failure
    return ""


def _phases(caps: Any) -> dict[str, str]:
    built = {True: "built", False: "not implemented in this build"}
    return {
        "boarding": "built",
        "departure": "built",
        "merge": "built",
        "promotion": built[caps.promotion],
        "revert": built[caps.revert],
    }


def _train_summary(world: World, record: Any, stages: list[dict[str, Any]]) -> dict[str, Any]:
    promotion = record.extra.get("promotion") or {}
    return {
        "id": record.id,
        "state": record.state,
        "prs": list(record.boarded_numbers()),
        "missed": [{"pr": m.number, "reason": m.reason} for m in record.missed],
        "train_pr": record.train_pr or None,
        "merge_sha": record.merge_sha or None,
        "approved_by": list(record.approved_by),
        "held": record.held,
        "stages": stages,
        "tags": dict(promotion.get("tags") or {}),
        "artifacts": shipped(record),  # the recorded set: image, digest, revision, state
        "incident": promotion.get("incident") or None,
        "held_services": world.held_services(record.id),
        "gates": gate_runs(world, record.train_pr) if record.train_pr else {},
        "argocd": argocd_summary(record),  # per stage: Synced and Healthy, then the soak
        "release": releases.summary(world, record),
    }


def audit(world: World) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The audit table from the ledger (over the sandbox API, as an auditor would read it)
    and each train's stage runs; a plain table of trains if the audit cannot be built."""
    try:
        from bot.insights.facts import train_facts
        from bot.insights.github import read_history_api
        from bot.insights.render import render_audit
        from bot.insights.timeline import build_timelines
    except ImportError:
        return _plain_table(world), {}
    from bot.errors import ReleaseTrainError

    token = world.sandbox.token("reader-erin")
    try:
        history = read_history_api(
            world.repo, token, api_url=world.sandbox.base_url, ledger_branch=LEDGER
        )
    except ReleaseTrainError as exc:
        return f"no audit: {exc.message}\n", {}
    timelines = build_timelines(history)
    stages = {
        t.train_id: [
            {
                "stage": s.stage,
                "started": s.started.isoformat() if s.started else None,
                "completed": s.completed.isoformat() if s.completed else None,
                "verdicts": list(s.verdicts),
            }
            for s in train_facts(t).stages
        ]
        for t in timelines
    }
    return render_audit(timelines, "table"), stages


def _plain_table(world: World) -> str:
    from bot.formats import render_table

    rows = [
        [r.id, r.state, " ".join(f"#{n}" for n in r.boarded_numbers()), f"#{r.train_pr}"]
        for r in iter_records(world)
    ]
    return render_table(["train", "state", "prs", "train PR"], rows) + "\n"


__all__ = ["DemoReport", "Options", "run_demo"]
