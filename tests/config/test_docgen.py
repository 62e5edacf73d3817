"""docs/configuration.md is generated from the schema, and the schema's defaults are the
model's defaults."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from bot.config import docgen, model
from bot.config.durations import parse_duration
from bot.config.schemas import load_schema


def test_checked_in_doc_equals_generated_output() -> None:
    assert docgen.DOC.read_text(encoding="utf-8") == docgen.render(), (
        "docs/configuration.md is stale: run python -m bot.config.docgen"
    )
    assert docgen.main(["--check"]) == 0


def test_doc_lists_every_schema_property() -> None:
    text = docgen.render()
    schema = load_schema("config.schema.json")
    for key in schema["properties"]:
        assert f"| `{key}`" in text
    for definition in schema["$defs"].values():
        for key in definition.get("properties", {}):
            assert f"| `{key}`" in text, key
    assert "## Example: `examples/multi-region.yml`" in text


def _props(*path: str) -> dict[str, Any]:
    node: dict[str, Any] = load_schema("config.schema.json")
    for part in path:
        node = node[part]
    return dict(node["properties"])


CASES = [
    (("$defs", "train"), model.Train),
    (("$defs", "train", "properties", "boarding"), model.BoardingRules),
    (("$defs", "service"), model.Service),
    (("$defs", "stage"), model.Stage),
    (("$defs", "slo"), model.SLO),
    (("$defs", "slo", "properties", "compare"), model.Comparison),
    (("$defs", "freeze"), model.Freeze),
]


@pytest.mark.parametrize(("path", "cls"), CASES, ids=[c.__name__ for _, c in CASES])
def test_schema_defaults_are_the_model_defaults(path: tuple[str, ...], cls: type) -> None:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    checked = 0
    for key, sub in _props(*path).items():
        if "default" not in sub:
            continue
        expected = fields[key].default
        value = sub["default"]
        if isinstance(expected, timedelta):
            value = parse_duration(value)
        assert value == expected, f"{cls.__name__}.{key}"
        checked += 1
    assert checked >= 1
