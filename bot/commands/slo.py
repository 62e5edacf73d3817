"""`release-train slo check`: judge a stage's SLOs against Prometheus, now or at an instant."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands._common import add_json_flag, parse_instant, print_json, render_table
from bot.config.repo import CONFIG_PATH
from bot.errors import (
    EXIT_CHECK_FAILED,
    EXIT_EXTERNAL,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)

if TYPE_CHECKING:
    from bot.config.model import SLO, Config, Stage
    from bot.config.outbound import OutboundPolicy
    from bot.core.slo import SLOResult

EXIT_BY_VERDICT = {
    "fail": EXIT_CHECK_FAILED,
    "error": EXIT_EXTERNAL,
    "inconclusive": EXIT_INCONCLUSIVE,
    "pass": EXIT_OK,
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slo",
        help="judge SLOs against Prometheus",
        description="Judge service-level objectives against Prometheus.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    actions = parser.add_subparsers(dest="slo_command", metavar="ACTION", parser_class=type(parser))
    check = actions.add_parser(
        "check",
        help="judge one stage's SLOs now (or at --at)",
        description=(
            "Judge each SLO of a stage (per service) at an instant:\n"
            "  pass          every rule holds\n"
            "  fail          a burn-rate rule fired (long and short window both burn), the\n"
            "                latency is above its threshold, or the canary is worse than\n"
            "                its baseline (Mann-Whitney U)\n"
            "  inconclusive  no data, NaN, too few requests or comparison samples\n"
            "  error         Prometheus unreachable or the query rejected\n"
            "Windows never reach before --since (when the stage was bumped).\n"
            "Exit 0 if all pass, 1 if any fails, else 4 if any errs, else 3 if any is\n"
            "inconclusive; 1 also for a configuration the outbound policy refuses.\n\n"
            "Prometheus and its credentials come from the operator: PROMETHEUS_URL with\n"
            "PROMETHEUS_TOKEN (or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD), or a named\n"
            "source in the file RELEASE_TRAIN_SOURCES points to (prometheus.source)."
        ),
    )
    check.add_argument(
        "--config", default=CONFIG_PATH, help=f"config file (default: {CONFIG_PATH})"
    )
    check.add_argument("--stage", required=True, help="the stage whose SLOs to judge")
    check.add_argument("--service", help="only this service (default: every configured one)")
    check.add_argument("--at", metavar="ISO", help="evaluate at this instant (default: now)")
    check.add_argument(
        "--since",
        metavar="ISO",
        help="when the stage was bumped; windows never reach before it (default: no limit)",
    )
    check.add_argument(
        "--prometheus",
        metavar="URL",
        help="Prometheus base URL (overrides the config's prometheus section; credentials "
        "from PROMETHEUS_TOKEN or PROMETHEUS_USERNAME/PROMETHEUS_PASSWORD)",
    )
    check.add_argument(
        "--lint",
        action="store_true",
        help="instead of judging: ask Prometheus whether every query of the stage parses and "
        "gives the expected type (and the rules' recording rules are loaded); exit 1 on an "
        "error, 4 when Prometheus is unreachable",
    )
    add_json_flag(check)
    check.set_defaults(func=run)
    from bot.commands import _slo_backtest

    _slo_backtest.register(actions, CONFIG_PATH)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def find_stage(config: Config, name: str) -> Stage:
    for stage in config.stages:
        if stage.name == name:
            return stage
    known = ", ".join(s.name for s in config.stages) or "none"
    raise UsageError(f"--stage: no stage {name!r} in the config (stages: {known})")


def services_for(config: Config, slo: SLO, only: str | None) -> list[str]:
    """`only` if given; every configured service if the SLO's PromQL uses {service}."""
    from bot.core.slo.promql import placeholders

    if only is not None:
        return [only]
    templates = [slo.error_ratio, slo.good, slo.total, slo.latency, slo.requests]
    if slo.compare is not None:
        templates += [slo.compare.canary, slo.compare.baseline]
    uses_service = any("service" in placeholders(t) for t in templates)
    return [s.name for s in config.services] if uses_service and config.services else [""]


def run(args: argparse.Namespace) -> int:
    from bot.adapters.prometheus import client_from_config, configured
    from bot.config.load import load_config
    from bot.config.operator import outbound_from_env
    from bot.core.slo import evaluate, stage_verdict

    policy = outbound_from_env(os.environ)
    config = load_config(Path(args.config), outbound=policy)
    stage = find_stage(config, args.stage)
    at = parse_instant(args.at, what="--at")
    since = parse_instant(args.since, what="--since") if args.since else None
    if since is not None and since > at:
        raise UsageError("--since is after --at")
    if not (args.prometheus or configured(config.prometheus, policy)):
        raise UsageError(
            "no Prometheus: set prometheus.source or prometheus.url in the config, "
            "PROMETHEUS_URL, or --prometheus"
        )
    slos = [config.slo(name) for name in stage.slos]
    if args.lint:
        return run_lint(args, config, policy, stage, slos, at)
    results = []
    with client_from_config(config.prometheus, policy, args.prometheus) as client:
        for slo in slos:
            for service in services_for(config, slo, args.service):
                results.append(evaluate(client, slo, stage.name, service, at, since))
    verdict = stage_verdict(results).value
    if args.json:
        print_json(
            {
                "stage": stage.name,
                "at": _iso(at),
                "since": _iso(since),
                "verdict": verdict,
                "results": [r.to_json() for r in results],
            }
        )
    else:
        print(render_text(stage.name, at, since, results, verdict))
    return EXIT_BY_VERDICT[verdict]


def run_lint(
    args: argparse.Namespace,
    config: Config,
    policy: OutboundPolicy,
    stage: Stage,
    slos: list[SLO],
    at: datetime,
) -> int:
    from bot.adapters.prometheus import client_from_config
    from bot.core.slo.lint_live import check_answer, check_rules
    from bot.core.slo.plan import plan_queries

    problems, asked = [], 0
    with client_from_config(config.prometheus, policy, args.prometheus) as client:
        loaded = _loaded_rules(client) if any(s.rules for s in slos) else None
        for slo in slos:
            problems += check_rules(slo, loaded) if loaded is not None else []
            for service in services_for(config, slo, args.service):
                for spec in plan_queries(slo, stage.name, service, at, None):
                    asked += 1
                    problems += check_answer(slo, service, spec, _lint_ask(client, spec))
    errors = sum(p.severity == "error" for p in problems)
    if args.json:
        print_json({"stage": stage.name, "queries": asked, "problems": [vars(p) for p in problems]})
    else:
        rows = [[p.slo, p.service or "-", p.what, p.severity, p.message] for p in problems]
        table = render_table(["SLO", "SERVICE", "QUERY", "SEVERITY", "PROBLEM"], rows)
        warnings = len(problems) - errors
        print(f"{table}\n\n" if rows else "", end="")
        print(f"stage {stage.name}: {asked} queries asked, {errors} errors, {warnings} warnings")
    return EXIT_CHECK_FAILED if errors else EXIT_OK


def _loaded_rules(client: Any) -> frozenset[str] | None:
    """The recording rules Prometheus evaluates; None when it cannot say (a backend without
    /api/v1/rules)."""
    from bot.errors import ExternalError

    try:
        return frozenset(client.recording_rules())
    except ExternalError as exc:
        if exc.retryable:
            raise
        return None


def _lint_ask(client: Any, spec: Any) -> Any:
    """The answer to one query; a refusal as an `ErrorValue` (unreachable: raised, exit 4)."""
    from bot.core.slo.results import ErrorValue
    from bot.errors import ExternalError

    try:
        if spec.start is not None and spec.step is not None:
            return client.query_range(spec.promql, spec.start, spec.at, spec.step)
        return client.query(spec.promql, spec.at)
    except ExternalError as exc:
        if exc.retryable:
            raise
        return ErrorValue(exc.message.removeprefix("prometheus: "), status=exc.status)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def render_text(
    stage: str, at: datetime, since: datetime | None, results: list[SLOResult], verdict: str
) -> str:
    from bot.core.slo.answers import fmt

    head = f"stage {stage} at {_iso(at)}" + (f" (bumped {_iso(since)})" if since else "")
    if not results:
        return f"{head}: no SLOs to judge"
    rows = [[r.slo, r.service or "-", r.verdict.value, r.reason] for r in results]
    lines = [head, "", render_table(["SLO", "SERVICE", "VERDICT", "REASON"], rows), ""]
    for r in results:
        numbers = "  ".join(
            f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in r.numbers.items()
        )
        lines.append(f"{r.slo}{'/' + r.service if r.service else ''}: {numbers or '-'}")
        if r.evidence:
            lines.append(f"  evidence: {r.evidence}")
    lines += ["", f"verdict: {verdict}"]
    return "\n".join(lines)
