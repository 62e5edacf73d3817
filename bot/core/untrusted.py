"""Untrusted text made safe to put inside what the bot writes (pure).

PR titles and bodies, branch and label names, commenters' reasons: anyone on a public
repository writes them, and the bot copies them into release notes, comments, check-run
summaries, issues and Releases. There they must stay text:

- no HTML at all: ``<``, ``>`` and ``&`` become entities, so no hidden comment (``<!--``),
  no marker the bot would later read back as its own, no ``<details>`` hiding a command;
- no links or images the author smuggles in (``[``, ``]``, ``!`` escaped), no code span or
  emphasis running over the bot's own words (`` ` ``, ``*``, ``_``, ``~`` escaped);
- no mass notification: ``@someone`` and ``@org/team`` get a zero-width space after the
  ``@`` (GitHub then links nobody, as Renovate and Dependabot do it);
- one line (newlines and control characters become spaces), and in a table cell no ``|``;
- bounded length (an ellipsis says something was cut).

`inline` is for text in a sentence or list item, `cell` for a Markdown table cell, `login`
for a user name the bot shows without pinging it. `table_text` is the lighter rule for a
table cell that mixes the bot's own Markdown (code spans, links) with names others chose
(check runs, files, alerts): one line, no ``|``, no raw HTML, Markdown kept.
"""

from __future__ import annotations

import re

MAX_INLINE = 200
ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_ESCAPED = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "~": "\\~",
    "[": "\\[",
    "]": "\\]",
    "!": "\\!",
    "|": "\\|",
}
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def inline(text: object, limit: int = MAX_INLINE) -> str:
    """`text` as inert Markdown on one line, at most `limit` characters of the original."""
    flat = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    flat = _bounded(flat, limit)
    escaped = "".join(_ESCAPED.get(ch, ch) for ch in flat)
    return _MENTION.sub("@" + ZWSP, escaped)


def cell(text: object, limit: int = MAX_INLINE) -> str:
    """`text` for a Markdown table cell: `inline` (which also escapes ``|``), never empty."""
    return inline(text, limit) or " "


_TABLE_TEXT = str.maketrans(
    {"|": "\\|", "\n": " ", "\r": " ", "<": "&lt;", ">": "&gt;", "\u2028": " ", "\u2029": " "}
)


def markdown_line(text: object, limit: int = 4 * MAX_INLINE) -> str:
    """Text that mixes the bot's Markdown with names others chose, on one line of a list
    or sentence: `table_text`, bounded, and mentions defused."""
    return _MENTION.sub("@" + ZWSP, table_text(_bounded(str(text or ""), limit)))


def table_text(text: object) -> str:
    """A table cell holding the bot's Markdown and others' names: pipes escaped, one line,
    ``<``/``>`` as entities (no hidden comment, marker or `<details>`); Markdown kept."""
    return str(text).translate(_TABLE_TEXT)


def login(name: object) -> str:
    """A GitHub login shown without notifying its owner: `` `@name` `` (a code span does not
    mention); anything that is not a login's shape is shown as inert text instead."""
    text = str(name or "")
    if _LOGIN.match(text):
        return f"`@{text}`"
    return inline(text, 60)
