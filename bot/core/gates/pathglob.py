"""A glob matcher in linear time for patterns the bot does not control (CODEOWNERS).

A regex translation of `*a*a*a*a*a*b` backtracks exponentially on a long path, holding the
interpreter lock for minutes. Here a pattern is a small NFA (one node per pattern element)
simulated over the path a character at a time, so a match costs O(len(path) * len(pattern))
whatever the pattern; the state sets reached are memoised (bounded) so common prefixes of
paths cost one dictionary lookup per character.

Elements: a literal character; `?` (one character but `/`); `*` (any run without `/`);
`**` (any run); `DIRS` (`(?:.*/)?`: nothing, or any run ending in `/`); `SUB` (`(?:/.+)?`:
nothing, or `/` and at least one more character).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ANY = "**"  # any run of characters
STAR = "*"  # any run of characters except `/`
ONE = "?"  # one character except `/`
DIRS = "dirs/"  # nothing, or any run ending in `/`
SUB = "/sub"  # nothing, or `/` and at least one character
PLUS = ".+"  # at least one character
MAX_MEMO = 4096  # remembered (state set, character) steps per pattern

# A node: (predicate, loops). predicate None: any character; "": any but `/`; else that
# character. A looping node stays on a match and may be skipped; a plain node advances.
# A jump node (predicate "jump") may skip ahead to `target` without consuming.
_Node = tuple[str | None, bool, int]


def _accepts(predicate: str | None, char: str) -> bool:
    if predicate is None:
        return True
    if predicate == "":
        return char != "/"
    return char == predicate


def _nodes(elements: Sequence[str]) -> list[_Node]:
    nodes: list[_Node] = []
    for element in elements:
        here = len(nodes)
        if element == ANY:
            nodes.append((None, True, 0))
        elif element == STAR:
            nodes.append(("", True, 0))
        elif element == ONE:
            nodes.append(("", False, 0))
        elif element == PLUS:
            nodes += [(None, False, 0), (None, True, 0)]
        elif element == DIRS:  # skip, or: any run, then "/"
            nodes += [("jump", False, here + 3), (None, True, 0), ("/", False, 0)]
        elif element == SUB:  # skip, or: "/", one character, any run
            nodes += [("jump", False, here + 4), ("/", False, 0), (None, False, 0)]
            nodes.append((None, True, 0))
        else:
            nodes.append((element, False, 0))
    return nodes


@dataclass
class Glob:
    """A compiled pattern: `match(path)` is True when the whole path matches."""

    pattern: str
    elements: tuple[str, ...]
    _nodes: list[_Node] = field(init=False, repr=False)
    _start: frozenset[int] = field(init=False, repr=False)
    _memo: dict[tuple[frozenset[int], str], frozenset[int]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._nodes = _nodes(self.elements)
        self._start = self._closure({0})

    def _closure(self, states: set[int]) -> frozenset[int]:
        todo, seen = list(states), set(states)
        while todo:
            index = todo.pop()
            if index >= len(self._nodes):
                continue
            predicate, loops, target = self._nodes[index]
            nexts = [index + 1, target] if predicate == "jump" else [index + 1] if loops else []
            for n in nexts:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return frozenset(seen)

    def _step(self, states: frozenset[int], char: str) -> frozenset[int]:
        key = (states, char)
        found = self._memo.get(key)
        if found is not None:
            return found
        moved: set[int] = set()
        for index in states:
            if index >= len(self._nodes):
                continue
            predicate, loops, _ = self._nodes[index]
            if predicate != "jump" and _accepts(predicate, char):
                moved.add(index if loops else index + 1)
        found = self._closure(moved)
        if len(self._memo) >= MAX_MEMO:
            self._memo.clear()
        self._memo[key] = found
        return found

    def match(self, path: str) -> bool:
        states = self._start
        for char in path:
            states = self._step(states, char)
            if not states:
                return False
        return len(self._nodes) in states
