"""Compose YAML text into node graphs whose marks are character offsets into the text.

libyaml (PyYAML's C loader, without tag resolution) composes whenever it accepts a text;
otherwise ruamel.yaml's pure parser decides, and its errors become positioned `ConfigError`s.
A stream is cut into chunks at its ``---`` lines so a part of it can be parsed alone.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError, Problem

Node = Any  # a PyYAML or ruamel.yaml node; kept loose so importing this module stays cheap

# A line starting with `---` or `...` plus a blank is a document marker wherever it appears
# (YAML forbids it inside any scalar), so a stream can be cut there without parsing it.
_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_END = re.compile(r"^\.\.\.(?=[ \t\r\n]|$)", re.MULTILINE)
_DIRECTIVE = re.compile(r"^%", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """A slice of the stream that starts at a ``---`` line (or at the very beginning)."""

    start: int
    end: int
    line: int  # 0-based line number of `start`
    single: bool  # starts with `---` and holds no `...`: exactly one document


def chunks(text: str) -> list[Chunk]:
    """Cut a stream at its ``---`` lines (the whole text when directives make that unsafe)."""
    if "---" not in text:  # most files: one document, and no need to run the regex
        return [Chunk(0, len(text), 0, False)]
    starts = [m.start() for m in _START.finditer(text)]
    if _DIRECTIVE.search(text) or not starts:
        return [Chunk(0, len(text), 0, False)]
    if starts[0] != 0:
        starts.insert(0, 0)
    bounds = [*starts, len(text)]
    found: list[Chunk] = []
    line = 0
    for start, end in itertools.pairwise(bounds):
        single = text.startswith("---", start) and not _END.search(text, start, end)
        found.append(Chunk(start, end, line, single))
        line += text.count("\n", start, end)
    return found


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _parse_problem(exc: Exception, text: str, filename: str, chunk: Chunk) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    message = " ".join(
        str(part).strip()
        for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
        if part
    )
    if mark is not None:
        line = chunk.line + mark.line + 1
        return Problem(f"YAML does not parse: {message}", filename, line, mark.column + 1)
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        line, col = _position(text, chunk.start + position)
        return Problem(f"YAML does not parse: {exc}", filename, line, col)
    return Problem(f"YAML does not parse: {exc}", filename)


_LOADER: Any = None


def _yaml11_breaks(piece: str) -> bool:
    """Whether `piece` holds NEL, LS or PS (YAML 1.1 line breaks, not YAML 1.2's)."""
    return "\x85" in piece or "\u2028" in piece or "\u2029" in piece


def _libyaml_loader() -> Any:
    """PyYAML's C parser as a composer only: no constructor, no implicit-tag resolver (called
    in Python for every node): node tags are never read here, and resolving them would cost
    as much as the C parse."""
    global _LOADER
    if _LOADER is None:
        from yaml.cyaml import CParser

        class Loader(CParser):
            def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
                return ""

            def descend_resolver(self, parent: Any, index: Any) -> None:
                return None

            def ascend_resolver(self) -> None:
                return None

        _LOADER = Loader
    return _LOADER


def compose_libyaml(piece: str) -> list[Node] | None:
    """Compose with libyaml (PyYAML's C loader): the same node graph with the same marks
    (character offsets, lines, columns), about 30x faster than the pure-Python parser.
    None when libyaml is not there or rejects the text (then the pure parser decides), and
    for a text with a byte-order mark, which libyaml leaves out of its offsets, or with a
    character that YAML 1.1 reads as a line break and YAML 1.2 does not (NEL, LS, PS)."""
    if piece.startswith("\ufeff") or _yaml11_breaks(piece):
        return None
    try:
        import yaml

        loader = _libyaml_loader()
    except (ImportError, AttributeError):  # no PyYAML, or one built without libyaml
        return None
    try:
        parser, roots = loader(piece), []
        while parser.check_node():
            roots.append(parser.get_node())
        return roots
    except yaml.YAMLError:  # e.g. a reused anchor (legal YAML 1.2) or a real error
        return None


def compose_chunk(text: str, filename: str, chunk: Chunk) -> list[Node]:
    """Compose one chunk: libyaml when it accepts the text, else ruamel.yaml's pure parser,
    whose YAML 1.2 reading and positioned errors are authoritative."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    piece = text[chunk.start : chunk.end]
    fast = compose_libyaml(piece)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings():  # e.g. a reused anchor: legal YAML, not our business
            warnings.simplefilter("ignore")
            return list(YAML(typ="safe", pure=True).compose_all(piece))
    except YAMLError as exc:
        raise ConfigError(_parse_problem(exc, text, filename, chunk)) from None


def skip_properties(text: str, start: int, end: int) -> int:
    """Move past ``&anchor`` and ``!tag`` properties in front of a scalar token."""
    i = start
    while i < end and text[i] in "&!":
        while i < end and not text[i].isspace():
            i += 1
        while i < end and text[i].isspace():
            i += 1
    return i


def _scalars_by_events(text: str, chunk: Chunk, wanted: set[int]) -> dict[int, object] | None:
    """libyaml's parse events of a chunk (no node graph is built): the value of each scalar
    whose token starts at one of the `wanted` offsets. None when libyaml cannot decide.

    Events are turned into Python objects only up to the last wanted offset (past it no
    scalar can start at one; libyaml's events for a prefix are those of the whole parse);
    the same parser then parses the rest of the chunk in C without building objects, so a
    text that does not parse anywhere is refused just the same."""
    piece = text[chunk.start : chunk.end]
    if piece.startswith("\ufeff") or _yaml11_breaks(piece):
        return None
    try:
        import yaml
        from yaml.cyaml import CParser
    except (ImportError, AttributeError):
        return None
    found: dict[int, object] = {}
    base, scalar, end = chunk.start, yaml.ScalarEvent, yaml.StreamEndEvent
    last = max(wanted, default=-1) - base
    try:
        parser = CParser(piece)
        get_event = parser.get_event
        while (event := get_event()).__class__ is not end:
            first = event.start_mark.index
            if first > last:
                parser.raw_parse()  # the rest of the chunk parses (raises YAMLError where not)
                break
            if event.__class__ is scalar:
                first += base
                at = skip_properties(text, first, len(text)) if text[first] in "&!" else first
                if at in wanted:
                    found[at] = event.value
    except yaml.YAMLError:
        return None
    return found


def values_at(text: str, filename: str, chunk: Chunk, wanted: set[int]) -> dict[int, object]:
    """The value of each scalar of a chunk whose token (anchor and tag skipped) starts at one
    of the `wanted` offsets: from libyaml's events when it accepts the chunk, else composed
    by the pure parser, where only nodes whose span holds such an offset are entered."""
    fast = _scalars_by_events(text, chunk, wanted)
    if fast is not None:
        return fast
    found: dict[int, object] = {}
    stack = [root for root in compose_chunk(text, filename, chunk) if root is not None]
    seen: set[int] = set()
    base, low, high = chunk.start, min(wanted), max(wanted)
    while stack:
        node = stack.pop()
        first, end = base + node.start_mark.index, base + node.end_mark.index
        if end < low or first > high or id(node) in seen:
            continue
        if high - low > end - first and not any(first <= at <= end for at in wanted):
            continue
        seen.add(id(node))  # an alias is entered once, through its anchored node
        if node.id == "scalar":
            at = skip_properties(text, first, end) if text[first : first + 1] in "&!" else first
            if at in wanted:
                found[at] = node.value
        elif node.id == "mapping":
            stack.extend(part for pair in node.value for part in pair)
        else:
            stack.extend(node.value)
    return found
