"""CODEOWNERS patterns are untrusted: matched in linear time, with GitHub's semantics.

The oracle below is the regex translation the matcher replaced (exponential on hostile
patterns, right on benign ones): hypothesis checks the two agree on benign patterns.
"""

from __future__ import annotations

import fnmatch
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.gates.codeowners import compile_pattern, parse_codeowners

EVIL = "*a*a*a*a*a*a*a*a*a*a*a*b"
BUDGET = 1.0  # seconds: a guard only; the match takes milliseconds


def _old_regex(pattern: str) -> re.Pattern[str]:
    body = pattern.replace("\\ ", " ")
    anchored = body.startswith("/")
    body = body.lstrip("/")
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = anchored or "/" in body
    if body in ("", "**"):
        return re.compile(r"^.+$")
    prefix = "^" if anchored else "^(?:.*/)?"
    if dir_only:
        suffix = "/.+$"
    elif body.endswith("/*"):
        suffix = "$"
    else:
        suffix = "(?:/.+)?$"
    out, i = [], 0
    while i < len(body):
        if body.startswith("**/", i) and (i == 0 or body[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("/.*")
            i += 3
        elif body[i] == "*":
            while i < len(body) and body[i] == "*":
                i += 1
            out.append("[^/]*")
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    return re.compile(prefix + "".join(out) + suffix)


def test_the_redos_pattern_completes_in_milliseconds() -> None:
    glob = compile_pattern(EVIL)
    started = time.perf_counter()
    results = [
        glob.match("a" * 5000),
        glob.match("src/" + "a" * 3000 + "/x.py"),
        glob.match("a" * 4000 + "b"),
    ]
    elapsed = time.perf_counter() - started
    assert results == [False, False, True]
    assert elapsed < BUDGET, f"{elapsed:.3f}s"


def test_a_hostile_codeowners_file_is_parsed_and_matched_quickly() -> None:
    text = "".join(f"{'*a' * (5 + n % 20)}*b @team{n}\n" for n in range(200))
    started = time.perf_counter()
    owners = parse_codeowners(text).owners_of("x/" + "a" * 2000)
    elapsed = time.perf_counter() - started
    assert owners == ()
    assert elapsed < 5 * BUDGET, f"{elapsed:.3f}s"


def test_fnmatch_used_for_config_globs_is_linear_too() -> None:
    """CI check names, manifest and service paths use `fnmatch.fnmatchcase`, whose
    translation (Python 3.11) uses atomic groups: no backtracking blow-up."""
    started = time.perf_counter()
    matched = fnmatch.fnmatchcase("a" * 20000, EVIL)
    elapsed = time.perf_counter() - started
    assert matched is False
    assert elapsed < BUDGET, f"{elapsed:.3f}s"


_SEGMENT = st.text(alphabet="ab.*?", min_size=1, max_size=4)
_PATTERNS = st.builds(
    lambda lead, parts, tail: lead + "/".join(parts) + tail,
    st.sampled_from(["", "/", "**/"]),
    st.lists(_SEGMENT, min_size=1, max_size=3),
    st.sampled_from(["", "/", "/**", "/*"]),
)
_PATHS = st.lists(st.text(alphabet="ab.", min_size=1, max_size=4), min_size=1, max_size=4).map(
    "/".join
)


@settings(max_examples=400, deadline=None)
@given(_PATTERNS, _PATHS)
def test_same_answers_as_the_regex_translation_on_benign_patterns(pattern: str, path: str) -> None:
    expected = _old_regex(pattern).match(path) is not None
    assert compile_pattern(pattern).match(path) is expected, (pattern, path)
