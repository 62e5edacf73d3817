"""GitStore against the real git CLI, and the path guard as a property."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.gitstore import GitStore, Person, RefConflict, UnsafePath, check_name, check_path

ME = Person("Tester", "t@example.com", "2024-01-01T00:00:00Z")


@pytest.fixture
def git(tmp_path: Path) -> GitStore:
    store = GitStore(tmp_path / "git")
    store.init("o/r")
    return store


def commit(git: GitStore, parent: str | None, files: dict[str, str | None], msg: str) -> str:
    changes: dict[str, tuple[str, str] | None] = {
        p: None if c is None else ("100644", git.hash_blob("o/r", c.encode()))
        for p, c in files.items()
    }
    base = git.out("o/r", "rev-parse", f"{parent}^{{tree}}") if parent else None
    tree = git.write_tree("o/r", base, changes)
    return git.commit_tree("o/r", tree, [parent] if parent else [], msg, ME)


def test_compare_and_swap_refs(git: GitStore) -> None:
    a = commit(git, None, {"f": "1"}, "a")
    b = commit(git, a, {"f": "2"}, "b")
    git.update_ref("o/r", "refs/heads/main", a, None)
    with pytest.raises(RefConflict):
        git.update_ref("o/r", "refs/heads/main", b, None)  # must not exist yet: it does
    with pytest.raises(RefConflict):
        git.update_ref("o/r", "refs/heads/main", b, b)  # stale expectation
    git.update_ref("o/r", "refs/heads/main", b, a)
    assert git.ref("o/r", "refs/heads/main") == b
    with pytest.raises(RefConflict):
        git.delete_ref("o/r", "refs/heads/main", a)
    git.delete_ref("o/r", "refs/heads/main", b)
    assert git.ref("o/r", "refs/heads/main") is None


def test_merge_tree_reports_conflicts_and_clean_merges(git: GitStore) -> None:
    base = commit(git, None, {"f": "1\n2\n3\n", "g": "x"}, "base")
    ours = commit(git, base, {"f": "ONE\n2\n3\n"}, "ours")
    clean = commit(git, base, {"f": "1\n2\nTHREE\n", "g": None}, "clean")
    clash = commit(git, base, {"f": "uno\n2\n3\n"}, "clash")
    tree, conflicts = git.merge_tree("o/r", ours, clean)
    assert conflicts == []
    merged = {e.path for e in git.ls_tree("o/r", tree)}
    assert merged == {"f"}
    blob = git.entry("o/r", tree, "f")
    assert blob is not None
    assert git.read_blob("o/r", blob.sha) == b"ONE\n2\nTHREE\n"
    _, conflicts = git.merge_tree("o/r", ours, clash)
    assert conflicts == ["f"]


def test_history_queries(git: GitStore) -> None:
    a = commit(git, None, {"f": "1"}, "a")
    b = commit(git, a, {"g": "1"}, "b")
    c = commit(git, a, {"h": "1"}, "c")
    assert git.ahead_behind("o/r", b, c) == (1, 1)
    assert git.merge_base("o/r", b, c) == a
    assert git.is_ancestor("o/r", a, b) and not git.is_ancestor("o/r", b, c)
    assert git.log("o/r", f"{a}..{b}") == [b]
    git.update_ref("o/r", "refs/heads/main", b, None)
    git.update_ref("o/r", "refs/tags/v1", c, None)
    assert git.resolve("o/r", "main") == b
    assert git.resolve("o/r", "v1") == c
    assert git.resolve("o/r", a[:12]) == a
    assert git.resolve("o/r", "nope") is None
    assert git.resolve("o/r", "--output=x") is None
    changes = git.diff("o/r", a, b)
    assert [(c.filename, c.status, c.additions) for c in changes] == [("g", "added", 1)]


def test_bulk_blobs_match_single_blobs(git: GitStore) -> None:
    blobs = [f"content {i}\n".encode() for i in range(30)] + [b"", b"\x00\xff"]
    assert git.hash_blobs("o/r", blobs) == [git.hash_blob("o/r", b) for b in blobs]


def test_names_that_could_escape_are_refused(git: GitStore) -> None:
    for bad in ("..", ".", "a/b", "x.git", "", "a b"):
        with pytest.raises(UnsafePath):
            check_name(bad)
    with pytest.raises(UnsafePath):
        git.path("../x")


@given(
    st.lists(
        st.sampled_from(["a", "b", "..", ".", "", ".git", ".GIT", "c.txt", "/", "\\"]), max_size=6
    )
)
def test_accepted_paths_stay_inside_the_repository(parts: list[str]) -> None:
    raw = "/".join(parts)
    try:
        safe = check_path(raw)
    except UnsafePath:
        return
    joined = posixpath.normpath(posixpath.join("/repo", safe))
    assert joined == "/repo" or joined.startswith("/repo/")
    assert ".git" not in [p.lower() for p in safe.split("/")]
    assert ".." not in safe.split("/")
