"""The JSON Schemas of the configuration language, and schema errors as positioned problems.

`schemas/config.schema.json` is the source; `schemas/policy.schema.json` is derived from it
(`derive_policy_schema`: the same shape with nothing required at the top) and checked in.
Regenerate it with `python -m bot.config.schemas`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from bot.errors import Problem

Path_ = tuple[str | int, ...]
# Given a path and whether the value (not the key) is meant: (file, line, col).
Locate = Callable[[Path_, bool], tuple[str, int, int]]

POLICY_ID = "https://release-train.dev/schemas/policy.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The shipped schema `schemas/<name>` as a dict (cached; do not mutate)."""
    from bot.resources import schema_path

    with schema_path(name).open(encoding="utf-8") as handle:
        return dict(json.load(handle))


GATES = ("ci", "security", "manifests", "policy", "error_budget", "flags", "migrations")
GATE_PREFIX = "gate_"


def gate_schemas() -> dict[str, dict[str, Any]]:
    """The per-gate schemas the gates ship in `schemas/gates/<gate>.schema.json`, if present."""
    from bot.resources import schema_path

    out = {}
    for name in GATES:
        path = schema_path(f"gates/{name}.schema.json")
        if path.is_file():
            out[name] = dict(json.loads(path.read_text(encoding="utf-8")))
    return out


def inline_gate_schemas(
    config_schema: dict[str, Any], gates: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """`config_schema` with each gate's settings schema copied into `$defs/gate_<name>` (and
    its own `$defs` as `gate_<name>_<def>`), so the config schema stays self-contained for
    editors while the gates' files remain the source of truth."""
    out = json.loads(json.dumps(config_schema))
    defs = {k: v for k, v in out["$defs"].items() if not k.startswith(GATE_PREFIX)}
    gate_props = out["properties"]["gates"]["properties"]
    for name, schema in gates.items():
        prefix = f"{GATE_PREFIX}{name}"
        body = json.loads(json.dumps(schema))
        own_defs = body.pop("$defs", {})
        for key in ("$schema", "$id", "title"):
            body.pop(key, None)
        body["$comment"] = f"Copied from schemas/gates/{name}.schema.json by bot.config.schemas."
        defs[prefix] = _rewrite_refs(body, prefix)
        for key, sub in own_defs.items():
            defs[f"{prefix}_{key}"] = _rewrite_refs(sub, prefix)
        gate_props[name] = {
            "description": body.get("description", ""),
            "$ref": f"#/$defs/{prefix}",
        }
    out["$defs"] = defs
    return dict(out)


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, prefix) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/$defs/{prefix}_{ref.removeprefix('#/$defs/')}"
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix) for v in node]
    return node


def derive_policy_schema(config_schema: dict[str, Any]) -> dict[str, Any]:
    """A policy file has the config's shape with nothing required at the top level."""
    policy = json.loads(json.dumps(config_schema))
    policy.pop("required", None)
    policy["$id"] = POLICY_ID
    policy["title"] = "Release Train policy"
    policy["description"] = (
        "A shared policy file (policies/*.yml or a file named by extends:): the shape of "
        ".github/release-train.yml with nothing required; merged under the repository's file."
    )
    return dict(policy)


def path_text(path: Iterable[str | int]) -> str:
    """`trains[0].cadence` for ('trains', 0, 'cadence'); `(top level)` for ()."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def schema_problems(data: Any, schema_name: str, locate: Locate) -> list[Problem]:
    """Validate `data` against `schemas/<schema_name>`; every error as a positioned problem."""
    problems: list[Problem] = []
    for error in _validator(schema_name).iter_errors(data):
        problems.extend(_error_problems(error, locate))
    return problems


def _problem(locate: Locate, path: Path_, message: str, *, value: bool) -> Problem:
    file, line, col = locate(path, value)
    return Problem(message, file=file, line=line, col=col)


def _error_problems(error: Any, locate: Locate) -> list[Problem]:
    path: Path_ = tuple(error.absolute_path)
    where = path_text(path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(error, path, locate)
    prefix = f"{where}: " if path else ""
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [_problem(locate, path, f"{prefix}missing required key '{missing}'", value=False)]
    return [_problem(locate, path, f"{prefix}{_describe(error)}", value=True)]


_OPERATOR_CREDENTIALS = (
    "was removed: a repository's configuration may not name environment variables; the "
    "operator supplies credentials (PROMETHEUS_TOKEN, or PROMETHEUS_USERNAME and "
    "PROMETHEUS_PASSWORD, for PROMETHEUS_URL; or a source in the operator's sources file, "
    "RELEASE_TRAIN_SOURCES, named here by `prometheus.source`); see docs/threat-model.md"
)
# Keys that existed once, with what replaced them: (parent path, key) -> message.
REMOVED_KEYS: dict[tuple[Path_, str], str] = {
    (("prometheus",), "token_env"): _OPERATOR_CREDENTIALS,
    (("prometheus",), "username_env"): _OPERATOR_CREDENTIALS,
    (("prometheus",), "password_env"): _OPERATOR_CREDENTIALS,
}


def _unknown_keys(error: Any, path: Path_, locate: Locate) -> list[Problem]:
    known = list(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    import re

    out = []
    for key in error.instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        removed = REMOVED_KEYS.get((path, key))
        if removed:
            out.append(_problem(locate, (*path, key), f"{path_text((*path, key))} {removed}",
                                value=False))  # fmt: skip
            continue
        hint = difflib.get_close_matches(str(key), known, n=1)
        if hint:
            advice = f"; did you mean '{hint[0]}'?"
        elif known:
            advice = f"; expected one of: {', '.join(known)}"
        elif any("\\d+w" in p for p in patterns):  # keyed by duration (an SLO's rules)
            advice = "; keys are durations such as 5m or 1h"
        else:
            advice = "; header names are letters, digits and '-'"
        place = path_text(path)
        message = f"unknown key '{key}'" + (f" in {place}" if path else "") + advice
        out.append(_problem(locate, (*path, key), message, value=False))
    return out


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
}


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _describe(error: Any) -> str:
    kind, schema, instance = error.validator, error.schema, error.instance
    if kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        return f"expected {wanted}, got {_kind_of(instance)} ({_short(instance)})"
    if kind == "pattern":
        return f"{_short(instance)} is not valid: {schema.get('description', 'bad format')}"
    if kind == "enum":
        allowed = [str(v) for v in error.validator_value]
        hint = difflib.get_close_matches(str(instance), allowed, n=1)
        advice = f"; did you mean '{hint[0]}'?" if hint and isinstance(instance, str) else ""
        return f"{_short(instance)} is not one of: {', '.join(allowed)}{advice}"
    if kind == "const":
        return f"must be {error.validator_value!r}, not {_short(instance)}"
    if kind == "minItems":
        return f"needs at least {error.validator_value} item(s)"
    if kind == "minLength":
        return "must not be empty" if error.validator_value == 1 else error.message
    if kind == "uniqueItems":
        return f"has duplicate items: {_short(instance)}"
    return str(error.message)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def main() -> None:
    """Copy the gates' schemas into schemas/config.schema.json, then derive
    schemas/policy.schema.json from it."""
    from bot.resources import schema_path

    config = inline_gate_schemas(load_schema("config.schema.json"), gate_schemas())
    for name, schema in (("config", config), ("policy", derive_policy_schema(config))):
        text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        schema_path(f"{name}.schema.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
