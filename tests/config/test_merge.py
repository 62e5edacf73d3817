"""Deep merge: mappings merge recursively, lists and scalars from the upper layer win, and
every value remembers the file that wrote it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.merge import merge_layers
from bot.config.yaml_source import YamlDoc

KEYS = st.sampled_from(["a", "b", "c", "d"])
LEAVES = st.one_of(st.integers(0, 9), st.lists(st.integers(0, 9), max_size=2), st.none())
TREES = st.recursive(LEAVES, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=12)
DOCS = st.dictionaries(KEYS, TREES, max_size=4)


def _doc(name: str, data: dict[str, Any]) -> YamlDoc:
    """A layer whose every path is 'written' at line = depth, col = 1 (enough to locate)."""
    keys: dict[tuple[str | int, ...], tuple[int, int]] = {}

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                keys[(*path, key)] = (len(path) + 1, 1)
                walk(value, (*path, key))

    walk(data, ())
    return YamlDoc(name, data, keys, dict(keys))


def _leaves(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Scalar and list values by path (an empty mapping has none: it merges, not replaces)."""
    if isinstance(node, dict):
        out: dict[tuple[str, ...], Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, (*path, key)))
        return out
    return {path: node}


def _get(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@settings(max_examples=200, deadline=None)
@given(DOCS, DOCS)
def test_upper_leaves_win_and_lower_ones_survive(
    lower: dict[str, Any], upper: dict[str, Any]
) -> None:
    merged = merge_layers([_doc("lower.yml", lower), _doc("upper.yml", upper)])
    for path, value in _leaves(upper).items():
        if path:
            assert _get(merged.data, path) == value
            assert merged.locate(path)[0] == "upper.yml"
    for path, value in _leaves(lower).items():
        if not path:
            continue
        # A lower leaf survives unless the upper layer wrote something at or above it.
        shadowed = any(
            path[:i] in _paths(upper)
            and not (
                isinstance(_get(upper, path[:i]), dict) and isinstance(_get(lower, path[:i]), dict)
            )
            for i in range(1, len(path) + 1)
        )
        if not shadowed:
            assert _get(merged.data, path) == value
            assert merged.locate(path)[0] == "lower.yml"


def _paths(node: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            out.add((*path, key))
            out |= _paths(value, (*path, key))
    return out


def test_lists_are_replaced_whole_and_extends_is_dropped() -> None:
    lower = _doc("d.yml", {"incident": {"labels": ["a", "b"], "assignees": ["x"]}})
    upper = _doc("r.yml", {"extends": "d.yml", "incident": {"labels": ["mine"]}})
    merged = merge_layers([lower, upper])
    assert merged.data == {"incident": {"labels": ["mine"], "assignees": ["x"]}}
    assert merged.locate(("incident", "labels", 0))[0] == "r.yml"
    assert merged.locate(("incident", "assignees"))[0] == "d.yml"
    assert merged.locate(("incident",))[0] == "r.yml"
    assert merged.locate(())[0] == "r.yml"


def test_three_layers() -> None:
    merged = merge_layers(
        [
            _doc("default.yml", {"g": {"a": 1, "b": 1, "c": 1}}),
            _doc("policy.yml", {"g": {"b": 2, "c": 2}}),
            _doc("repo.yml", {"g": {"c": 3}}),
        ]
    )
    assert merged.data == {"g": {"a": 1, "b": 2, "c": 3}}
    assert [merged.locate(("g", k))[0] for k in "abc"] == ["default.yml", "policy.yml", "repo.yml"]
