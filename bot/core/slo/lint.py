"""Offline checks of SLO PromQL, for `release-train validate` (before Prometheus sees it).

Not a full PromQL parser: it catches what breaks most templates — unbalanced brackets,
unterminated strings, bad range durations, malformed label matchers, unknown placeholders
and misspelt function names — and says where (a 1-based column in the template).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config.model import SLO
from bot.core.slo.promql import placeholders


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTIONS = _words(
    """abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil
    changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week
    day_of_year days_in_month deg delta deriv exp floor histogram_count histogram_fraction
    histogram_quantile histogram_sum holt_winters hour idelta increase irate label_join
    label_replace last_over_time ln log10 log2 max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin
    sinh sort sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time
    timestamp vector year"""
)
AGGREGATIONS = _words(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile"
)
KEYWORDS = _words("by without on ignoring group_left group_right bool and or unless offset atan2")
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\s*{_DURATION}\s*(?::\s*(?:{_DURATION})?\s*)?")
_MATCHER = re.compile(
    r"\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*"
)
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_:]*)\s*\(")
_CLOSE = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class PromQLProblem:
    message: str
    col: int  # 1-based, in the template


def _string_end(text: str, i: int) -> int:
    """Index just past the string starting at `i`, or -1 if it never ends."""
    quote, j = text[i], i + 1
    while j < len(text):
        if text[j] == "\\" and quote != "`":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return -1


def _split_outside_strings(text: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] in "\"'`":
            end = _string_end(text, i)
            i = end if end > 0 else len(text)
            continue
        if text[i] == ",":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _check_group(opener: str, body: str, col: int) -> list[PromQLProblem]:
    if opener == "[" and not _RANGE.fullmatch(body):
        if placeholders(f"[{body}]") or "{window}" in body:
            return []
        return [PromQLProblem(f"bad range or subquery [{body}]", col)]
    if opener == "{":
        if re.fullmatch(r"(stage|service|window)", body):
            return []
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", body):
            return [PromQLProblem(f"unknown placeholder {{{body}}}", col)]
        matchers = _split_outside_strings(body)
        if matchers and not matchers[-1].strip():
            matchers.pop()  # a trailing comma is allowed
        for matcher in matchers:
            if not _MATCHER.fullmatch(matcher):
                return [PromQLProblem(f"bad label matcher {matcher.strip()!r}", col)]
    return []


def _scan(text: str) -> list[PromQLProblem]:
    """Brackets, strings and the contents of [] and {} groups."""
    problems: list[PromQLProblem] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'`":
            end = _string_end(text, i)
            if end < 0:
                return [*problems, PromQLProblem("unterminated string", i + 1)]
            i = end
            continue
        if ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if ch in "([{":
            stack.append((ch, i))
        elif ch in ")]}":
            if not stack or stack[-1][0] != _CLOSE[ch]:
                return [*problems, PromQLProblem(f"unexpected {ch!r}", i + 1)]
            opener, start = stack.pop()
            problems += _check_group(opener, text[start + 1 : i], start + 1)
        i += 1
    problems += [PromQLProblem(f"unclosed {ch!r}", pos + 1) for ch, pos in stack]
    return problems


def _blank_strings_and_comments(text: str) -> str:
    """`text` with strings and comments blanked (same length), for scanning words."""
    out, i = list(text), 0
    while i < len(text):
        if text[i] in "\"'`#":
            end = _string_end(text, i) if text[i] != "#" else text.find("\n", i)
            end = end if end > 0 else len(text)
            out[i:end] = " " * (end - i)
            i = end
            continue
        i += 1
    return "".join(out)


def promql_problems(template: str) -> list[PromQLProblem]:
    """Syntax problems in a PromQL template (placeholders allowed); empty when it looks fine."""
    if not template.strip():
        return [PromQLProblem("empty query", 1)]
    problems = _scan(template)
    for match in _CALL.finditer(_blank_strings_and_comments(template)):
        name = match.group(1)
        if name not in FUNCTIONS | AGGREGATIONS | KEYWORDS:
            problems.append(PromQLProblem(f"unknown function {name}()", match.start() + 1))
    return sorted(problems, key=lambda p: p.col)


def slo_problems(slo: SLO) -> list[tuple[str, PromQLProblem]]:
    """(field, problem) for every PromQL field of an SLO, plus burn-rate sanity."""
    fields = {
        "error_ratio": slo.error_ratio,
        "good": slo.good,
        "total": slo.total,
        "latency": slo.latency,
        "requests": slo.requests,
    }
    if slo.compare is not None:
        fields |= {"compare.canary": slo.compare.canary, "compare.baseline": slo.compare.baseline}
    found = [(name, p) for name, text in fields.items() if text for p in promql_problems(text)]
    for name in ("error_ratio", "good", "total", "latency"):
        text = fields[name]
        if text and "window" not in placeholders(text):
            found.append(
                (
                    name,
                    PromQLProblem(
                        "does not use {window}: every burn-rate window would ask the same thing", 1
                    ),
                )
            )
    return found
