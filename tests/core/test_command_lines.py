"""Commands as GitHub renders a comment (issue 27, item 6): only visible top-level
paragraph lines count."""

from __future__ import annotations

import pytest

from bot.core.chatops import IGNORED, MAX_PER_COMMENT, _capped, parse_commands
from bot.core.command_lines import MAX_BODY, command_lines


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/train hold flaky canary", ["/train hold flaky canary"]),
        ("LGTM\n/train depart\nthanks", ["/train depart"]),
        ("   /train status", ["/train status"]),
        ("/train hold `ci` is red", ["/train hold `ci` is red"]),
        ("<!-- /train abort -->", []),
        ("<!--\n\n/train abort\n\n-->", []),
        ("text <!-- hidden\n/train abort\n--> more", []),
        ("/train hold <!-- and secretly more -->", []),
        ("<details>\n<summary>x</summary>\n\n/train abort\n\n</details>", []),
        ("<DETAILS open>\n\n/train abort\n\n</DETAILS>\n\n/train status", ["/train status"]),
        ("| a |\n|---|\n| /train abort |", []),
        ("> /train abort", []),
        ("- /train abort", []),
        ("1. /train abort", []),
        ("# /train abort", []),
        ("/train abort\n---", []),  # a setext heading
        ("*/train abort*", []),
        ("~~/train abort~~", []),
        ("[/train abort](https://example.invalid)", []),
        ("```\n/train abort\n```", []),
        ("    /train abort", []),
        ("`/train abort`", []),
    ],
)
def test_only_visible_top_level_paragraph_lines_count(body: str, expected: list[str]) -> None:
    assert command_lines(body) == expected


def test_past_githubs_comment_limit_nothing_is_read() -> None:
    body = "x" * MAX_BODY + "\n\n/train abort"
    assert command_lines(body) == []


def test_a_comment_runs_at_most_a_few_commands_and_says_how_many_it_ignored() -> None:
    commands = _capped(parse_commands("\n".join(["/train status"] * 40)))
    assert [c.name for c in commands] == ["status"] * MAX_PER_COMMENT + [IGNORED]
    assert commands[-1].arg == str(40 - MAX_PER_COMMENT)
