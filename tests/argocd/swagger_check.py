"""Check sandbox answers against Argo CD's published description (the vendored subset).

Strict on purpose: every object definition is closed (`additionalProperties: false`), so
a field the sandbox invents, or misspells, fails here instead of passing silently (Argo
CD's own description leaves objects open). Formats (date-time) are checked too.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from bot.resources import schema_path

_URI = "urn:argocd-applications-subset"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        schema_path("argocd/applications.swagger.json").read_text(encoding="utf-8")
    )
    return loaded


def _closed(doc: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(doc)
    for definition in closed["definitions"].values():
        if "properties" in definition:
            definition.setdefault("additionalProperties", False)
    return closed


@cache
def _registry() -> Registry:
    resource: Resource[Any] = DRAFT4.create_resource(_closed(document()))
    return Registry().with_resource(_URI, resource)


def response_schema(path: str, status: int) -> dict[str, Any]:
    """The `$ref` of a documented GET response (`default` for an error status)."""
    responses = document()["paths"][path]["get"]["responses"]
    key = str(status) if str(status) in responses else "default"
    ref: str = responses[key]["schema"]["$ref"]
    return {"$ref": _URI + ref}


def check(path: str, status: int, body: Any) -> None:
    """Raise AssertionError naming the first mismatch of `body` with the description."""
    validator = Draft4Validator(
        response_schema(path, status), registry=_registry(), format_checker=FormatChecker()
    )
    error = best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise AssertionError(f"GET {path} {status}: at {where}: {error.message}")
