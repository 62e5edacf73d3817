"""Check sandbox responses against GitHub's published OpenAPI description (a subset).

The subset (``tests/data/openapi/github-subset.json``) is made by
``scripts/extract_openapi.py`` from the npm package ``@octokit/openapi``. Schemas are
checked with ``openapi_schema_validator.OAS30Validator``; ``$ref``s to components are
resolved through a ``referencing`` registry holding the subset document.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SUBSET = Path(__file__).resolve().parents[1] / "data" / "openapi" / "github-subset.json"
_URI = "urn:github-rest-subset"


class SchemaMismatch(AssertionError):
    """A response body does not match the published schema."""


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SUBSET.read_text(encoding="utf-8"))
    return loaded


@cache
def _registry() -> Registry:
    resource: Resource[Any] = DRAFT4.create_resource(document())
    return Registry().with_resource(_URI, resource)


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, path template) in the subset."""
    return sorted(
        (method.upper(), path) for path, ops in document()["paths"].items() for method in ops
    )


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _response_pointer(method: str, path_template: str, status: int) -> str | None:
    """JSON pointer (in the subset) to the JSON schema of this response, None if bodiless."""
    paths = document()["paths"]
    operation = paths.get(path_template, {}).get(method.lower())
    if operation is None:
        raise KeyError(f"{method.upper()} {path_template} is not in the OpenAPI subset")
    responses = operation["responses"]
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        raise SchemaMismatch(
            f"{method.upper()} {path_template}: status {status} is not documented "
            f"(documented: {', '.join(sorted(responses))})"
        )
    response = responses[key]
    base = _pointer("paths", path_template, method.lower(), "responses", key)
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = document()["components"]["responses"][name]
        base = _pointer("components", "responses", name)
    content = response.get("content", {})
    for media in ("application/json", "application/scim+json"):
        if media in content and "schema" in content[media]:
            return f"{base}/{_pointer('content', media, 'schema')}"
    return None


@cache
def _validator(pointer: str) -> OAS30Validator:
    return OAS30Validator(
        {"$ref": f"{_URI}#/{pointer}"},
        registry=_registry(),
        format_checker=oas30_format_checker,
    )


def validate_response(method: str, path_template: str, status: int, body: Any) -> None:
    """Raise SchemaMismatch unless `body` matches the documented response schema."""
    pointer = _response_pointer(method, path_template, status)
    if pointer is None:
        # GitHub sends a JSON error body even where the description documents none.
        if body not in (None, b"", "") and status < 400:
            raise SchemaMismatch(f"{method.upper()} {path_template} {status}: expected no body")
        return
    errors = list(_validator(pointer).iter_errors(body))
    if errors:
        raise SchemaMismatch(
            f"{method.upper()} {path_template} {status}: "
            + "; ".join(_describe(e) for e in errors[:3])
            + f" ({len(errors)} error(s))"
        )


def webhooks() -> list[str]:
    """Names of the webhook payload schemas in the subset (``pull-request-opened``...)."""
    return sorted(document().get("x-webhooks", {}))


def webhook_name(event: str, action: str | None) -> str:
    """``("pull_request_review", "submitted")`` -> ``"pull-request-review-submitted"``."""
    return "-".join(p.replace("_", "-") for p in (event, action) if p)


def validate_webhook(event: str, action: str | None, payload: Any) -> None:
    """Raise SchemaMismatch unless a webhook payload matches GitHub's published schema."""
    name = webhook_name(event, action)
    if name not in document().get("x-webhooks", {}):
        raise KeyError(f"webhook {name} is not in the OpenAPI subset")
    pointer = _pointer("x-webhooks", name, "post", "requestBody", "content", "application/json")
    errors = list(_validator(f"{pointer}/schema").iter_errors(payload))
    if errors:
        raise SchemaMismatch(
            f"webhook {name}: "
            + "; ".join(_describe(e) for e in errors[:3])
            + f" ({len(errors)} error(s))"
        )


def _describe(error: ValidationError) -> str:
    """Where and what, descending into anyOf/oneOf branches for the deepest reasons."""
    leaves = [error]
    while leaves and all(leaf.context for leaf in leaves):
        leaves = [c for leaf in leaves for c in leaf.context or []]
    worst = best_match(leaves) if leaves else error
    assert isinstance(worst, ValidationError)
    where = "/".join(str(p) for p in worst.absolute_path) or "<root>"
    reasons = sorted({f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:120]}"
                      for e in leaves})[:4]  # fmt: skip
    return f"at {where}: " + " | ".join(reasons)
