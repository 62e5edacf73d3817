"""The `error-budget` gate: each named SLO has at least `min_remaining` of its budget left.

Facts are `{slo: remaining_fraction | None}` as the SLO adapter computed them (1.0 = the whole
budget left, 0 = spent, negative = overspent). `None` facts mean no adapter was wired: the
gate says so as `neutral`, never success. An SLO without data is `neutral` or `failure` per
`on_no_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.gates.base import (
    Conclusion,
    GateResult,
    as_number,
    as_str_tuple,
    choice,
    markdown_table,
    settings_keys,
    worst,
)

NAME = "error-budget"
CONFIG_KEY = "error_budget"


@dataclass(frozen=True)
class ErrorBudgetFacts:
    remaining: Mapping[str, float | None] | None = None  # None: no SLO adapter wired
    unavailable: str | None = None  # why there are no facts, when known


@dataclass(frozen=True)
class ErrorBudgetSettings:
    slos: tuple[str, ...] = ()  # empty: every SLO in the facts
    min_remaining: float = 0.0
    per_slo: Mapping[str, float] = field(default_factory=dict)
    on_no_data: str = "neutral"  # neutral | failure


def settings_from_config(mapping: Mapping[str, object]) -> ErrorBudgetSettings:
    settings_keys(mapping, ("slos", "min_remaining", "per_slo", "on_no_data"), CONFIG_KEY)
    base = ErrorBudgetSettings()
    per_slo_raw = mapping.get("per_slo", {})
    per_slo = {
        str(name): as_number(v, f"gates.error_budget.per_slo.{name}", low=0, high=1)
        for name, v in (per_slo_raw.items() if isinstance(per_slo_raw, Mapping) else ())
    }
    return ErrorBudgetSettings(
        slos=as_str_tuple(mapping.get("slos", ()), "gates.error_budget.slos"),
        min_remaining=as_number(
            mapping.get("min_remaining", base.min_remaining),
            "gates.error_budget.min_remaining",
            low=0,
            high=1,
        ),
        per_slo=per_slo,
        on_no_data=choice(
            mapping.get("on_no_data", base.on_no_data), ("neutral", "failure"), "on_no_data"
        ),
    )


class ErrorBudgetGate:
    name = NAME

    def evaluate(
        self, facts: ErrorBudgetFacts, settings: ErrorBudgetSettings, now: datetime
    ) -> GateResult:
        if facts.remaining is None:
            reason = facts.unavailable or "no SLO adapter is wired to read Prometheus yet"
            return GateResult(
                NAME, "neutral", "Error budget not checked",
                f"The error budget could not be read: {reason}. Nothing was checked, so "
                "this gate is `neutral`, not `success`.",
                details={"unavailable": reason},
            )  # fmt: skip
        names = settings.slos or tuple(sorted(facts.remaining))
        rows, states = [], []
        for name in names:
            threshold = settings.per_slo.get(name, settings.min_remaining)
            left = facts.remaining.get(name)
            state = _state(left, threshold, settings.on_no_data)
            states.append(state)
            shown = "no data" if left is None else f"{left:.1%}"
            rows.append([name, shown, f"{threshold:.1%}", state])
        conclusion = worst(states)
        table = markdown_table(["SLO", "budget left", "minimum", "result"], rows)
        failing = [r[0] for r, s in zip(rows, states, strict=True) if s != "success"]
        title = {
            "success": f"Error budget left on all {len(names)} SLO(s)",
            "failure": f"Error budget too low: {', '.join(failing)}",
            "neutral": f"No data for: {', '.join(failing)}",
        }.get(conclusion, conclusion)
        if not names:
            title = "No SLOs to check"
        return GateResult(
            NAME, conclusion, title, table or "No SLOs are configured for this gate.",
            details={"remaining": _json_safe(facts.remaining), "failing": failing},
        )  # fmt: skip


def _json_safe(remaining: Mapping[str, float | None]) -> dict[str, float | None]:
    """NaN is not JSON: the ledger records it as null (no data)."""
    return {k: (None if v is None or v != v else float(v)) for k, v in remaining.items()}


def _state(left: float | None, threshold: float, on_no_data: str) -> Conclusion:
    if left is None or left != left:  # None or NaN
        return "failure" if on_no_data == "failure" else "neutral"
    return "success" if left >= threshold else "failure"


def budget_left(error_ratio: float, objective: float) -> float:
    """The fraction of the error budget left when `error_ratio` (0..1) of requests failed
    over the SLO window against `objective` (percent): 1.0 untouched, 0 spent, negative
    overspent; NaN when the objective allows no errors and some happened."""
    budget = 1.0 - objective / 100.0
    if budget <= 0:
        return 1.0 if error_ratio <= 0 else float("nan")
    return 1.0 - error_ratio / budget


GATE = ErrorBudgetGate()
