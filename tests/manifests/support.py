"""Shared helpers for the manifest updater tests: corpus locations and byte-level checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.core.manifests import Edit
from bot.core.manifests.yaml_path import parse_path

REPO_ROOT = Path(__file__).resolve().parents[2]
TRICKY = Path(__file__).parent / "tricky"


def read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_typed(text: str, version: tuple[int, int]) -> list[Any]:
    """Construct Python values with a safe loader of the given YAML version."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.version = version
    return list(yaml.load_all(text))


def value_at(document: Any, path: str) -> Any:
    """Follow a bot YAML path through constructed Python values."""
    current = [document]
    for step in parse_path(path):
        following: list[Any] = []
        for value in current:
            if step.key is not None:
                if isinstance(value, dict) and step.key in value:
                    following.append(value[step.key])
            elif step.index is not None:
                following.append(value[step.index])
            elif step.every:
                following.extend(value)
            else:
                assert step.match is not None
                key, wanted = step.match
                following += [v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted]
        current = following
    assert len(current) == 1, (path, current)
    return current[0]


def assert_reads_back(new_text: str, edits: list[Edit]) -> None:
    """Every edited value reads back as exactly the new string, in YAML 1.1 and 1.2."""
    for version in ((1, 1), (1, 2)):
        docs = load_typed(new_text, version)
        for edit in edits:
            got = value_at(docs[edit.document], edit.path)
            assert isinstance(got, str) and got == edit.new, (version, edit, got)


def assert_only_edited_lines_changed(old: str, new: str, edits: list[Edit]) -> None:
    """Same number of lines; the changed lines are exactly the edited ones; in each, the
    bytes before the value are untouched and the line ending is kept."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    inserted = sorted((e for e in edits if e.inserted), key=lambda e: e.line)
    grown = len(new_lines) - len(old_lines)
    for edit in inserted[:grown]:  # each inserted line is `key: value` at its original position
        added = new_lines.pop(edit.line - 1)
        assert added.strip().startswith(edit.path.rsplit(".", 1)[-1] + ": "), (edit, added)
    if grown and old and not old.endswith("\n"):
        new_lines[-1] = new_lines[-1].rstrip("\r\n")
    inline = inserted[grown:]  # `, key: value` added inside a flow mapping
    edits = [e for e in edits if not e.inserted]
    assert len(old_lines) == len(new_lines)
    changed = {i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b}
    assert changed == {edit.line for edit in edits + inline}
    for edit in edits:
        a, b = old_lines[edit.line - 1], new_lines[edit.line - 1]
        assert a[: edit.col - 1] == b[: edit.col - 1]
        assert a[len(a.rstrip("\r\n")) :] == b[len(b.rstrip("\r\n")) :]
