"""Checks on each stage's `argocd:` section beyond the schema (pure, with positions).

Where it points (`source` or `server`, not both, and what the operator's policy allows)
is `bot.config.outbound_checks`'s; this module checks the rest: that a server is named at
all, that the Applications are chosen one way (`applications` or `selector`), that the
selector parses and that `health_timeout` is a duration.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.config.durations import PATTERN, parse_duration
from bot.config.schemas import path_text

if TYPE_CHECKING:
    from bot.config.checks import Checker


def check_argocd(checker: Checker) -> None:
    for path, stage in checker.items("stages"):
        section = stage.get("argocd")
        if isinstance(section, dict):
            _check_section(checker, (*path, "argocd"), section)


def _check_section(checker: Checker, at: tuple[str | int, ...], section: dict[str, Any]) -> None:
    name = path_text(at)
    if not section.get("source") and not section.get("server"):
        checker.error(at, f"{name}: set `source` (an Argo CD the operator defined) or `server`",
                      value=False)  # fmt: skip
    names, selector = section.get("applications"), section.get("selector")
    if names and selector:
        checker.error((*at, "selector"), f"{name}: set `applications` or `selector`, not both",
                      value=False)  # fmt: skip
    elif not names and not selector:
        checker.error(at, f"{name}: name the Applications (`applications`) or a `selector`",
                      value=False)  # fmt: skip
    if isinstance(selector, str) and selector:
        try:
            parse_selector(selector)
        except ValueError as exc:
            checker.error((*at, "selector"), f"{name}.selector: {exc}")
    timeout = section.get("health_timeout")
    if isinstance(timeout, str) and len(timeout) >= 2 and re.match(PATTERN, timeout):
        try:
            if not parse_duration(timeout):
                checker.error((*at, "health_timeout"), f"{name}.health_timeout: must be above 0s")
        except ValueError as exc:  # the schema's pattern passed: e.g. longer than ten years
            checker.error((*at, "health_timeout"), f"{name}.health_timeout: {exc}")


# -- Kubernetes label selectors (what Argo CD's `selector` parameter takes) --------------

_KEY = r"(?:[a-z0-9A-Z.-]+/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?"
_TERM = re.compile(
    rf"^\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})|(?P<key>{_KEY})\s*"
    rf"(?:(?P<op>==|!=|=)\s*(?P<value>{_VALUE})|\s+(?P<set>in|notin)\s*\((?P<values>[^()]*)\))?)\s*$"
)

Requirement = tuple[str, str, tuple[str, ...]]  # (key, op, values); op: = != in notin exists !


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """A Kubernetes label selector (equality- and set-based) as requirements; ValueError
    naming the bad term."""
    out: list[Requirement] = []
    for term in _split_terms(text):
        found = _TERM.match(term)
        if found is None:
            raise ValueError(f"label selector term {term.strip()!r} is not valid")
        if found["nkey"]:
            out.append((found["nkey"], "!", ()))
        elif found["op"]:
            out.append((found["key"], "!=" if found["op"] == "!=" else "=", (found["value"],)))
        elif found["set"]:
            values = tuple(v.strip() for v in found["values"].split(",") if v.strip())
            out.append((found["key"], found["set"], values))
        else:
            out.append((found["key"], "exists", ()))
    if not out:
        raise ValueError("the label selector is empty")
    return tuple(out)


def _split_terms(text: str) -> list[str]:
    """Terms split at commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [*terms, current]
