"""The gates the bot ships, in the order they are shown, and how to run them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config.model import Gates
from bot.core.gates import ci, error_budget, manifests, policy, security
from bot.core.gates.base import Gate, GateResult


@dataclass(frozen=True)
class GateSpec:
    name: str  # the check run is release-train/<name>
    config_key: str  # key under `gates:` in the config
    gate: Gate
    settings: Callable[[Mapping[str, object], Gates], Any]  # raises ConfigError


GATES: tuple[GateSpec, ...] = (
    GateSpec("ci", "ci", ci.GATE, lambda m, g: ci.settings_from_config(m)),
    GateSpec("security", "security", security.GATE, lambda m, g: security.settings_from_config(m)),
    GateSpec(
        "manifests", "manifests", manifests.GATE, lambda m, g: manifests.settings_from_config(m)
    ),
    GateSpec("policy", "policy", policy.GATE, policy.settings_from_config),
    GateSpec(
        error_budget.NAME,
        error_budget.CONFIG_KEY,
        error_budget.GATE,
        lambda m, g: error_budget.settings_from_config(m),
    ),
)


def gate_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in GATES)


def gate_settings(gates: Gates) -> dict[str, Any]:
    """Every gate's settings from the typed config (`{gate name: settings}`)."""
    return {spec.name: spec.settings(getattr(gates, spec.config_key), gates) for spec in GATES}


def evaluate_all(
    facts: Mapping[str, Any], settings: Mapping[str, Any], now: datetime
) -> list[GateResult]:
    """Run every gate. A gate whose facts are missing waits (`in_progress`): it never passes
    unevaluated."""
    results = []
    for spec in GATES:
        if spec.name not in facts:
            results.append(
                GateResult(
                    spec.name,
                    "in_progress",
                    "Waiting for facts",
                    f"The `{spec.name}` gate has not been given its facts yet; it will be "
                    "evaluated on the next pass.",
                )
            )
            continue
        results.append(spec.gate.evaluate(facts[spec.name], settings[spec.name], now))
    return results
