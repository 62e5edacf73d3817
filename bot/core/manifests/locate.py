"""Find nodes with libyaml (or ruamel.yaml) and pin each scalar to its exact characters in the
original text.

`parse` composes every document of a (multi-document) text into node graphs - never
constructing Python objects, never dumping - and `walk` visits every node once, in document
order, with a readable path. `slot` turns a scalar node into a `Slot`: its value, its style and
the span of its token (after any ``&anchor``/``!tag``) in the original text, so an edit can
replace exactly those characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.core.manifests.compose import (
    Chunk,
    Node,
    compose_chunk,
    compose_libyaml,
    skip_properties,
)
from bot.core.manifests.compose import chunks as chunks
from bot.core.manifests.compose import values_at as values_at


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


class Visit:
    """A node met while walking a document, with where it hangs. Its readable `path` (e.g.
    ``spec.containers[name=app].image``) is worked out only when asked for."""

    __slots__ = (
        "_labels",
        "_path",
        "alias",
        "in_flow",
        "index",
        "key",
        "key_node",
        "node",
        "parent",
    )

    def __init__(
        self,
        key: str | None,  # the mapping key it is the value of (None for items and roots)
        node: Node,
        parent: Visit | None,
        alias: bool,  # the node was reached through an alias (*name)
        key_node: Node | None = None,
        in_flow: bool = False,
        index: int = 0,  # for a sequence item, its position
    ) -> None:
        self.key = key
        self.node = node
        self.parent = parent
        self.alias = alias
        self.key_node = key_node
        self.in_flow = in_flow
        self.index = index
        self._path: str | None = None if parent is not None else ""
        self._labels: list[str] | None = None

    @property
    def path(self) -> str:
        path = self._path
        if path is None:
            parent = self.parent
            assert parent is not None
            if self.key is not None:
                path = join_path(parent.path, self.key)
            else:
                if parent._labels is None:
                    parent._labels = _item_labels(parent.node.value)
                path = parent.path + parent._labels[self.index]
            self._path = path
        return path

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
    # What is worked out once per document (e.g. whether it is deployable), by name.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

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
        """The scalar value of a top-level key (None when absent or not a scalar)."""
        found = self.memo.get("root")
        if found is None:  # the first entry of a key counts, as `get` reads it
            found = self.memo["root"] = {}
            for name, _, value in items(self.root):
                found.setdefault(name, value.value if is_scalar(value) else None)
        return found.get(key)


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


def make_doc(text: str, filename: str, index: int, root: Node, chunk: Chunk) -> Doc:
    visits, kids = walk(root, aliases=text.find("*", chunk.start, chunk.end) >= 0)
    return Doc(text, filename, index, root, tuple(visits), kids, chunk.start, chunk.line)


def _parse_whole(
    text: str, filename: str, wanted: Callable[[str], bool] | None
) -> list[Doc] | None:
    """One libyaml pass over the whole stream; only the documents `wanted` are walked. None
    when libyaml refuses the text (then the chunked path decides, with positioned errors)."""
    roots = compose_libyaml(text)
    if roots is None:
        return None
    whole = Chunk(0, len(text), 0, False)
    docs = []
    for index, root in enumerate(roots):
        if root is None:
            continue
        span = text[root.start_mark.index : root.end_mark.index]
        if wanted is None or wanted(span):
            docs.append(make_doc(text, filename, index, root, whole))
    return docs


def parse(
    text: str,
    filename: str = "",
    *,
    wanted: Callable[[str], bool] | None = None,
    check: bool = True,
) -> list[Doc]:
    """Compose every document; a text that does not parse raises a positioned ConfigError.

    With `wanted`, a document whose text it rejects is not walked: with `check` it is still
    parsed (its errors count); without, when the whole text does not parse, a one-document
    chunk it rejects is only counted, not parsed - a way past broken documents that cannot
    mention an image.
    """
    found = _parse_whole(text, filename, wanted)
    if found is not None:
        return found
    docs: list[Doc] = []
    index = 0  # counts every document of the stream, empty ones too
    for chunk in chunks(text):
        skip = not check and wanted is not None and chunk.single
        if skip and not wanted(text[chunk.start : chunk.end]):  # type: ignore[misc]
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


_PLAIN_KEY = re.compile(r"[^.\[\]]+").fullmatch


def join_path(parent: str, key: str) -> str:
    """``parent.key``, or ``parent["key"]`` when the key itself holds dots or brackets."""
    if not _PLAIN_KEY(key):
        quote = "'" if '"' in key else '"'
        return f"{parent}[{quote}{key}{quote}]"
    return f"{parent}.{key}" if parent else key


def walk(root: Node, aliases: bool = True) -> tuple[list[Visit], dict[int, tuple[Visit, ...]]]:
    """Every node of a document in order, and the children of each (by `id` of the parent
    visit); nodes reached again through an alias are not entered. `aliases=False` when the
    document's text holds no ``*`` (then no node can be reached twice): nothing to track."""
    seen: set[int] | None = set() if aliases else None
    order: list[Visit] = []
    kids: dict[int, tuple[Visit, ...]] = {}
    stack: list[Visit] = [Visit(None, root, None, False)]
    while stack:
        visit = stack.pop()
        order.append(visit)
        node = visit.node
        if visit.alias or node.id == "scalar":
            continue
        children = _children(visit, node, seen)
        if children:
            kids[id(visit)] = tuple(children)
            stack.extend(reversed(children))
    return order, kids


def _children(visit: Visit, node: Node, seen: set[int] | None) -> list[Visit]:
    """The visits of a mapping's scalar-keyed values or a sequence's items; one reached a
    second time (an alias) is marked, when `seen` tracks them."""
    flow = visit.in_flow or bool(getattr(node, "flow_style", False))
    mapping = node.id == "mapping"
    if seen is None:
        if mapping:
            return [
                Visit(k.value, v, visit, False, k, flow) for k, v in node.value if k.id == "scalar"
            ]
        return [Visit(None, v, visit, False, None, flow, i) for i, v in enumerate(node.value)]
    children = []
    pairs = node.value if mapping else ((None, v) for v in node.value)
    for i, (key_node, value) in enumerate(pairs):
        if key_node is not None and key_node.id != "scalar":
            continue
        alias = id(value) in seen
        seen.add(id(value))
        key = key_node.value if key_node is not None else None
        children.append(Visit(key, value, visit, alias, key_node, flow, 0 if mapping else i))
    return children


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
    start = skip_properties(text, first, end)
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
