"""The OpenAPI subset and its checker: it accepts GitHub-shaped bodies and rejects others."""

from __future__ import annotations

import pytest
from openapi_check import SchemaMismatch, operations, validate_response

RATE = {"limit": 5000, "remaining": 4999, "reset": 1700000000, "used": 1}


def test_subset_holds_every_listed_operation() -> None:
    ops = operations()
    assert ("POST", "/repos/{owner}/{repo}/check-runs") in ops
    assert ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}") in ops
    assert len(ops) >= 90


def test_rate_limit_body_matches_and_a_wrong_one_does_not() -> None:
    good = {"resources": {"core": RATE, "search": RATE}, "rate": RATE}
    validate_response("GET", "/rate_limit", 200, good)
    with pytest.raises(SchemaMismatch, match="'rate' is a required property"):
        validate_response("GET", "/rate_limit", 200, {"resources": {"core": RATE, "search": RATE}})


def test_combined_status_without_repository_is_a_mismatch() -> None:
    body = {"state": "pending", "statuses": [], "sha": "a" * 40, "total_count": 0}
    with pytest.raises(SchemaMismatch, match="required property"):
        validate_response("GET", "/repos/{owner}/{repo}/commits/{ref}/status", 200, body)


def test_undocumented_status_is_a_mismatch() -> None:
    with pytest.raises(SchemaMismatch, match="not documented"):
        validate_response("GET", "/rate_limit", 418, {})


def test_unknown_operation_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        validate_response("GET", "/nowhere", 200, {})
