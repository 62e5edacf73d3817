"""Deep merge of configuration layers, remembering which file each value came from.

Layers go from the bottom (shipped defaults) to the top (the repository's file). Mappings
merge recursively; lists and scalars from the upper layer replace the lower one whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config.yaml_source import YamlDoc

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Merged:
    """The merged data and, per path, the layer that wrote it (nearest ancestor wins)."""

    data: dict[str, Any]
    origins: dict[Path_, YamlDoc] = field(default_factory=dict)
    top: YamlDoc | None = None

    def origin(self, path: Path_) -> YamlDoc | None:
        probe = tuple(path)
        while True:
            if probe in self.origins:
                return self.origins[probe]
            if not probe:
                return self.top
            probe = probe[:-1]

    def locate(self, path: Path_, value: bool = False) -> tuple[str, int, int]:
        """(file, line, col) of the value at `path` in the file that holds it."""
        doc = self.origin(path)
        if doc is None:
            return ("", 0, 0)
        line, col = doc.where(path, value=value)
        return (doc.filename, line, col)


def merge_layers(layers: Sequence[YamlDoc], drop: tuple[str, ...] = ("extends",)) -> Merged:
    """Deep-merge `layers` (lowest first). Top-level keys in `drop` are left out."""
    origins: dict[Path_, YamlDoc] = {}
    data: dict[str, Any] = {}
    for layer in layers:
        upper = {k: v for k, v in layer.data.items() if k not in drop}
        data = _merge(data, upper, (), layer, origins)
    return Merged(data, origins, layers[-1] if layers else None)


def _merge(lower: Any, upper: Any, path: Path_, doc: YamlDoc, origins: dict[Path_, YamlDoc]) -> Any:
    if not (isinstance(lower, dict) and isinstance(upper, dict)):
        _claim(path, doc, origins)
        return upper
    # Pin every child of `lower` to the layer that wrote it before `path` is re-claimed by
    # `doc`, so children that `doc` does not replace keep pointing into their own file.
    for key in lower:
        sub = (*path, key)
        if sub not in origins:
            pinned = _lookup(origins, sub)
            if pinned is not None:
                origins[sub] = pinned
    origins[path] = doc
    out = dict(lower)
    for key, value in upper.items():
        sub = (*path, key)
        if key in lower:
            out[key] = _merge(lower[key], value, sub, doc, origins)
        else:
            _claim(sub, doc, origins)
            out[key] = value
    return out


def _lookup(origins: dict[Path_, YamlDoc], path: Path_) -> YamlDoc | None:
    probe = path
    while True:
        if probe in origins:
            return origins[probe]
        if not probe:
            return None
        probe = probe[:-1]


def _claim(path: Path_, doc: YamlDoc, origins: dict[Path_, YamlDoc]) -> None:
    """`path` and everything below it now come from `doc`."""
    for stale in [p for p in origins if p[: len(path)] == path and len(p) > len(path)]:
        del origins[stale]
    origins[path] = doc
