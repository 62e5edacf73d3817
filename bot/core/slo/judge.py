"""The SLO judge: answers in, one of four verdicts out, with the numbers behind it.

Pure: `judge` takes the SLO, the answers to the queries `plan_queries` asked for, and the
same stage/service/at/since; it does no I/O. Verdicts are four, never two:

- ``fail``: a burn-rate rule fired (long and short window both burn), the latency is above
  its threshold over both windows, or the canary is significantly worse than the baseline;
- ``inconclusive``: no data, NaN, fewer requests than `min_requests` (by default the fewest
  at which one bad request cannot breach: `bot.core.slo.traffic`), too few comparison
  samples, or the stage was bumped (or warmed up) less than a second ago;
- ``error``: Prometheus unreachable or the query rejected;
- ``pass``: otherwise, and while the SLO warms up after the bump (`initial_delay`: nothing
  is asked; only data from after the warm-up counts, and a stage cannot complete on it:
  `validate` refuses a warm-up as long as the soak).

With a comparison configured, an absolute breach that the baseline shares (the canary is
not significantly worse) passes: the release is not what hurts, so reverting it would not help.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.config.model import SLO, BurnRate
from bot.core.slo.answers import ONE, Answers, NoAnswer, Part, Verdict, fmt, series_name
from bot.core.slo.compare import judge_comparison
from bot.core.slo.plan import (
    DEFAULT_BURN_RATES,
    QuerySpec,
    burn_rules,
    judged_from,
    kind,
    plan_queries,
    primary_windows,
    soak_too_short,
    warming_until,
)
from bot.core.slo.promql import format_duration
from bot.core.slo.results import Answer, Labels, QueryResult, RangeResult
from bot.core.slo.traffic import as_count, count_source, min_requests

Number = float | int | str


# When parts disagree, the more severe wins: fail > error > inconclusive > pass.
_SEVERITY = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.ERROR: 2, Verdict.FAIL: 3}


@dataclass(frozen=True)
class SLOResult:
    """The verdict on one SLO for one stage and service, and why."""

    slo: str
    stage: str
    service: str
    verdict: Verdict
    reason: str
    numbers: dict[str, Number] = field(default_factory=dict)
    evidence: str = ""  # one line for an `Evidence:` trailer, set when the verdict is fail
    observe: bool = False  # `mode: observe`: judged and shown, never holds or reverts

    def to_json(self) -> dict[str, object]:
        return {
            "slo": self.slo,
            "stage": self.stage,
            "service": self.service,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "numbers": {k: _json_number(v) for k, v in self.numbers.items()},
            "evidence": self.evidence,
            "observe": self.observe,
        }


def _json_number(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value):
        return fmt(value)
    return value


def _dur(value: timedelta) -> str:
    return format_duration(value)


Ratios = dict[Labels, float]


def _error_ratios(slo: SLO, windows: list[timedelta], got: Answers) -> dict[timedelta, Ratios]:
    """Per window, each series' error ratio."""
    ratios: dict[timedelta, Ratios] = {}
    for w in windows:
        if kind(slo) == "error_ratio":
            per = got.series("error_ratio", w)
        else:
            total = got.series("total", w)
            good = got.series("good", w, empty_ok=True)  # no good series: all bad
            if slo.histogram and set(total) - set(good):
                reason = (
                    f"no bucket le={fmt(slo.threshold)} in the histogram over {_dur(w)}: the "
                    "threshold must be one of its bucket bounds"
                )
                raise NoAnswer(Part(Verdict.ERROR, reason))
            per = {key: _bad_share(good.get(key, 0.0), t) for key, t in total.items() if t > 0}
            if not per:
                raise NoAnswer(Part(Verdict.INCONCLUSIVE, f"no traffic over {_dur(w)}"))
        for key, ratio in per.items():
            if math.isinf(ratio):
                named = f" {series_name(key)}" if key else ""
                reason = f"error ratio over {_dur(w)}{named} is {fmt(ratio)}"
                raise NoAnswer(Part(Verdict.INCONCLUSIVE, reason))
        ratios[w] = per
    return ratios


def _bad_share(good: float, total: float) -> float:
    return max(0.0, 1.0 - good / total)


def _burn(ratio: float, budget: float) -> float:
    if budget > 0:
        return ratio / budget
    return math.inf if ratio > 0 else 0.0


def _judged_keys(ratios: dict[timedelta, Ratios], quiet: frozenset[Labels]) -> list[Labels]:
    """Series present in every window, less those with too little traffic of their own."""
    keys = set.intersection(*(set(r) for r in ratios.values())) if ratios else set()
    return sorted(keys - quiet)


def _series_numbers(judged: list[Labels], worst: Labels) -> dict[str, Number]:
    if judged == [ONE]:
        return {}
    return {"series": len(judged), "worst_series": series_name(worst)}


@dataclass(frozen=True)
class _Rule:
    """A burn-rate rule as judged now: its windows cut to the soak, and the burn its long
    window must show. Cut to a part of its length, the long window must have burned as much
    of the budget as the whole window would need: the time before the bump counts as
    error-free, never against the new version, and a blip shorter than the budget the rule
    allows cannot fire it however young the soak."""

    rule: BurnRate  # windows cut to the soak
    full: BurnRate  # as configured

    @property
    def long_factor(self) -> float:
        return self.rule.factor * (self.full.long / self.rule.long)

    @property
    def cut(self) -> bool:
        return self.rule.long < self.full.long


def _fires(rule: _Rule, key: Labels, ratios: dict[timedelta, Ratios], budget: float) -> bool:
    long, short = ratios[rule.rule.long][key], ratios[rule.rule.short][key]
    return _burn(long, budget) > rule.long_factor and _burn(short, budget) > rule.rule.factor


def _evidence(name: str, rule: _Rule, long: float, short: float, budget: float) -> str:
    cut, limit = rule.rule, rule.rule.factor * budget
    windows = f"{_dur(cut.long)}/{_dur(cut.short)}"
    if not rule.cut:
        return f"{name} {fmt(min(long, short))} > {fmt(limit)} ({windows})"
    return (
        f"{name} {fmt(long)} > {fmt(rule.long_factor * budget)} over the {_dur(cut.long)} "
        f"soak (of {_dur(rule.full.long)}) and {fmt(short)} > {fmt(limit)} ({windows})"
    )


def _judge_burn_rates(
    slo: SLO, rules: tuple[_Rule, ...], got: Answers, quiet: frozenset[Labels]
) -> Part:
    ratios = _error_ratios(slo, primary_windows(slo, tuple(r.rule for r in rules)), got)
    judged = _judged_keys(ratios, quiet)
    if not judged:
        return Part(Verdict.INCONCLUSIVE, "every series has too little traffic")
    budget = 1.0 - slo.objective / 100.0

    def peak(key: Labels) -> float:
        return max(_burn(r[key], budget) for r in ratios.values())

    fired = [(rule, key) for rule in rules for key in judged if _fires(rule, key, ratios, budget)]
    worst = fired[0][1] if fired else max(judged, key=peak)
    numbers: dict[str, Number] = {"allowed_error_ratio": budget}
    for w, per in ratios.items():
        numbers[f"error_ratio[{_dur(w)}]"] = per[worst]
        numbers[f"burn_rate[{_dur(w)}]"] = _burn(per[worst], budget)
    numbers |= _series_numbers(judged, worst)
    named = f" on {series_name(worst)}" if worst else ""
    if fired:
        rule, key = fired[0]
        long, short = ratios[rule.rule.long][key], ratios[rule.rule.short][key]
        windows = f"{_dur(rule.rule.long)}/{_dur(rule.rule.short)}"
        evidence = _evidence(f"{slo.name}{named}", rule, long, short, budget)
        factor = f"{fmt(rule.rule.factor)}x"
        if rule.cut:
            factor += f" ({fmt(rule.long_factor)}x over the {_dur(rule.rule.long)} soak)"
        reason = f"burn rate above {factor} over {windows}{named}"
        return Part(Verdict.FAIL, reason, numbers, evidence)
    return Part(Verdict.PASS, f"highest burn rate {fmt(peak(worst))}x{named}", numbers)


def _judge_latency(
    slo: SLO, rules: tuple[BurnRate, ...], got: Answers, quiet: frozenset[Labels]
) -> Part:
    rule = rules[0]
    long, short = got.series("latency", rule.long), got.series("latency", rule.short)
    judged = sorted((set(long) & set(short)) - quiet)
    if not judged:
        return Part(Verdict.INCONCLUSIVE, "every series has too little traffic")
    over = [k for k in judged if long[k] > slo.threshold and short[k] > slo.threshold]
    worst = over[0] if over else max(judged, key=lambda k: max(long[k], short[k]))
    numbers: dict[str, Number] = {
        "threshold": slo.threshold,
        f"latency[{_dur(rule.long)}]": long[worst],
        f"latency[{_dur(rule.short)}]": short[worst],
    }
    numbers |= _series_numbers(judged, worst)
    windows = f"{_dur(rule.long)}/{_dur(rule.short)}"
    named = f" on {series_name(worst)}" if worst else ""
    if over:
        lo = min(long[worst], short[worst])
        evidence = f"{slo.name}{named} {fmt(lo)} > {fmt(slo.threshold)} ({windows})"
        reason = f"latency above {fmt(slo.threshold)}s over {windows}{named}"
        return Part(Verdict.FAIL, reason, numbers, evidence)
    high = max(long[worst], short[worst])
    return Part(Verdict.PASS, f"latency {fmt(high)}s ({windows}){named}", numbers)


def _judge_requests(
    slo: SLO, rules: tuple[BurnRate, ...], got: Answers
) -> tuple[Part | None, frozenset[Labels]]:
    """Too little traffic: the part (inconclusive when every series has too little, None
    when nothing counts requests) and the series too quiet to judge on their own."""
    longest = max(r.long for r in rules)
    source, least = count_source(slo), min_requests(slo, rules)
    if not source or least <= 0:
        return None, frozenset()
    counts = {
        key: as_count(slo, source, value, longest)
        for key, value in got.series(source, longest).items()
    }
    count = sum(counts.values())
    quiet = frozenset(k for k, c in counts.items() if c < least)
    numbers: dict[str, Number] = {"requests": count, "min_requests": least}
    if count <= 0:
        return Part(Verdict.INCONCLUSIVE, f"no traffic over {_dur(longest)}", numbers), quiet
    if len(quiet) < len(counts):
        return Part(Verdict.PASS, f"{fmt(count)} requests", numbers), quiet
    why = "min_requests" if slo.min_requests is not None else "the minimum for this objective"
    fewest = fmt(max(counts.values()))
    reason = f"{fewest} requests over {_dur(longest)} < {why} {least}"
    if slo.min_requests is None:
        reason += " (one bad request could breach)"
    return Part(Verdict.INCONCLUSIVE, reason, numbers), quiet


def _guard(step: Callable[[], Part | None]) -> Part | None:
    try:
        return step()
    except NoAnswer as exc:
        return exc.part


def _traffic(
    slo: SLO, rules: tuple[BurnRate, ...], got: Answers
) -> tuple[Part | None, frozenset[Labels]]:
    try:
        return _judge_requests(slo, rules, got)
    except NoAnswer as exc:
        return exc.part, frozenset()


def _worst(parts: list[Part]) -> Part:
    return max(parts, key=lambda p: _SEVERITY[p.verdict])


def _combine(primary: Part | None, requests: Part | None, comparison: Part | None) -> Part:
    if primary is not None and requests is not None and requests.verdict != Verdict.PASS:
        primary = requests  # too few requests: a burn rate proves nothing either way
    if primary is not None and comparison is not None:
        if primary.verdict == Verdict.FAIL and comparison.verdict == Verdict.PASS:
            reason = f"{primary.reason}, but the baseline is as bad: {comparison.reason}"
            return Part(Verdict.PASS, reason)
        if primary.verdict == Verdict.FAIL:
            return primary
    parts = [p for p in (primary, requests, comparison) if p is not None]
    return _worst(parts)


def stage_verdict(results: Iterable[SLOResult]) -> Verdict:
    """The verdict on a stage from its enforced SLOs': any fail, else any error, else any
    inconclusive, else pass (also when there is nothing to judge). Observe-only SLOs are
    shown, never counted."""
    verdicts = (r.verdict for r in results if not r.observe)
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.PASS)


def _warnings(answers: Iterable[Answer]) -> str:
    """Prometheus' warnings (e.g. a partial response from a federated backend), deduplicated."""
    seen: dict[str, None] = {}
    for answer in answers:
        if isinstance(answer, QueryResult | RangeResult):
            seen |= dict.fromkeys(answer.warnings)
    return "; ".join(seen)


def judge(
    slo: SLO,
    answers: Mapping[QuerySpec, Answer],
    stage: str,
    service: str,
    at: datetime,
    since: datetime | None,
) -> SLOResult:
    """Judge one SLO from the answers to `plan_queries(slo, stage, service, at, since)`;
    an observe-only SLO's result says so (and is never counted by `stage_verdict`)."""
    result = _judge(slo, answers, stage, service, at, since)
    if slo.mode != "observe":
        return result
    return replace(result, reason=f"observe only: {result.reason}", observe=True)


def _judge(
    slo: SLO,
    answers: Mapping[QuerySpec, Answer],
    stage: str,
    service: str,
    at: datetime,
    since: datetime | None,
) -> SLOResult:
    until = warming_until(slo, at, since)
    if until is not None:
        reason = f"warming up until {until:%H:%M:%S %Z}".rstrip()
        numbers: dict[str, Number] = {"warming_up_until": until.isoformat()}
        return SLOResult(slo.name, stage, service, Verdict.PASS, reason, numbers)
    start = judged_from(slo, since)
    if soak_too_short(at, start):
        bumped = "the warm-up ended" if slo.initial_delay else "the stage was bumped"
        reason = f"{bumped} less than a second ago"
        return SLOResult(slo.name, stage, service, Verdict.INCONCLUSIVE, reason)
    rules = burn_rules(slo, at, start)
    got = Answers(plan_queries(slo, stage, service, at, since), answers, slo.by)
    primary = comparison = None
    requests, quiet = _traffic(slo, rules, got)
    if kind(slo) == "latency":
        primary = _guard(lambda: _judge_latency(slo, rules, got, quiet))
    elif kind(slo) != "compare":
        full = slo.burn_rates or DEFAULT_BURN_RATES
        judged = tuple(_Rule(cut, whole) for cut, whole in zip(rules, full, strict=True))
        primary = _guard(lambda: _judge_burn_rates(slo, judged, got, quiet))
    if slo.compare is not None:
        compare = slo.compare
        comparison = _guard(lambda: judge_comparison(slo.name, compare, got))
    parts = [p for p in (primary, requests, comparison) if p is not None]
    if not parts:
        reason = "nothing to judge: no error_ratio, good/total, latency or compare"
        return SLOResult(slo.name, stage, service, Verdict.ERROR, reason)
    verdict = _combine(primary, requests, comparison)
    numbers = {}
    for part in parts:
        numbers |= part.numbers
    warnings = _warnings(answers.values())
    if warnings:
        numbers["warnings"] = warnings
    evidence = verdict.evidence if verdict.verdict == Verdict.FAIL else ""
    return SLOResult(slo.name, stage, service, verdict.verdict, verdict.reason, numbers, evidence)
