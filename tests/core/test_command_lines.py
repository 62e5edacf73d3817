"""Commands as GitHub renders a comment (issue 27, item 6): only visible top-level
paragraph lines count."""

from __future__ import annotations

import pytest

from bot.core.chatops import IGNORED, MAX_PER_COMMENT, comment_commands
from bot.core.command_lines import MAX_BODY, MAX_PARAGRAPH, Scan, command_lines, scan


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/train hold flaky canary", ["/train hold flaky canary"]),
        ("/trainee\n/train status", ["/train status"]),
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
    assert list(command_lines(body)) == expected


def test_past_githubs_comment_limit_nothing_is_read() -> None:
    body = "x" * MAX_BODY + "\n\n/train abort"
    assert command_lines(body) == ()


def test_a_comment_runs_at_most_a_few_commands_and_says_how_many_it_ignored() -> None:
    commands = comment_commands("\n\n".join(["/train status"] * 40))
    assert [c.name for c in commands] == ["status"] * MAX_PER_COMMENT + [IGNORED]
    assert commands[-1].arg == str(40 - MAX_PER_COMMENT)


def test_an_over_long_paragraph_holds_no_command_but_is_counted() -> None:
    body = "\n".join(["/train hold"] * 5000)
    assert len(body) > MAX_PARAGRAPH
    assert scan(body, MAX_PER_COMMENT) == scan(body, MAX_PER_COMMENT)  # cached, same answer
    assert command_lines(body) == ()
    (ignored,) = comment_commands(body)
    assert (ignored.name, ignored.arg) == (IGNORED, "5000")


_HOSTILE_COMMANDS = ("/train x " + "![" * 900 + "\n\n") * 33


@pytest.mark.parametrize(
    ("hostile", "more", "skipped"),
    [
        ("![" * 30000, (), 0),
        ("[a](" * 15000, (), 0),
        ("_a" * 30000, (), 0),
        # 33 paragraphs that start with a command: the first ones up to the comment's limit
        # are read, the rest only counted.
        (
            _HOSTILE_COMMANDS,
            ("/train x " + "![" * 900,) * (MAX_PER_COMMENT - 1),
            34 - MAX_PER_COMMENT,
        ),
    ],
)
def test_hostile_markdown_is_read_correctly(
    hostile: str, more: tuple[str, ...], skipped: int
) -> None:
    """markdown-it's inline link rules are quadratic on such text; the inline parse runs
    only on short paragraphs, and only until the commands to run are found. How fast that
    is: bench/bench_command_lines.py (no timed tests, per the guide)."""
    body = ("/train status\n\n" + hostile)[:MAX_BODY]
    assert scan(body, MAX_PER_COMMENT) == Scan(("/train status", *more), skipped)
