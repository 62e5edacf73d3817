"""A repository's JSON-schema regexes are untrusted (issue 27, item 4): `^(a|aa)+$` against
a long value backtracks exponentially in `re`; the manifests gate matches them under a
time budget and says so."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

from bot.core.gates.manifests import GATE, ManifestFacts, ManifestFile, ManifestSettings
from bot.core.gates.schema_patterns import PER_DOCUMENT, Budget

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
EVIL = "^(a|aa)+$"
VALUE = "a" * 64 + "!"  # `re` would take longer than the universe has left


def _gate(text: str, schema: dict[str, object]) -> tuple[object, float]:
    values = ManifestFile("charts/web/values.yaml", text, values_schema=json.dumps(schema))
    started = time.perf_counter()
    result = GATE.evaluate(ManifestFacts(files=(values,)), ManifestSettings(), NOW)
    return result, time.perf_counter() - started


def test_a_catastrophic_pattern_on_a_value_gives_up_quickly() -> None:
    schema = {"properties": {"tag": {"type": "string", "pattern": EVIL}}}
    result, elapsed = _gate(f"tag: {VALUE}\n", schema)
    assert result.conclusion == "failure"  # type: ignore[attr-defined]
    (note,) = result.annotations  # type: ignore[attr-defined]
    assert note.start_line == 1 and "too slow" in note.message
    assert elapsed < 5 * PER_DOCUMENT, f"{elapsed:.2f}s"


def test_many_catastrophic_keys_stop_at_the_documents_budget() -> None:
    schema = {"type": "object", "patternProperties": {EVIL: {"type": "string"}}}
    text = "".join(f"{'a' * 60}{i}!: x\n" for i in range(200))
    result, elapsed = _gate(text, schema)
    assert result.conclusion == "failure"  # type: ignore[attr-defined]
    messages = " ".join(a.message for a in result.annotations)  # type: ignore[attr-defined]
    assert "not validated further" in messages
    assert elapsed < 5 * PER_DOCUMENT, f"{elapsed:.2f}s"


def test_benign_patterns_answer_as_re_does() -> None:
    cases = [("^v[0-9]+$", "v12"), ("^v[0-9]+$", "x12"), ("a.c", "zabcz"), ("^$", ""), ("b+", "")]
    budget = Budget()
    assert [budget.search(p, t) for p, t in cases] == [
        re.search(p, t) is not None for p, t in cases
    ]
    assert budget.slow == []


def test_pattern_properties_and_unknown_keys_still_work() -> None:
    schema = {
        "type": "object",
        "properties": {"image": {"type": "string"}},
        "patternProperties": {"^x-": {"type": "string"}},
        "additionalProperties": False,
    }
    result, _ = _gate("image: a\nx-note: 3\nimagePullPolicey: Always\n", schema)
    messages = sorted(a.message for a in result.annotations)  # type: ignore[attr-defined]
    assert any("x-note" in m and "not of type 'string'" in m for m in messages), messages
    assert any("imagePullPolicey: unknown field" in m for m in messages), messages
