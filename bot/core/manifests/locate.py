"""Find nodes with ruamel.yaml and pin each scalar to its exact characters in the original text.

`parse` composes every document of a (multi-document) text into node graphs - never
constructing Python objects, never dumping - and `walk` visits every node once, in document
order, with a readable path. `slot` turns a scalar node into a `Slot`: its value, its style and
the span of its token (after any ``&anchor``/``!tag``) in the original text, so an edit can
replace exactly those characters.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError, Problem

Node = Any  # ruamel.yaml.nodes.Node; kept loose so importing this module stays cheap

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


@dataclass(frozen=True)
class Slot:
    """One scalar value located in the original text."""

    value: str
    start: int  # offset of the token's first character (a quote, for quoted styles)
    end: int  # offset just past the token
    style: str  # "" plain, "'" or '"' quoted, "|" or ">" block, "*" alias
    line: int  # 1-based
    col: int  # 1-based
    path: str
    in_flow: bool = False
    node_id: int = 0  # identity of the node, shared by an anchor and its aliases


@dataclass(frozen=True)
class Visit:
    """A node met while walking a document, with where it hangs."""

    path: str
    key: str | None  # the mapping key it is the value of (None for items and roots)
    node: Node
    parent: Visit | None
    alias: bool  # the node was reached through an alias (*name)
    key_node: Node | None = None
    in_flow: bool = False

    @property
    def parent_key(self) -> str | None:
        """For a sequence item, the key of the sequence; for a mapping value, its parent's key."""
        return self.parent.key if self.parent is not None else None


@dataclass(frozen=True)
class Doc:
    """One document of a file: its root node and every node visited in order.

    Node marks count from the start of the chunk the document was parsed from; `base` and
    `base_line` turn them into offsets and lines of the whole `text`.
    """

    text: str
    filename: str
    index: int
    root: Node
    visits: tuple[Visit, ...]
    kids: dict[int, tuple[Visit, ...]]  # id(parent visit) -> its child visits
    base: int = 0
    base_line: int = 0

    def offset(self, mark: Any) -> int:
        return self.base + int(mark.index)

    def line(self, mark: Any) -> int:
        """1-based line of a mark in the whole text."""
        return self.base_line + int(mark.line) + 1

    @property
    def top(self) -> Visit:
        return self.visits[0]

    def children(self, visit: Visit) -> tuple[Visit, ...]:
        return self.kids.get(id(visit), ())

    def child(self, visit: Visit, key: str) -> Visit | None:
        """The visit of `visit`'s value under `key` (a mapping entry)."""
        for kid in self.children(visit):
            if kid.key == key:
                return kid
        return None

    def root_value(self, key: str) -> str | None:
        node = get(self.root, key)
        return node.value if is_scalar(node) else None


def is_scalar(node: Node) -> bool:
    return node is not None and node.id == "scalar"


def is_mapping(node: Node) -> bool:
    return node is not None and node.id == "mapping"


def is_sequence(node: Node) -> bool:
    return node is not None and node.id == "sequence"


def items(node: Node) -> Iterator[tuple[str, Node, Node]]:
    """(key, key node, value node) for each scalar-keyed entry of a mapping node."""
    if not is_mapping(node):
        return
    for key_node, value_node in node.value:
        if is_scalar(key_node):
            yield key_node.value, key_node, value_node


def get(node: Node, key: str) -> Node:
    for name, _, value in items(node):
        if name == key:
            return value
    return None


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


def compose_chunk(text: str, filename: str, chunk: Chunk) -> list[Node]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with warnings.catch_warnings():  # e.g. a reused anchor: legal YAML, not our business
            warnings.simplefilter("ignore")
            return list(YAML(typ="safe", pure=True).compose_all(text[chunk.start : chunk.end]))
    except YAMLError as exc:
        raise ConfigError(_parse_problem(exc, text, filename, chunk)) from None


def make_doc(text: str, filename: str, index: int, root: Node, chunk: Chunk) -> Doc:
    visits = tuple(walk(root))
    kids: dict[int, list[Visit]] = {}
    for visit in visits[1:]:
        kids.setdefault(id(visit.parent), []).append(visit)
    frozen = {key: tuple(value) for key, value in kids.items()}
    return Doc(text, filename, index, root, visits, frozen, chunk.start, chunk.line)


def parse(
    text: str, filename: str = "", *, wanted: Callable[[str], bool] | None = None
) -> list[Doc]:
    """Compose every document; a text that does not parse raises a positioned ConfigError.

    With `wanted`, a one-document chunk whose text it rejects is counted but not parsed (a
    quick way past documents that cannot mention an image).
    """
    docs: list[Doc] = []
    index = 0  # counts every document of the stream, empty ones too
    for chunk in chunks(text):
        if wanted is not None and chunk.single and not wanted(text[chunk.start : chunk.end]):
            index += 1
            continue
        for root in compose_chunk(text, filename, chunk):
            if root is not None:
                docs.append(make_doc(text, filename, index, root, chunk))
            index += 1
    return docs


def _item_labels(nodes: list[Node]) -> list[str]:
    """``[name=x]`` for items with a unique, simple name; ``[i]`` otherwise."""
    names = []
    for node in nodes:
        name = get(node, "name")
        ok = is_scalar(name) and name.value and all(c not in name.value for c in "[]=")
        names.append(str(name.value) if ok else None)
    return [
        f"[name={n}]" if n is not None and names.count(n) == 1 else f"[{i}]"
        for i, n in enumerate(names)
    ]


def join_path(parent: str, key: str) -> str:
    """``parent.key``, or ``parent["key"]`` when the key itself holds dots or brackets."""
    if not key or any(c in key for c in ".[]"):
        quote = "'" if '"' in key else '"'
        return f"{parent}[{quote}{key}{quote}]"
    return f"{parent}.{key}" if parent else key


def walk(root: Node) -> Iterator[Visit]:
    """Every node of a document in order; nodes reached again through an alias are not entered."""
    seen: set[int] = set()
    stack: list[Visit] = [Visit("", None, root, None, False)]
    while stack:
        visit = stack.pop()
        yield visit
        node = visit.node
        if visit.alias or node.id == "scalar":
            continue
        flow = visit.in_flow or bool(getattr(node, "flow_style", False))
        children: list[Visit] = []
        if node.id == "mapping":
            for key, key_node, value in items(node):
                path = join_path(visit.path, key)
                alias = id(value) in seen
                seen.add(id(value))
                children.append(Visit(path, key, value, visit, alias, key_node, flow))
        else:
            for value, label in zip(node.value, _item_labels(node.value), strict=True):
                alias = id(value) in seen
                seen.add(id(value))
                path = visit.path + label
                children.append(Visit(path, None, value, visit, alias, None, flow))
        stack.extend(reversed(children))


def _skip_properties(text: str, start: int, end: int) -> int:
    """Move past ``&anchor`` and ``!tag`` properties in front of a scalar token."""
    i = start
    while i < end and text[i] in "&!":
        while i < end and not text[i].isspace():
            i += 1
        while i < end and text[i].isspace():
            i += 1
    return i


def _column(text: str, offset: int) -> int:
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def _alias_slot(doc: Doc, visit: Visit) -> Slot:
    text = doc.text
    key_node = visit.key_node
    mark = key_node.end_mark if key_node is not None else visit.node.start_mark
    offset = doc.offset(mark)
    star = text.find("*", offset)
    offset = star if star >= 0 else offset
    line = doc.line(mark) + text.count("\n", doc.offset(mark), offset)
    col = _column(text, offset)
    value = visit.node.value if is_scalar(visit.node) else ""
    return Slot(
        str(value), offset, offset, "*", line, col, visit.path, visit.in_flow, id(visit.node)
    )


def slot(doc: Doc, visit: Visit) -> Slot | None:
    """Locate the scalar of `visit` in the document's text; None when it is not a scalar."""
    node = visit.node
    if visit.alias:
        return _alias_slot(doc, visit)
    if not is_scalar(node):
        return None
    text = doc.text
    first, end = doc.offset(node.start_mark), doc.offset(node.end_mark)
    start = _skip_properties(text, first, end)
    style = node.style or ""
    line = doc.line(node.start_mark) + text.count("\n", first, start)
    if start == end and first == start and visit.key_node is not None:
        # An empty value: ruamel marks the next token, but its place is right after `key:`.
        start = end = _after_colon(doc, visit.key_node)
        line = doc.line(visit.key_node.end_mark)
    col = _column(text, start)
    return Slot(str(node.value), start, end, style, line, col, visit.path, visit.in_flow, id(node))


def _after_colon(doc: Doc, key_node: Node) -> int:
    """The offset just past the ``:`` that follows a key (the key's own end when none)."""
    at = doc.offset(key_node.end_mark)
    colon = doc.text.find(":", at)
    return colon + 1 if colon >= 0 else at
