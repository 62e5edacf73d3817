"""Every shipped gate and Kubernetes schema is a valid 2020-12 schema, closed, and described;
the gate schemas accept exactly what the gates' `settings_from_config` accepts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.core.gates import ci, error_budget, manifests, policy, security
from bot.errors import ConfigError
from scripts.k8s_schemas import all_schemas, render

ROOT = Path(__file__).resolve().parents[2] / "schemas"
GATE_SCHEMAS = sorted((ROOT / "gates").glob("*.schema.json"))
K8S_SCHEMAS = sorted((ROOT / "k8s").glob("*.json"))
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{where}/{i}")


def test_the_expected_schemas_exist() -> None:
    assert [p.name for p in GATE_SCHEMAS] == [
        "ci.schema.json", "error_budget.schema.json", "flags.schema.json",
        "manifests.schema.json", "migrations.schema.json", "policy.schema.json",
        "security.schema.json",
    ]  # fmt: skip
    assert [p.name for p in K8S_SCHEMAS] == [
        "cronjob.json", "daemonset.json", "deployment.json", "kustomization.json",
        "statefulset.json",
    ]  # fmt: skip


@pytest.mark.parametrize("path", GATE_SCHEMAS + K8S_SCHEMAS, ids=lambda p: p.name)
def test_valid_closed_and_described(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == DIALECT
    Draft202012Validator.check_schema(schema)
    assert schema.get("description") and schema["additionalProperties"] is False
    for where, node in subschemas(schema):
        if "properties" in node or "patternProperties" in node:
            assert node.get("additionalProperties") is False, f"{path.name} {where} is open"
        for group in ("properties", "patternProperties"):
            for name, prop in node.get(group, {}).items():
                if group == "properties" and where.endswith("/properties"):
                    continue  # a property literally named "properties"
                assert prop.get("description"), f"{path.name} {where}/{group}/{name}"


def test_k8s_schemas_match_their_source() -> None:
    for name, schema in all_schemas().items():
        assert (ROOT / "k8s" / name).read_text() == render(schema), (
            f"schemas/k8s/{name} is stale: run python -m scripts.k8s_schemas"
        )


EXAMPLES: dict[str, tuple[Callable[[Mapping[str, object]], object], dict[str, object]]] = {
    "ci": (ci.settings_from_config,
           {"required": ["build", "test (*)"], "allow_neutral": False, "timeout": "45m",
            "recheck": "1m"}),
    "security": (security.settings_from_config,
                 {"source": "sarif", "sarif_path": "out/codeql.sarif", "min_severity": "warning",
                  "min_security_severity": "medium", "when_unavailable": "failure"}),
    "manifests": (manifests.settings_from_config,
                  {"schemas": {"deploy/*/values.yaml": "schemas/values.json"},
                   "schema": "schemas/crd.json", "helm_values_schema": "schemas/helm.json",
                   "builtin": True, "patches": ["*-patch.yaml"], "require_bump": False}),
    "policy": (policy.settings_from_config,
               {"approvals": {"required": 1, "teams": ["release"], "codeowners": True,
                              "dismiss_stale": True},
                "emergency_approvals": {"required": 2, "teams": ["acme/sre"]},
                "bot_login": "my-train[bot]", "enforce_freeze": True, "enforce_cutover": False,
                "emergency_ignores_freeze": False, "emergency_ignores_cutover": True}),
    "error_budget": (error_budget.settings_from_config,
                     {"slos": ["availability"], "min_remaining": 0.25,
                      "per_slo": {"latency": 0.5}, "on_no_data": "failure"}),
}  # fmt: skip


@pytest.mark.parametrize("gate", sorted(EXAMPLES))
def test_schema_and_settings_accept_the_same_full_example(gate: str) -> None:
    parse, example = EXAMPLES[gate]
    schema = json.loads((ROOT / "gates" / f"{gate}.schema.json").read_text())
    assert set(example) == set(schema["properties"]), "the example uses every setting"
    Draft202012Validator(schema).validate(example)
    parse(example)


@pytest.mark.parametrize("gate", sorted(EXAMPLES))
def test_schema_and_settings_both_refuse_an_unknown_key(gate: str) -> None:
    parse, _ = EXAMPLES[gate]
    schema = json.loads((ROOT / "gates" / f"{gate}.schema.json").read_text())
    assert not Draft202012Validator(schema).is_valid({"no_such_setting": 1})
    with pytest.raises(ConfigError):
        parse({"no_such_setting": 1})


@pytest.mark.parametrize("gate", sorted(EXAMPLES))
def test_empty_settings_are_valid_defaults(gate: str) -> None:
    parse, _ = EXAMPLES[gate]
    schema = json.loads((ROOT / "gates" / f"{gate}.schema.json").read_text())
    Draft202012Validator(schema).validate({})
    parse({})
