"""The repository archive is streamed with per-file caps (issue 27, item 4): a large file
is hashed chunk by chunk and never held; past the archive budget the listing comes from
the trees API instead. Memory is measured with tracemalloc; requests by the sandbox."""

from __future__ import annotations

import base64
import os
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from promotion.fleet import create

from bot.adapters import gitdata
from bot.adapters.gitdata import ArchiveTooLarge, GitData, git_blob_sha, unpack_stream
from bot.adapters.github import GitHubClient

REPO = "acme/budget"
BIG = 24 << 20  # bytes of incompressible data in one file


def _archive(tmp: Path, big: bytes) -> Path:
    """A gzipped tar like GitHub's (one top folder) on disk: a small file and a big one."""
    source = tmp / "acme-budget-1234567"
    (source / "deploy").mkdir(parents=True)
    (source / "deploy" / "a.yaml").write_bytes(b"image: ghcr.io/acme/a:1\n")
    (source / "blob.bin").write_bytes(big)
    path = tmp / "archive.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.add(source, arcname=source.name)
    return path


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            yield chunk


def test_a_big_file_is_hashed_as_it_streams_not_held(tmp_path: Path) -> None:
    big = os.urandom(BIG)
    path = _archive(tmp_path, big)
    expected = git_blob_sha(big)
    del big
    tracemalloc.start()
    try:
        files, texts = unpack_stream(_chunks(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert files == {
        "deploy/a.yaml": git_blob_sha(b"image: ghcr.io/acme/a:1\n"),
        "blob.bin": expected,
    }
    assert list(texts.values()) == ["image: ghcr.io/acme/a:1\n"]
    assert peak < 4 << 20, f"peak {peak >> 10} KiB while streaming a {BIG >> 20} MiB file"


def test_past_the_compressed_budget_the_stream_stops(tmp_path: Path) -> None:
    path = _archive(tmp_path, os.urandom(1 << 20))
    with pytest.raises(ArchiveTooLarge, match="compressed"):
        unpack_stream(_chunks(path), max_archive=256 << 10)
    with pytest.raises(ArchiveTooLarge, match="files"):
        unpack_stream(_chunks(path), max_entries=1)


def test_an_archive_past_the_budget_is_listed_from_the_trees_api(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"deploy/f{i}.yaml": f"image: ghcr.io/acme/s{i}:1.0.0\n" for i in range(4)}
    files["blob.txt"] = base64.b64encode(os.urandom(48 << 10)).decode()  # hardly compresses
    create(sandbox, REPO, files)
    monkeypatch.setattr(gitdata, "MAX_ARCHIVE", 16 << 10)  # the repository is larger
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        git = GitData(client)
        mark = len(sandbox.server.request_log)
        tip = git.tip("main")
        texts = git.read(tip, sorted(files))
        log = sandbox.server.request_log[mark:]
    assert texts == files
    assert set(tip.files) == set(files)
    paths = [p for _, p, _, _ in log]
    assert any("/tarball/" in p for p in paths) and any("/git/trees/" in p for p in paths)
    assert sum("/git/blobs/" in p for p in paths) == len(files)  # contents read per blob
