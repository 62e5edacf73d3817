"""The SLO judge: answers in, one of four verdicts out, with the numbers behind it.

Pure: `judge` takes the SLO, the answers to the queries `plan_queries` asked for, and the
same stage/service/at/since; it does no I/O. Verdicts are four, never two:

- ``fail``: a burn-rate rule fired (long and short window both burn), the latency is above
  its threshold over both windows, or the canary is significantly worse than the baseline;
- ``inconclusive``: no data, NaN, fewer requests than `min_requests`, too few comparison
  samples, or the stage was bumped less than a second ago;
- ``error``: Prometheus unreachable or the query rejected;
- ``pass``: otherwise.

With a comparison configured, an absolute breach that the baseline shares (the canary is
not significantly worse) passes: the release is not what hurts, so reverting it would not help.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.config.model import SLO, BurnRate, Comparison
from bot.core.slo.plan import (
    QuerySpec,
    burn_rules,
    kind,
    plan_queries,
    primary_windows,
    soak_too_short,
)
from bot.core.slo.promql import format_duration
from bot.core.slo.ranktest import mann_whitney_greater
from bot.core.slo.results import Answer, ErrorValue, QueryResult, RangeResult

Number = float | int | str


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


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

    def to_json(self) -> dict[str, object]:
        return {
            "slo": self.slo,
            "stage": self.stage,
            "service": self.service,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "numbers": {k: _json_number(v) for k, v in self.numbers.items()},
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class _Part:
    verdict: Verdict
    reason: str
    numbers: dict[str, Number] = field(default_factory=dict)
    evidence: str = ""


class _NoAnswer(Exception):
    def __init__(self, part: _Part) -> None:
        super().__init__(part.reason)
        self.part = part


def fmt(value: float) -> str:
    """Four significant digits: 0.021, 0.0144, 14.4, 1.235e+05, +Inf, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def _json_number(value: Number) -> Number:
    if isinstance(value, float) and not math.isfinite(value):
        return fmt(value)
    return value


def _dur(value: timedelta) -> str:
    return format_duration(value)


class _Answers:
    """Looks answers up by role and window, turning missing or failed ones into parts."""

    def __init__(self, specs: list[QuerySpec], answers: Mapping[QuerySpec, Answer]) -> None:
        self._by_key = {(s.role, s.window): s for s in specs}
        self._answers = answers
        # Once Prometheus is unreachable the rest is not asked: that is the reason to give.
        self._down = next(
            (a for a in answers.values() if isinstance(a, ErrorValue) and not a.rejected), None
        )

    def get(self, role: str, window: timedelta | None) -> Answer:
        spec = self._by_key[(role, window)]
        answer = self._answers.get(spec, self._down)
        if answer is None:
            raise _NoAnswer(_Part(Verdict.ERROR, f"no answer for {role} query: {spec.promql}"))
        if isinstance(answer, ErrorValue):
            what = "query rejected" if answer.rejected else "prometheus"
            raise _NoAnswer(_Part(Verdict.ERROR, f"{what}: {answer.message}"))
        return answer

    def value(self, role: str, window: timedelta | None, combine: str = "max") -> float:
        """One number from an instant query: the max (or sum) over its series."""
        answer = self.get(role, window)
        where = f"{role} over {_dur(window)}" if window else role
        if not isinstance(answer, QueryResult) or answer.empty:
            raise _NoAnswer(_Part(Verdict.INCONCLUSIVE, f"no data for {where}"))
        values = answer.values()
        if any(math.isnan(v) for v in values):
            raise _NoAnswer(_Part(Verdict.INCONCLUSIVE, f"{where} is NaN"))
        return sum(values) if combine == "sum" else max(values)

    def samples(self, role: str) -> list[float]:
        """Every non-NaN value of a range query (all its series pooled)."""
        window = next(w for (r, w) in self._by_key if r == role)
        answer = self.get(role, window)
        return answer.values() if isinstance(answer, RangeResult) else []


def _error_ratios(slo: SLO, windows: list[timedelta], got: _Answers) -> dict[timedelta, float]:
    ratios: dict[timedelta, float] = {}
    for w in windows:
        if kind(slo) == "error_ratio":
            ratio = got.value("error_ratio", w)
        else:
            good, total = got.value("good", w, "sum"), got.value("total", w, "sum")
            if total <= 0:
                raise _NoAnswer(_Part(Verdict.INCONCLUSIVE, f"no traffic over {_dur(w)}"))
            ratio = max(0.0, 1.0 - good / total)
        if math.isinf(ratio):
            raise _NoAnswer(
                _Part(Verdict.INCONCLUSIVE, f"error ratio over {_dur(w)} is {fmt(ratio)}")
            )
        ratios[w] = ratio
    return ratios


def _burn(ratio: float, budget: float) -> float:
    if budget > 0:
        return ratio / budget
    return math.inf if ratio > 0 else 0.0


def _judge_burn_rates(slo: SLO, rules: tuple[BurnRate, ...], got: _Answers) -> _Part:
    ratios = _error_ratios(slo, primary_windows(slo, rules), got)
    budget = 1.0 - slo.objective / 100.0
    numbers: dict[str, Number] = {"allowed_error_ratio": budget}
    for w, ratio in ratios.items():
        numbers[f"error_ratio[{_dur(w)}]"] = ratio
        numbers[f"burn_rate[{_dur(w)}]"] = _burn(ratio, budget)
    for rule in rules:
        long, short = ratios[rule.long], ratios[rule.short]
        if _burn(long, budget) > rule.factor and _burn(short, budget) > rule.factor:
            windows = f"{_dur(rule.long)}/{_dur(rule.short)}"
            limit = rule.factor * budget
            evidence = f"{slo.name} {fmt(min(long, short))} > {fmt(limit)} ({windows})"
            reason = f"burn rate above {fmt(rule.factor)}x over {windows}"
            return _Part(Verdict.FAIL, reason, numbers, evidence)
    worst = max(_burn(r, budget) for r in ratios.values())
    return _Part(Verdict.PASS, f"highest burn rate {fmt(worst)}x", numbers)


def _judge_latency(slo: SLO, rules: tuple[BurnRate, ...], got: _Answers) -> _Part:
    rule = rules[0]
    long, short = got.value("latency", rule.long), got.value("latency", rule.short)
    numbers: dict[str, Number] = {
        "threshold": slo.threshold,
        f"latency[{_dur(rule.long)}]": long,
        f"latency[{_dur(rule.short)}]": short,
    }
    windows = f"{_dur(rule.long)}/{_dur(rule.short)}"
    if long > slo.threshold and short > slo.threshold:
        evidence = f"{slo.name} {fmt(min(long, short))} > {fmt(slo.threshold)} ({windows})"
        return _Part(
            Verdict.FAIL, f"latency above {fmt(slo.threshold)}s over {windows}", numbers, evidence
        )
    return _Part(Verdict.PASS, f"latency {fmt(max(long, short))}s ({windows})", numbers)


def _judge_requests(slo: SLO, rules: tuple[BurnRate, ...], got: _Answers) -> _Part | None:
    """Too few requests makes any verdict inconclusive; None when there is no count."""
    longest = max(r.long for r in rules)
    if slo.requests:
        count = got.value("requests", longest, "sum")
    elif kind(slo) == "good_total":
        count = got.value("total", longest, "sum")
    else:
        return None
    numbers: dict[str, Number] = {"requests": count, "min_requests": slo.min_requests}
    if count < slo.min_requests:
        reason = f"{fmt(count)} requests over {_dur(longest)} < min_requests {slo.min_requests}"
        return _Part(Verdict.INCONCLUSIVE, reason, numbers)
    return _Part(Verdict.PASS, f"{fmt(count)} requests", numbers)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _judge_comparison(name: str, compare: Comparison, got: _Answers) -> _Part:
    """Fail when the canary is significantly worse (higher) than the baseline plus tolerance."""
    canary, baseline = got.samples("canary"), got.samples("baseline")
    numbers: dict[str, Number] = {"canary_samples": len(canary), "baseline_samples": len(baseline)}
    if min(len(canary), len(baseline)) < compare.min_samples:
        reason = (
            f"{min(len(canary), len(baseline))} comparison samples"
            f" < min_samples {compare.min_samples}"
        )
        return _Part(Verdict.INCONCLUSIVE, reason, numbers)
    allowed = [
        v * (1 + compare.tolerance) if v >= 0 else v * (1 - compare.tolerance) for v in baseline
    ]
    test = mann_whitney_greater(canary, allowed)
    numbers |= {
        "canary_median": _median(canary),
        "baseline_median": _median(baseline),
        "mann_whitney_u": test.u,
        "p_value": test.p_value,
    }
    alpha = 1.0 - compare.confidence
    if test.p_value < alpha:
        evidence = (
            f"{name} {fmt(_median(canary))} > {fmt(_median(allowed))}"
            f" (canary vs baseline, p={test.p_value:.2g})"
        )
        return _Part(
            Verdict.FAIL, f"canary worse than baseline (p={test.p_value:.2g})", numbers, evidence
        )
    return _Part(Verdict.PASS, f"canary not worse than baseline (p={test.p_value:.2g})", numbers)


def _guard(step: Callable[[], _Part | None]) -> _Part | None:
    try:
        return step()
    except _NoAnswer as exc:
        return exc.part


def _worst(parts: list[_Part]) -> _Part:
    return max(parts, key=lambda p: _SEVERITY[p.verdict])


def _combine(primary: _Part | None, requests: _Part | None, comparison: _Part | None) -> _Part:
    if primary is not None and requests is not None and requests.verdict != Verdict.PASS:
        primary = requests  # too few requests: a burn rate proves nothing either way
    if primary is not None and comparison is not None:
        if primary.verdict == Verdict.FAIL and comparison.verdict == Verdict.PASS:
            reason = f"{primary.reason}, but the baseline is as bad: {comparison.reason}"
            return _Part(Verdict.PASS, reason)
        if primary.verdict == Verdict.FAIL:
            return primary
    parts = [p for p in (primary, requests, comparison) if p is not None]
    return _worst(parts)


def stage_verdict(results: Iterable[SLOResult]) -> Verdict:
    """The verdict on a stage from its SLOs': any fail, else any error, else any
    inconclusive, else pass (also when there is nothing to judge)."""
    return max((r.verdict for r in results), key=_SEVERITY.__getitem__, default=Verdict.PASS)


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
    """Judge one SLO from the answers to `plan_queries(slo, stage, service, at, since)`."""
    if soak_too_short(at, since):
        reason = "the stage was bumped less than a second ago"
        return SLOResult(slo.name, stage, service, Verdict.INCONCLUSIVE, reason)
    rules = burn_rules(slo, at, since)
    got = _Answers(plan_queries(slo, stage, service, at, since), answers)
    primary = requests = comparison = None
    if kind(slo) == "latency":
        primary = _guard(lambda: _judge_latency(slo, rules, got))
    elif kind(slo) != "compare":
        primary = _guard(lambda: _judge_burn_rates(slo, rules, got))
    if slo.min_requests > 0:
        requests = _guard(lambda: _judge_requests(slo, rules, got))
    if slo.compare is not None:
        compare = slo.compare
        comparison = _guard(lambda: _judge_comparison(slo.name, compare, got))
    parts = [p for p in (primary, requests, comparison) if p is not None]
    if not parts:
        reason = "nothing to judge: no error_ratio, good/total, latency or compare"
        return SLOResult(slo.name, stage, service, Verdict.ERROR, reason)
    verdict = _combine(primary, requests, comparison)
    numbers: dict[str, Number] = {}
    for part in parts:
        numbers |= part.numbers
    warnings = _warnings(answers.values())
    if warnings:
        numbers["warnings"] = warnings
    evidence = verdict.evidence if verdict.verdict == Verdict.FAIL else ""
    return SLOResult(slo.name, stage, service, verdict.verdict, verdict.reason, numbers, evidence)
