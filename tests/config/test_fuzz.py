"""Mangled configs never crash the loader: they come back as positioned problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.load import analyse, load_config_text, validate_text
from bot.config.model import Config
from bot.errors import ConfigError, Problem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "multi-region.yml").read_text(encoding="utf-8")
SMALL = (ROOT / "examples" / "single-service.yml").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 26, tzinfo=UTC)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "tag",
    "release_branch",
    "emergency_label",
    "base",
    "per_slo",
    "source",
    "compare",
    "version",
    "extends",
    "trains",
    "name",
    "cadence",
    "services",
    "stages",
    "slos",
    "waves",
    "manifests",
    "soak",
    "freezes",
    "from",
    "to",
    "yearly",
    "cutover",
    "windows",
    "days",
    "timezone",
    "gates",
    "ci",
    "policy",
    "approvals",
    "required",
    "error_ratio",
    "good",
    "total",
    "latency",
    "threshold",
    "burn_rates",
    "long",
    "short",
    "factor",
    "image",
    "paths",
    "label",
    "deadlines",
    "departed",
    "prometheus",
    "headers",
    "x",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "{sha}",
            "{",
            "sarif",
            "release/{train}",
            "1h",
            "0 8 * * 1",
            "mon",
            "09:00",
            "12-24",
            "2026-02-30",
            "../x",
            "/abs",
            "UTC",
            "Mars/Base",
            "builtin:strict",
            "a.yml",
            "sum(rate(x[5m])",
            "",
            "*",
        ]
    ),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=30,
)


def _read(path: str) -> str | None:
    return {"a.yml": "extends: a.yml\n", "p.yml": SMALL}.get(path)


def _check(source: str | bytes) -> list[Problem]:
    """`analyse` is what validate_text and load_config_text both run: it must not raise,
    every problem is positioned, and a config is built exactly when there is no error."""
    result = analyse(source, "fuzz.yml", read_file=_read, now=NOW)
    problems = list(result.problems)
    for problem in problems:
        assert isinstance(problem, Problem) and problem.message
        assert problem.line >= 1 and problem.col >= 1, problem
        assert problem.severity in ("error", "warning")
        assert "configuration could not be built" not in problem.message, problem
    has_errors = any(p.severity == "error" for p in problems)
    assert (result.config is None) == has_errors
    assert result.config is None or isinstance(result.config, Config)
    return problems


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=200))
def test_public_functions_raise_only_config_error(data: bytes) -> None:
    problems = validate_text(data, "fuzz.yml", read_file=_read, now=NOW)
    try:
        load_config_text(data, "fuzz.yml", read_file=_read)
    except ConfigError as exc:
        assert exc.problems == [p for p in problems if p.severity == "error"]
    else:
        assert not any(p.severity == "error" for p in problems)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.text(alphabet="ab:-[]{}&*!|>'\"#\t\n ,?%@`", max_size=120))
def test_random_yaml_punctuation(text: str) -> None:
    _check(text)


def _edit(text: str, kind: int, at: int, size: int, insert: str) -> str:
    at %= max(len(text), 1)
    lines = text.splitlines(keepends=True)
    line = at % max(len(lines), 1)
    if kind == 0:
        return text[:at] + text[at + size :]
    if kind == 1:
        return text[:at] + insert + text[at:]
    if kind == 2 and lines:
        return "".join([*lines[:line], lines[line], *lines[line:]])
    if kind == 3 and len(lines) > 1:
        other = (line + size) % len(lines)
        lines[line], lines[other] = lines[other], lines[line]
        return "".join(lines)
    if kind == 4 and lines:
        lines[line] = " " * size + lines[line]
        return "".join(lines)
    return text[:at] + insert + text[at + size :]


@FUZZ
@given(
    st.sampled_from([EXAMPLE, SMALL]),
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.integers(0, 10**6),
            st.integers(0, 12),
            st.text(alphabet="abc019:-_ *&[]{}'\"\t\n#/.", max_size=8),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_random_edits_of_a_valid_example(base: str, edits: list[tuple[int, int, int, str]]) -> None:
    text = base
    for kind, at, size, insert in edits:
        text = _edit(text, kind, at, size, insert)
    _check(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8))
def test_random_structures(data: dict[str, Any]) -> None:
    _check(json.dumps(data))


@cache
def _example_data() -> dict[str, Any]:
    from ruamel.yaml import YAML

    return dict(YAML(typ="safe").load(EXAMPLE))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["trains", "stages", "slos", "services", "freezes", "cutover", "gates"]), VALUES
)
def test_one_section_replaced_in_a_valid_example(section: str, value: Any) -> None:
    data = dict(_example_data())
    data[section] = value
    _check(json.dumps(data, default=str))
