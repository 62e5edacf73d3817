"""Where a comment holds `/train` commands, read as GitHub renders it (CommonMark + GFM).

A command counts only when a reader sees it as a line of a top-level paragraph: not in
code (fenced, indented or inline), a quote, a list, a heading, a table, an HTML comment,
raw HTML or a `<details>` block (which GitHub shows collapsed). A line counts when it is
plain text (inline code allowed after the command word) starting with `/train`; a line
with inline HTML (e.g. a comment hiding part of it) or other markup does not.
Parsing is bounded: GitHub's comment limit (65,536 characters) is all that is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_BODY = 65_536  # GitHub's limit on a comment body; more is never read
PREFIX = "/train"

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
_LINE_PARTS = frozenset({"text", "code_inline"})


def command_lines(body: str) -> list[str]:
    """The visible top-level paragraph lines of `body` that start with `/train`, in order."""
    tokens = _PARSER.parse(body[:MAX_BODY])
    lines: list[str] = []
    hidden = 0  # depth of open <details> elements
    for index, token in enumerate(tokens):
        if token.type in ("html_block", "html_inline") or token.children:
            hidden = max(0, hidden + _details_depth(token))
        if hidden or token.type != "inline" or token.level != 1:
            continue
        if index == 0 or tokens[index - 1].type != "paragraph_open":
            continue
        lines += [line for line in _paragraph_lines(token.children or []) if line]
    return lines


def _details_depth(token: Token) -> int:
    """How many `<details>` this token opens, less those it closes."""
    parts = [token] if not token.children else token.children
    html = "".join(p.content for p in parts if p.type in ("html_block", "html_inline"))
    return len(_DETAILS_OPEN.findall(html)) - len(_DETAILS_CLOSE.findall(html))


def _paragraph_lines(children: Sequence[Token]) -> list[str]:
    """Each line (split at soft/hard breaks) that is a command, or "" for one that is not."""
    found: list[str] = []
    line: list[Token] = []
    for child in [*children, None]:
        if child is None or child.type in ("softbreak", "hardbreak"):
            found.append(_command(line))
            line = []
        else:
            line.append(child)
    return found


def _command(line: Sequence[Token]) -> str:
    if not line or line[0].type != "text" or not line[0].content.startswith(PREFIX):
        return ""
    if any(part.type not in _LINE_PARTS for part in line):
        return ""
    text = "".join(p.content if p.type == "text" else f"`{p.content}`" for p in line)
    return text.strip()
