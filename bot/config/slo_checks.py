"""The SLO checks `validate` runs beyond the schema: one kind of query each, PromQL that
looks sane, and enough traffic for a verdict (`bot.config.checks` runs them with the rest)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.config.build import build_slo
from bot.config.durations import format_duration, parse_duration
from bot.config.model import Stage
from bot.config.schemas import path_text
from bot.config.slo_defaults import DEFAULT_BURN_RATES, derived_min_requests
from bot.config.slo_histogram import selector_problem

if TYPE_CHECKING:
    from bot.config.checks import Checker, Path_

__all__ = ["check_slos", "promql_problem"]


_PROMQL_KEYS = ("error_ratio", "good", "total", "latency", "requests")


def check_slos(checker: Checker) -> None:
    for path, slo in checker.items("slos"):
        kinds = [k for k in ("error_ratio", "good", "latency", "histogram") if slo.get(k)]
        name = slo.get("name", "?")
        if slo.get("good") and not slo.get("total"):
            checker.error((*path, "good"), f"SLO '{name}' has good but no total")
        if slo.get("total") and not slo.get("good"):
            checker.error((*path, "total"), f"SLO '{name}' has total but no good")
        for key in ("latency", "histogram"):
            if slo.get(key) and not slo.get("threshold"):
                checker.error((*path, key), f"SLO '{name}' has {key} but no threshold")
        if slo.get("threshold") and not (slo.get("latency") or slo.get("histogram")):
            checker.error(
                (*path, "threshold"), f"SLO '{name}' has threshold but no latency or histogram"
            )
        _check_histogram(checker, path, slo)
        if len(kinds) != 1:
            found = " and ".join(kinds) if kinds else "none"
            checker.error(
                (*path, "name"),
                f"SLO '{name}' needs exactly one of error_ratio, good + total, "
                f"latency + threshold, or histogram + threshold (found {found})",
                value=False,
            )
        if slo.get("min_requests") and not slo.get("requests") and not slo.get("total"):
            checker.error(
                (*path, "min_requests"),
                f"SLO '{name}' sets min_requests but has no requests (or total) query",
            )
        _check_rules(checker, path, slo)
        _check_traffic(checker, path, slo)
        for key in _PROMQL_KEYS:
            _check_promql(checker, (*path, key), slo.get(key))
        compare = slo.get("compare")
        if isinstance(compare, dict):
            for key in ("canary", "baseline"):
                _check_promql(checker, (*path, "compare", key), compare.get(key))
    _check_warm_up(checker)


def _soaks(stage: dict[str, Any]) -> list[timedelta]:
    """The soaks of a stage and its waves (a wave without one soaks as long as the stage)."""
    text = stage.get("soak")
    soak = parse_duration(text) if isinstance(text, str) else Stage("").soak
    waves = [w for w in stage.get("waves") or [] if isinstance(w, dict)]
    return [soak] + [parse_duration(w["soak"]) if "soak" in w else soak for w in waves]


def _check_warm_up(checker: Checker) -> None:
    """A warm-up (`initial_delay`) as long as the soak of a stage that uses the SLO would
    let the stage complete without the SLO ever being judged: refused."""
    delays: dict[str, tuple[Path_, timedelta]] = {}
    for path, slo in checker.items("slos"):
        try:
            delay = parse_duration(slo["initial_delay"]) if "initial_delay" in slo else None
        except (TypeError, ValueError):
            continue  # the duration checks say what is wrong
        if delay:
            delays[str(slo.get("name"))] = ((*path, "initial_delay"), delay)
    for _, stage in checker.items("stages"):
        try:
            shortest = min(_soaks(stage))
        except (TypeError, ValueError):
            continue
        slos = stage.get("slos")
        for name in slos if isinstance(slos, list) else []:  # the schema says what else is wrong
            if isinstance(name, str) and name in delays and delays[name][1] >= shortest:
                where, delay = delays[name]
                checker.error(
                    where,
                    f"SLO '{name}': initial_delay {format_duration(delay)} is not shorter than "
                    f"the {format_duration(shortest)} soak of stage '{stage.get('name')}': the "
                    "stage would complete without the SLO ever being judged",
                )


def _check_histogram(checker: Checker, path: Path_, slo: dict[str, Any]) -> None:
    selector = slo.get("histogram")
    if isinstance(selector, str) and selector:
        why = selector_problem(selector)
        if why:
            checker.error((*path, "histogram"), f"SLO '{slo.get('name', '?')}': histogram {why}")


def _check_rules(checker: Checker, path: Path_, slo: dict[str, Any]) -> None:
    """Recording rules stand in for error_ratio or latency, at windows the rules ask."""
    rules = slo.get("rules")
    if not isinstance(rules, dict) or not rules:
        return
    name = slo.get("name", "?")
    if not (slo.get("error_ratio") or slo.get("latency")):
        checker.error(
            (*path, "rules"), f"SLO '{name}': rules stand in for error_ratio or latency only"
        )
        return
    try:
        built = build_slo(slo)
    except (KeyError, TypeError, ValueError):
        return  # the schema says what is wrong
    rates = built.burn_rates or DEFAULT_BURN_RATES
    asked = sorted({w for r in rates[: 1 if built.latency else None] for w in (r.long, r.short)})
    for key, query in rules.items():
        where = (*path, "rules", key)
        if parse_duration(key) not in asked:
            known = ", ".join(format_duration(w) for w in asked)
            checker.error(
                where, f"SLO '{name}': no burn-rate rule asks a {key} window (they ask {known})"
            )
        _check_promql(checker, where, query)


def _check_traffic(checker: Checker, path: Path_, slo: dict[str, Any]) -> None:
    """Warnings: a `min_requests` at which one bad request can breach, and an error-ratio
    SLO with nothing to count requests (too little traffic then looks like a breach)."""
    try:
        built = build_slo(slo)
    except (KeyError, TypeError, ValueError):
        return  # the schema or the checks above say what is wrong
    least = derived_min_requests(replace(built, min_requests=None))
    name = built.name
    wrong = not isinstance(built.min_requests, int | float)  # the schema says what is wrong
    if built.min_requests is not None and not wrong and 0 <= built.min_requests < least:
        checker.error(
            (*path, "min_requests"),
            f"SLO '{name}': min_requests {built.min_requests} is below {least}, the fewest "
            "requests at which one bad request cannot breach its fastest burn rule; "
            "leave it out to use that minimum",
            severity="warning",
        )
    if built.error_ratio and not built.requests:
        checker.error(
            (*path, "error_ratio"),
            f"SLO '{name}' has no requests query: the judge cannot tell too little traffic "
            "from a breach; add requests (a count over {window}, e.g. sum(increase(...)))",
            value=False,
            severity="warning",
        )


def promql_problem(query: str) -> str | None:
    """A cheap sanity check: brackets balance and quotes close. None when it looks fine."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = ""
    escaped = False
    for char in query:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in closing and (not stack or stack.pop() != closing[char]):
            return f"unbalanced {char!r}"
    if quote:
        return f"unclosed {quote} quote"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None


def _check_promql(checker: Checker, path: Path_, query: Any) -> None:
    if isinstance(query, str) and query:
        why = promql_problem(query)
        if why:
            checker.error(path, f"{path_text(path)}: PromQL looks broken: {why}")
