"""JSON-schema regexes from the repository, matched under a time budget.

A manifest schema (`values.schema.json` beside a chart, or one the config names) is a file
in the repository, and the train PR's head carries what its boarded PRs changed: its
`pattern` and `patternProperties` are untrusted. Python's `re` backtracks exponentially on
`^(a|aa)+$` against a long value, holding the interpreter lock; here every such match runs
in the `regex` module with a timeout, each at most `PER_MATCH` seconds and all of one
document's at most `PER_DOCUMENT`. A match that runs out of time counts as not matching
and is reported; a spent budget stops that document's validation with a problem.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

PER_MATCH = 0.05  # seconds one pattern may take on one value
PER_DOCUMENT = 1.0  # seconds all the patterns of one document may take together


class PatternBudgetSpent(Exception):
    """The document's pattern budget is spent (caught by the manifests gate)."""


@dataclass
class Budget:
    left: float = PER_DOCUMENT
    slow: list[str] = field(default_factory=list)  # patterns that ran out of time

    def search(self, pattern: str, text: str) -> bool:
        """`re.search(pattern, text)` within the budget; a timeout is "no match"."""
        if self.left <= 0:
            raise PatternBudgetSpent(f"schema patterns took more than {PER_DOCUMENT:g} s")
        started = time.perf_counter()
        try:
            return _compiled(pattern).search(text, timeout=min(PER_MATCH, self.left)) is not None
        except TimeoutError:
            self.slow.append(pattern)
            return False
        finally:
            self.left -= time.perf_counter() - started


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


_CURRENT: ContextVar[Budget] = ContextVar("schema_pattern_budget")


def bounded_validator(cls: Any, budget: Budget) -> Any:
    """`cls` (a jsonschema validator class) with its regex keywords run by `budget` (the
    extended class is made once per `cls`; the budget is this context's)."""
    _CURRENT.set(budget)
    return _extended(cls)


@lru_cache(maxsize=16)
def _extended(cls: Any) -> Any:
    from jsonschema.validators import extend

    return extend(
        cls,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


def _pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    budget = _CURRENT.get()
    if validator.is_type(instance, "string") and not budget.search(patrn, instance):
        slow = " (gave up: the pattern is too slow on it)" if patrn in budget.slow else ""
        yield ValidationError(f"{instance!r} does not match {patrn!r}{slow}")


def _pattern_properties(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    budget = _CURRENT.get()
    for patrn, subschema in value.items():
        for key, item in instance.items():
            if budget.search(patrn, key):
                yield from validator.descend(item, subschema, path=key, schema_path=patrn)


def extra_keys(instance: Mapping[str, Any], schema: Mapping[str, Any], budget: Budget) -> list[str]:
    """Keys of `instance` neither in `properties` nor matched by `patternProperties`."""
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in known and not any(budget.search(p, key) for p in patterns)
    ]


def _extras_message(extras: list[str], schema: Mapping[str, Any]) -> str:
    from jsonschema._utils import extras_msg

    if "patternProperties" in schema:
        verb = "does" if len(extras) == 1 else "do"
        joined = ", ".join(repr(each) for each in sorted(extras))
        patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
        return f"{joined} {verb} not match any of the regexes: {patterns}"
    names, verb = extras_msg(sorted(extras, key=str))
    return f"Additional properties are not allowed ({names} {verb} unexpected)"


def _additional_properties(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = extra_keys(instance, schema, _CURRENT.get())
    if validator.is_type(value, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], value, path=extra)
    elif not value and extras:  # jsonschema's own messages
        yield ValidationError(_extras_message(extras, schema))
