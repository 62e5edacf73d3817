"""`release-train bump`'s atomic replacement of a file's text (bot/commands/_replace_files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.commands._replace_files import replace_text


def test_replaces_the_bytes_and_keeps_the_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "deploy.yaml"
    target.write_bytes(b"image: a:1\r\n")
    target.chmod(0o640)
    new = "image: a:2\r\n# caf\u00e9, no final newline"
    replace_text(str(target), new)
    assert target.read_bytes() == new.encode("utf-8")  # CRLF and UTF-8 exactly as given
    assert target.stat().st_mode & 0o7777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["deploy.yaml"]  # no temporary file left


def test_a_leftover_temporary_file_of_the_same_name_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "values.yaml"
    target.write_text("tag: 1\n")
    stale = tmp_path / f".values.yaml.{os.getpid()}.release-train"
    stale.write_text("someone else's\n")
    replace_text(str(target), "tag: 2\n")
    assert target.read_text() == "tag: 2\n"
    assert stale.read_text() == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [stale.name, "values.yaml"]


def test_a_failed_replacement_leaves_the_old_text_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.mkdir()  # renaming a file over a directory fails
    with pytest.raises(OSError):
        replace_text(str(target), "images: []\n")
    assert target.is_dir() and list(tmp_path.iterdir()) == [target]
