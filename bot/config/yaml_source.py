"""Safe YAML reading with a position for every key and item.

`read_yaml` turns bytes or text into a `YamlDoc`: plain Python data (dicts, lists, str, int,
float, bool, None; dates become ISO strings) plus a map from each path (a tuple of keys and
indexes) to the 1-based line and column where it is written. Everything that can go wrong
with the bytes themselves is a positioned `Problem`, never an exception:

- files over 1 MiB, bytes that are not UTF-8, empty files (nothing but comments counts),
- tabs used for indentation, YAML syntax errors, duplicate keys,
- several documents in one file,
- alias bombs: the expanded data may hold at most `2 * nodes + ALIAS_SLACK` nodes, where
  `nodes` is the number of distinct nodes written in the file; recursive aliases are refused.

Other modules (manifests, gates) can reuse `position_of(node, key_or_index)` on a ruamel
round-trip node, or `YamlDoc.where(path)` on a loaded document.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bot.errors import Problem

MAX_BYTES = 1024 * 1024
ALIAS_SLACK = 1000

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDoc:
    """A loaded YAML mapping and where each of its parts is written.

    `keys[path]` is the (line, col) of a mapping key or sequence item; `values[path]` is the
    (line, col) of the value itself. Both are 1-based.
    """

    filename: str
    data: Any
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_, *, value: bool = False) -> tuple[int, int]:
        """Position of `path`, or of its nearest written ancestor; (1, 1) for the root."""
        table = self.values if value else self.keys
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if value and probe in self.keys:
                return self.keys[probe]
            probe = probe[:-1]
        return (1, 1)

    def problem(
        self, path: Path_, message: str, *, value: bool = False, severity: str = "error"
    ) -> Problem:
        line, col = self.where(path, value=value)
        return Problem(message, file=self.filename, line=line, col=col, severity=severity)


class YamlProblems(Exception):
    """Raised inside this module only; `read_yaml` turns it into its problem list."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message if problems else "")
        self.problems = problems


def position_of(node: Any, key_or_index: str | int) -> tuple[int, int]:
    """1-based (line, col) of a key in a ruamel CommentedMap or an item in a CommentedSeq.

    Falls back to the node's own position, then to (1, 1), when ruamel has none (for
    instance for keys pulled in by a `<<` merge).
    """
    lc = getattr(node, "lc", None)
    if lc is None:
        return (1, 1)
    try:
        if isinstance(key_or_index, int) and isinstance(node, list):
            line, col = lc.item(key_or_index)
        else:
            line, col = lc.key(key_or_index)
        return (int(line) + 1, int(col) + 1)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    if lc.line is not None:
        return (int(lc.line) + 1, int(lc.col or 0) + 1)
    return (1, 1)


def value_position_of(node: Any, key: str | int) -> tuple[int, int] | None:
    """1-based (line, col) of the value of a mapping key, if ruamel recorded it."""
    lc = getattr(node, "lc", None)
    if lc is None or isinstance(node, list):
        return None
    try:
        line, col = lc.value(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return (int(line) + 1, int(col) + 1)


def read_yaml(source: str | bytes, filename: str) -> tuple[YamlDoc | None, list[Problem]]:
    """Load one YAML mapping safely. Returns (doc, []) or (None, problems)."""
    try:
        text = _decode(source, filename)
        root = _parse(text, filename)
        data, keys, values = _flatten(root, filename)
    except YamlProblems as exc:
        return None, exc.problems
    return YamlDoc(filename, data, keys, values), []


def _decode(source: str | bytes, filename: str) -> str:
    raw = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    if len(raw) > MAX_BYTES:
        raise YamlProblems(
            [Problem(f"file is {len(raw)} bytes; the limit is {MAX_BYTES} (1 MiB)", filename, 1, 1)]
        )
    if isinstance(source, str):
        text = source
        bad = next((i for i, ch in enumerate(text) if 0xD800 <= ord(ch) <= 0xDFFF), None)
        if bad is not None:
            line, col = _line_col(text, bad)
            raise YamlProblems([Problem("text is not valid Unicode", filename, line, col)])
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = raw[: exc.start].decode("utf-8", "replace")
            line, col = _line_col(prefix, len(prefix))
            raise YamlProblems(
                [
                    Problem(
                        f"file is not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
                        filename,
                        line,
                        col,
                    )
                ]
            ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise YamlProblems([Problem("file contains a NUL byte", filename, line, col)])
    if not _has_content(text):
        raise YamlProblems(
            [
                Problem(
                    "file is empty: expected a mapping such as 'version: 1' and 'trains:'",
                    filename,
                    1,
                    1,
                )
            ]
        )
    return text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    return line, col


def _has_content(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return True
    return False


def _check_tabs(text: str, filename: str) -> None:
    """After a tab broke the parse: every line indented with a tab, as problems.

    (Tabs are fine inside block scalars and flow collections, so this runs only when the
    parser has already refused one.)"""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            problems.append(
                Problem(
                    "tab used for indentation; YAML allows only spaces",
                    filename,
                    number,
                    indent.index("\t") + 1,
                )
            )
    if problems:
        raise YamlProblems(problems)


def _parse(text: str, filename: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.Constructor = _constructor()
    yaml.allow_duplicate_keys = False
    try:
        docs = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        first = _marked_problem(exc, filename)
        if "'\\t'" in first.message:  # ruamel names the tab it choked on
            _check_tabs(text, filename)
        if "duplicate key" in first.message:
            raise YamlProblems(_duplicate_keys(text, filename) or [first]) from None
        raise YamlProblems([first]) from None
    except (YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise YamlProblems([Problem(f"YAML error: {exc}", filename, 1, 1)]) from None
    if "&" in text and "*" in text:
        _refuse_recursive_aliases(text, filename)
    docs = [d for d in docs if d is not None] or [None]
    if len(docs) > 1:
        line, col = position_of(docs[1], 0) if isinstance(docs[1], list) else (1, 1)
        lc = getattr(docs[1], "lc", None)
        if lc is not None and lc.line is not None:
            line, col = int(lc.line) + 1, int(lc.col or 0) + 1
        raise YamlProblems(
            [Problem("file holds several YAML documents; expected one", filename, line, col)]
        )
    root = docs[0]
    if not isinstance(root, dict):
        kind = "nothing" if root is None else _kind(root)
        raise YamlProblems(
            [Problem(f"top level must be a mapping of keys, not {kind}", filename, 1, 1)]
        )
    return root


def _duplicate_keys(text: str, filename: str) -> list[Problem]:
    """Every repeated key in every mapping (ruamel stops at the first)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    try:
        roots = list(YAML(typ="rt").compose_all(text))
    except (YAMLError, ValueError, RecursionError):
        return []
    problems: list[Problem] = []
    seen: set[int] = set()
    todo: list[Any] = [r for r in roots if r is not None]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                todo.append(value)
                tag = str(getattr(key.tag, "value", key.tag))
                if not isinstance(key, ScalarNode) or tag == "tag:yaml.org,2002:merge":
                    continue
                mark = key.start_mark
                if key.value in first:
                    problems.append(
                        Problem(
                            f'found duplicate key "{key.value}" (first at line {first[key.value]})',
                            filename,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    )
                else:
                    first[key.value] = mark.line + 1
    return sorted(problems, key=lambda p: (p.line, p.col))


def _refuse_recursive_aliases(text: str, filename: str) -> None:
    """ruamel quietly turns an alias inside its own anchor into null; refuse it instead."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    try:
        roots = [r for r in YAML(typ="rt").compose_all(text) if r is not None]
    except (YAMLError, ValueError, RecursionError):
        return
    done: set[int] = set()
    for root in roots:
        stack: list[tuple[Any, bool]] = [(root, False)]
        open_: set[int] = set()
        while stack:
            node, leaving = stack.pop()
            if leaving:
                open_.discard(id(node))
                done.add(id(node))
                continue
            if id(node) in open_:
                mark = node.start_mark
                raise YamlProblems(
                    [
                        Problem(
                            "recursive alias: a node contains itself",
                            filename,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    ]
                )
            if id(node) in done or not isinstance(node, MappingNode | SequenceNode):
                continue
            open_.add(id(node))
            stack.append((node, True))
            children = (
                node.value
                if isinstance(node, SequenceNode)
                else [part for pair in node.value for part in pair]
            )
            stack.extend((child, False) for child in children)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


@cache
def _constructor() -> Any:
    """The round-trip constructor, except that timestamps stay text (`2026-02-30` is then a
    positioned problem of the config, not a crash of the loader)."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class _Constructor(RoundTripConstructor):
        pass

    _Constructor.add_constructor(
        "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
    )
    return _Constructor


def _marked_problem(exc: Any, filename: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if "duplicate key" in problem:
        problem = problem.split(" with value")[0]
        return Problem(problem, filename, line, col)
    context = (exc.context or "").strip()
    if context and exc.context_mark is not None and exc.problem:
        where = f"line {exc.context_mark.line + 1}"
        return Problem(f"YAML syntax error: {problem} ({context} at {where})", filename, line, col)
    return Problem(f"YAML syntax error: {problem}", filename, line, col)


class _Flattener:
    """Turns ruamel nodes into plain data, recording positions and capping alias expansion."""

    def __init__(self, filename: str, budget: int) -> None:
        self.filename = filename
        self.budget = budget
        self.count = 0
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.values: dict[Path_, tuple[int, int]] = {}
        self.stack: set[int] = set()

    def convert(self, node: Any, path: Path_) -> Any:
        self.count += 1
        if self.count > self.budget:
            line, col = self._where(path)
            raise YamlProblems(
                [
                    Problem(
                        "aliases expand to too many nodes (alias bomb?); refusing to load",
                        self.filename,
                        line,
                        col,
                    )
                ]
            )
        if isinstance(node, dict | list):
            if id(node) in self.stack:
                line, col = self._where(path)
                raise YamlProblems(
                    [Problem("recursive alias: a node contains itself", self.filename, line, col)]
                )
            self.stack.add(id(node))
            try:
                if isinstance(node, dict):
                    return self._mapping(node, path)
                return self._sequence(node, path)
            finally:
                self.stack.discard(id(node))
        return _scalar(node)

    def _mapping(self, node: dict[Any, Any], path: Path_) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            name = _key_text(key)
            sub = (*path, name)
            self.keys[sub] = position_of(node, key)
            vpos = value_position_of(node, key)
            if vpos is not None:
                self.values[sub] = vpos
            out[name] = self.convert(value, sub)
        return out

    def _sequence(self, node: list[Any], path: Path_) -> list[Any]:
        out = []
        for index, value in enumerate(node):
            sub = (*path, index)
            self.keys[sub] = self.values[sub] = position_of(node, index)
            out.append(self.convert(value, sub))
        return out

    def _where(self, path: Path_) -> tuple[int, int]:
        probe = path
        while probe:
            if probe in self.keys:
                return self.keys[probe]
            probe = probe[:-1]
        return (1, 1)


def _flatten(
    root: Any, filename: str
) -> tuple[Any, dict[Path_, tuple[int, int]], dict[Path_, tuple[int, int]]]:
    nodes = sum(1 for _ in _distinct_nodes(root))
    flattener = _Flattener(filename, 2 * nodes + ALIAS_SLACK)
    data = flattener.convert(root, ())
    return data, flattener.keys, flattener.values


def _distinct_nodes(root: Any) -> Iterator[Any]:
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)


def _key_text(key: Any) -> str:
    value = _scalar(key)
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return str(value)
    return str(value)


def _scalar(node: Any) -> Any:
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, int):
        return bool(node) if type(node).__name__ == "ScalarBoolean" else int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, _dt.datetime | _dt.date):
        return node.isoformat()
    if isinstance(node, bytes):
        return node.decode("utf-8", "replace")
    if isinstance(node, tuple | set | frozenset):
        return [_scalar(n) for n in node]
    return str(node)
