"""Canary versus baseline: a one-sided rank test, in the direction that is worse.

Pure: the range answers for the canary and the baseline in, a `Part` out.
"""

from __future__ import annotations

from bot.config.model import Comparison
from bot.core.slo.answers import Answers, Number, Part, Verdict, fmt
from bot.core.slo.ranktest import mann_whitney_greater


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _allowed(baseline: list[float], compare: Comparison) -> list[float]:
    """The baseline moved by the tolerance towards "worse": up when higher is worse."""
    towards = 1 if compare.worse == "higher" else -1
    return [v * (1 + towards * compare.tolerance * (1 if v >= 0 else -1)) for v in baseline]


def judge_comparison(name: str, compare: Comparison, got: Answers) -> Part:
    """Fail when the canary is significantly worse than the baseline plus tolerance (worse
    is higher for error ratios and latencies, lower for success rates and throughput)."""
    canary, baseline = got.samples("canary"), got.samples("baseline")
    numbers: dict[str, Number] = {"canary_samples": len(canary), "baseline_samples": len(baseline)}
    if min(len(canary), len(baseline)) < compare.min_samples:
        reason = (
            f"{min(len(canary), len(baseline))} comparison samples"
            f" < min_samples {compare.min_samples}"
        )
        return Part(Verdict.INCONCLUSIVE, reason, numbers)
    allowed = _allowed(baseline, compare)
    higher = compare.worse == "higher"
    test = (
        mann_whitney_greater(canary, allowed) if higher else mann_whitney_greater(allowed, canary)
    )
    numbers |= {
        "canary_median": _median(canary),
        "baseline_median": _median(baseline),
        "mann_whitney_u": test.u,
        "p_value": test.p_value,
    }
    alpha = 1.0 - compare.confidence
    direction = "" if higher else ", lower is worse"
    if test.p_value < alpha:
        sign = ">" if higher else "<"
        evidence = (
            f"{name} {fmt(_median(canary))} {sign} {fmt(_median(allowed))}"
            f" (canary vs baseline{direction}, p={test.p_value:.2g})"
        )
        reason = f"canary worse than baseline{direction} (p={test.p_value:.2g})"
        return Part(Verdict.FAIL, reason, numbers, evidence)
    reason = f"canary not worse than baseline{direction} (p={test.p_value:.2g})"
    return Part(Verdict.PASS, reason, numbers)
