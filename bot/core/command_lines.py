"""Where a comment holds `/train` commands, read as GitHub renders it (CommonMark + GFM).

A command counts only when a reader sees it as a line of a top-level paragraph: not in
code (fenced, indented or inline), a quote, a list, a heading, a table, an HTML comment,
raw HTML or a `<details>` block (which GitHub shows collapsed). A line counts when it is
plain text (inline code allowed after the command word) starting with `/train`; a line
with inline HTML (e.g. a comment hiding part of it) or other markup does not.
Parsing is bounded: GitHub's comment limit (65,536 characters) is all that is read, a
paragraph longer than `MAX_PARAGRAPH` holds no command, and reading stops at the number
of commands the caller will run (the rest are only counted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_BODY = 65_536  # GitHub's limit on a comment body; more is never read
MAX_PARAGRAPH = 2_000  # a longer paragraph holds no command (its inline parse is not run)
MAX_LINES = 1_000  # commands read from one comment at most, whatever the caller asks
PREFIX = "/train"

_BLOCKS = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("inline")
_INLINE = MarkdownIt("commonmark").enable(["strikethrough"])
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
_LINE_PARTS = frozenset({"text", "code_inline"})


@dataclass(frozen=True)
class Scan:
    """What a comment asks: its command lines (at most the limit asked for) and how many
    more lines start with `/train` in paragraphs not read (past the limit, or too long)."""

    lines: tuple[str, ...]
    skipped: int = 0


def command_lines(body: str) -> tuple[str, ...]:
    """The visible top-level paragraph lines of `body` that start with `/train`, in order."""
    return scan(body, MAX_LINES).lines


@lru_cache(maxsize=256)
def scan(body: str, limit: int) -> Scan:
    """The first `limit` command lines of `body`, and a count of the rest.

    Bounded work per comment: the block structure is parsed once (and cached per body: the
    same comments are read every reconcile); the inline parse, whose link rules cost more
    on hostile input, runs only on top-level paragraphs of at most `MAX_PARAGRAPH`
    characters that mention `/train`, and only until `limit` commands are found."""
    if PREFIX not in body:
        return Scan(())
    tokens = _BLOCKS.parse(body[:MAX_BODY])
    lines: list[str] = []
    skipped = 0
    hidden = 0  # depth of open <details> elements
    for index, token in enumerate(tokens):
        if token.type in ("html_block", "inline"):
            hidden = max(0, hidden + _details_depth(token.content))
        if hidden or token.type != "inline" or token.level != 1 or PREFIX not in token.content:
            continue
        if index == 0 or tokens[index - 1].type != "paragraph_open":
            continue
        if len(lines) >= min(limit, MAX_LINES) or len(token.content) > MAX_PARAGRAPH:
            skipped += sum(1 for x in token.content.splitlines() if _starts(x))
            continue
        children = _INLINE.parseInline(token.content)[0].children or []
        found = [line for line in _paragraph_lines(children) if line]
        room = min(limit, MAX_LINES) - len(lines)
        lines += found[:room]
        skipped += len(found[room:])
    return Scan(tuple(lines), skipped)


def _starts(text: str) -> bool:
    """`/train` as a word at the start (not `/trainee`)."""
    return text.startswith(PREFIX) and (len(text) == len(PREFIX) or text[len(PREFIX)].isspace())


def _details_depth(html: str) -> int:
    """How many `<details>` this text opens, less those it closes."""
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
    if not line or line[0].type != "text" or not _starts(line[0].content):
        return ""
    if any(part.type not in _LINE_PARTS for part in line):
        return ""
    text = "".join(p.content if p.type == "text" else f"`{p.content}`" for p in line)
    return text.strip()
