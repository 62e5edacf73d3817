"""The gates the bot ships, in the order they are shown, and how to run them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config.model import Gates
from bot.core.gates import ci, error_budget, flags, manifests, migrations, policy, security
from bot.core.gates.base import Gate, GateResult
from bot.errors import ConfigError


@dataclass(frozen=True)
class GateSpec:
    name: str  # the check run is release-train/<name>
    config_key: str  # key under `gates:` in the config
    gate: Gate
    settings: Callable[[Mapping[str, object], Gates], Any]  # raises ConfigError
    optional: bool = False  # run only when `gates.<config_key>` is configured (non-empty)


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
    GateSpec("flags", "flags", flags.GATE, lambda m, g: flags.settings_from_config(m), True),
    GateSpec(
        "migrations",
        "migrations",
        migrations.GATE,
        lambda m, g: migrations.settings_from_config(m),
        True,
    ),
)


def gate_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in GATES)


def configured(spec: GateSpec, gates: Gates) -> bool:
    """Whether a gate runs: always, or for an optional gate when its settings are given."""
    return not spec.optional or bool(getattr(gates, spec.config_key))


def gate_settings(gates: Gates) -> dict[str, Any]:
    """Every running gate's settings from the typed config (`{gate name: settings}`)."""
    return {
        spec.name: spec.settings(getattr(gates, spec.config_key), gates)
        for spec in GATES
        if configured(spec, gates)
    }


def load_settings(gates: Gates) -> tuple[dict[str, Any], dict[str, GateResult]]:
    """Settings per gate, and for each gate whose settings are invalid a failure result that
    shows the problem on its check run (the rest of the gates still run)."""
    settings: dict[str, Any] = {}
    failed: dict[str, GateResult] = {}
    for spec in GATES:
        if not configured(spec, gates):
            continue  # not configured: no settings, so `evaluate_all` does not run it
        try:
            settings[spec.name] = spec.settings(getattr(gates, spec.config_key), gates)
        except ConfigError as exc:
            failed[spec.name] = config_error_result(spec.name, spec.config_key, exc)
    return settings, failed


def config_error_result(gate: str, config_key: str, error: ConfigError) -> GateResult:
    lines = "\n".join(f"- {p.render()}" for p in error.problems)
    return GateResult(
        gate,
        "failure",
        "Gate configuration invalid",
        f"The settings under `gates.{config_key}` are invalid, so this gate cannot decide:"
        f"\n\n{lines}\n\nRun `release-train validate` for every problem with its position.",
        details={"config_error": [p.render() for p in error.problems]},
    )


def evaluate_all(
    facts: Mapping[str, Any],
    settings: Mapping[str, Any],
    now: datetime,
    failed: Mapping[str, GateResult] | None = None,
) -> list[GateResult]:
    """Run every gate. A gate whose facts are missing waits (`in_progress`): it never passes
    unevaluated; a gate in `failed` (see `load_settings`) reports that result. An optional
    gate with neither settings nor a failure is not configured and not run."""
    results = []
    for spec in GATES:
        if failed and spec.name in failed:
            results.append(failed[spec.name])
            continue
        if spec.optional and spec.name not in settings:
            continue
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
