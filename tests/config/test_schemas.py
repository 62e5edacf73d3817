"""The schemas are valid 2020-12 schemas, fully described and closed, and every shipped
example and policy file validates against them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.config.schemas import (
    derive_policy_schema,
    gate_schemas,
    inline_gate_schemas,
    load_schema,
)
from bot.config.yaml_source import read_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
POLICIES = sorted((ROOT / "policies").glob("*.yml"))
SCHEMAS = ["config.schema.json", "policy.schema.json"]


def _objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sub-schema that describes an object (has properties or patternProperties)."""
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node or "patternProperties" in node:
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{where}/{index}")


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_object_is_closed_and_every_property_described(name: str) -> None:
    objects = list(_objects(load_schema(name)))
    assert len(objects) > 20
    for where, node in objects:
        assert node.get("additionalProperties") is False, f"{where}: additionalProperties"
        props = {**node.get("properties", {}), **node.get("patternProperties", {})}
        for key, sub in props.items():
            assert isinstance(sub, dict) and sub.get("description"), f"{where}/{key}: description"


def test_every_definition_is_described() -> None:
    for key, sub in load_schema("config.schema.json")["$defs"].items():
        assert sub.get("description"), key


def test_gate_settings_are_the_gates_own_schemas() -> None:
    """The gates own schemas/gates/*.schema.json; config.schema.json carries copies so editors
    need no second file. Run `python -m bot.config.schemas` after a gate schema changes."""
    gates = gate_schemas()
    config = load_schema("config.schema.json")
    assert config == inline_gate_schemas(config, gates), "run python -m bot.config.schemas"
    assert set(gates) == set(config["properties"]["gates"]["properties"]) - {"allow_neutral"}


def test_policy_schema_is_derived_from_config_schema() -> None:
    checked_in = json.loads((ROOT / "schemas" / "policy.schema.json").read_text("utf-8"))
    assert checked_in == derive_policy_schema(load_schema("config.schema.json"))
    assert "required" not in checked_in


def _data(path: Path) -> Any:
    doc, problems = read_yaml(path.read_bytes(), path.name)
    assert not problems, problems
    assert doc is not None
    return doc.data


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_validates_against_both_schemas(path: Path) -> None:
    for name in SCHEMAS:
        errors = list(Draft202012Validator(load_schema(name)).iter_errors(_data(path)))
        assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_policy_file_validates_against_policy_schema(path: Path) -> None:
    validator = Draft202012Validator(load_schema("policy.schema.json"))
    errors = list(validator.iter_errors(_data(path)))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_policy_file_is_not_a_whole_config(path: Path) -> None:
    """Policies hold no trains: they are merged under a repository's file, never alone."""
    assert "trains" not in _data(path)
    assert "version" not in _data(path)


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"single-service.yml", "multi-region.yml"} <= names


def _repo_configs() -> list[Path]:
    """Every `.github/release-train.yml` fixture the repository ships (demo repos, etc.)."""
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "--", "*/.github/release-train.yml", ".github/release-train.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return [ROOT / p for p in listed if not p.startswith("tests/config/broken/")]


def test_every_shipped_repository_config_is_valid() -> None:
    from datetime import UTC, datetime

    from bot.config.load import repo_reader, validate_text

    for path in _repo_configs():
        root = path.parent.parent
        problems = validate_text(
            path.read_bytes(),
            str(path),
            read_file=repo_reader(root),
            now=datetime(2026, 11, 26, tzinfo=UTC),
        )
        assert [p for p in problems if p.severity == "error"] == [], path
