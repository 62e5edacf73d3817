"""Bare repositories under ``DIR/git/<owner>/<name>.git``, driven by the real `git` CLI.

Only plumbing is used (hash-object, update-index on a private index, write-tree,
commit-tree, update-ref with compare-and-swap, merge-tree --write-tree, rev-list,
cat-file --batch), so merges, conflicts and fast-forward checks are git's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ZERO = "0" * 40
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


class GitError(Exception):
    """git refused or failed; `stderr` says why."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args[:3])} exited {code}: {stderr.strip()[:500]}")
        self.code = code
        self.stderr = stderr


class RefConflict(Exception):
    """A compare-and-swap ref update lost: the ref was not at the expected value."""


class UnsafePath(ValueError):
    """A path that could escape the repository (``..``, absolute, ``.git``)."""


def check_name(name: str) -> str:
    """An owner or repository name safe to use as a directory name."""
    if not _NAME.match(name) or name in (".", "..") or name.lower().endswith(".git"):
        raise UnsafePath(f"invalid name: {name!r}")
    return name


def check_path(path: str) -> str:
    """A repository-relative file path, normalized; refuses anything that could escape."""
    if "\0" in path or "\\" in path or path.startswith("/"):
        raise UnsafePath(f"unsafe path: {path!r}")
    parts = [p for p in path.split("/") if p != ""]
    for part in parts:
        if part in (".", "..") or part.lower() == ".git":
            raise UnsafePath(f"unsafe path: {path!r}")
    return "/".join(parts)


def is_sha(text: str) -> bool:
    return bool(_SHA.match(text))


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: str  # git's raw "<epoch> <tz>" or an ISO 8601 instant


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    size: int | None
    path: str


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added | removed | modified | renamed
    additions: int
    deletions: int
    sha: str | None
    previous_filename: str | None = None
    patch: str | None = None


class GitStore:
    """All git storage of the sandbox, one bare repository per GitHub repository."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, repo: str) -> Path:
        owner, name = repo.split("/", 1)
        return self.root / check_name(owner) / f"{check_name(name)}.git"

    def exists(self, repo: str) -> bool:
        return (self.path(repo) / "HEAD").exists()

    def run(
        self,
        repo: str,
        *args: str,
        input: bytes | None = None,
        ok: tuple[int, ...] = (0,),
        env: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        cmd = ["git", "--git-dir", str(self.path(repo)), *args]
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", **(env or {})}
        full_env.setdefault("HOME", str(self.root))
        proc = subprocess.run(cmd, input=input, capture_output=True, env=full_env, check=False)
        if proc.returncode not in ok:
            raise GitError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.returncode, proc.stdout

    def out(
        self, repo: str, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> str:
        out = self.run(repo, *args, input=input, env=env)[1]
        return out.decode("utf-8", errors="replace").strip()

    # -- repositories ------------------------------------------------------------------

    def init(self, repo: str, default_branch: str = "main") -> None:
        path = self.path(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "-q", "-b", default_branch, str(path)],
            check=True,
            capture_output=True,
        )
        self.run(repo, "config", "core.logAllRefUpdates", "false")

    # -- objects -------------------------------------------------------------------------

    def hash_blob(self, repo: str, data: bytes) -> str:
        return self.out(repo, "hash-object", "-w", "--no-filters", "--stdin", input=data)

    def hash_blobs(self, repo: str, blobs: list[bytes]) -> list[str]:
        """Write many blobs; their shas in order. Many go into one pack via `fast-import`."""
        if len(blobs) < 20:
            return [self.hash_blob(repo, b) for b in blobs]
        stream = bytearray()
        for i, data in enumerate(blobs, start=1):
            stream += b"blob\nmark :%d\ndata %d\n" % (i, len(data))
            stream += data + b"\n"
        with tempfile.TemporaryDirectory(dir=self.path(repo)) as tmp:
            marks = Path(tmp) / "marks"
            self.run(repo, "fast-import", "--quiet", f"--export-marks={marks}", input=bytes(stream))
            by_mark = dict(line.split(" ", 1) for line in marks.read_text().splitlines())
        return [by_mark[f":{i}"] for i in range(1, len(blobs) + 1)]

    def object_type(self, repo: str, sha: str) -> str | None:
        code, out = self.run(repo, "cat-file", "-t", sha, ok=(0, 1, 128))
        return out.decode().strip() if code == 0 else None

    def read_objects(self, repo: str, shas: list[str]) -> dict[str, tuple[str, bytes]]:
        """Many objects in one `cat-file --batch`; missing ones are left out."""
        if not shas:
            return {}
        _, out = self.run(
            repo, "cat-file", "--batch", input="".join(s + "\n" for s in shas).encode()
        )
        result: dict[str, tuple[str, bytes]] = {}
        pos = 0
        for sha in shas:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode().split()
            pos = end + 1
            if len(header) == 2 and header[1] == "missing":
                continue
            size = int(header[2])
            result[sha] = (header[1], out[pos : pos + size])
            pos += size + 1
        return result

    def read_blob(self, repo: str, sha: str) -> bytes | None:
        obj = self.read_objects(repo, [sha]).get(sha)
        return obj[1] if obj and obj[0] == "blob" else None

    def read_commit(self, repo: str, sha: str) -> Commit | None:
        obj = self.read_objects(repo, [sha]).get(sha)
        if obj is None or obj[0] != "commit":
            return None
        return parse_commit(sha, obj[1])

    def resolve(self, repo: str, rev: str) -> str | None:
        """The commit a branch, tag, ref or sha names, or None (one `cat-file` call)."""
        if not rev or rev.startswith("-") or any(c in rev for c in "\n\r\0 "):
            return None
        candidates = [f"refs/heads/{rev}", f"refs/tags/{rev}", rev]
        query = "".join(f"{c}^{{commit}}\n" for c in candidates).encode()
        _, out = self.run(repo, "cat-file", "--batch-check", input=query)
        for line in out.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "commit":
                return parts[0]
        return None

    def ref(self, repo: str, ref: str) -> str | None:
        """The sha a full ref (``refs/heads/main``) points at, or None."""
        code, out = self.run(repo, "rev-parse", "--verify", "--quiet", ref, ok=(0, 1, 128))
        return out.decode().strip() if code == 0 else None

    def refs(self, repo: str, prefix: str = "refs/") -> list[tuple[str, str, str]]:
        """(ref, sha, object type) for every ref under a prefix, sorted by name."""
        out = self.out(
            repo, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix
        )
        rows = [tuple(line.split(" ")) for line in out.splitlines() if line]
        return [(r[0], r[1], r[2]) for r in rows if r[0].startswith(prefix)]

    # -- writing -----------------------------------------------------------------------

    def write_tree(
        self, repo: str, base_tree: str | None, changes: dict[str, tuple[str, str] | None]
    ) -> str:
        """A new tree: `base_tree` with path -> (mode, blob sha) set, or None deleted."""
        with tempfile.TemporaryDirectory(dir=self.path(repo)) as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base_tree:
                self.run(repo, "read-tree", base_tree, env=env)
            else:
                self.run(repo, "read-tree", "--empty", env=env)
            lines = []
            for path, change in changes.items():
                safe = check_path(path)
                if change is None:
                    lines.append(f"0 {ZERO}\t{safe}\0")
                else:
                    lines.append(f"{change[0]} {change[1]}\t{safe}\0")
            if lines:
                self.run(
                    repo,
                    "update-index",
                    "-z",
                    "--index-info",
                    input="".join(lines).encode(),
                    env=env,
                )
            return self.out(repo, "write-tree", env=env)

    def commit_tree(
        self,
        repo: str,
        tree: str,
        parents: list[str],
        message: str,
        author: Person,
        committer: Person | None = None,
    ) -> str:
        committer = committer or author
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.date,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.date,
        }
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.run(repo, *args, input=message.encode(), env=env)[1].decode().strip()

    def valid_ref_name(self, ref: str) -> bool:
        """Whether git accepts `ref` as a reference name (`git check-ref-format`)."""
        if ref.startswith("-"):
            return False
        proc = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)
        return proc.returncode == 0

    def update_ref(self, repo: str, ref: str, new: str, old: str | None) -> None:
        """Compare-and-swap: move `ref` to `new` only if it is at `old` (None: must not exist)."""
        code, _ = self.run(repo, "update-ref", "--no-deref", ref, new, old or ZERO, ok=(0, 1, 128))
        if code != 0:
            raise RefConflict(f"{ref} is not at {old}")

    def delete_ref(self, repo: str, ref: str, old: str) -> None:
        code, _ = self.run(repo, "update-ref", "--no-deref", "-d", ref, old, ok=(0, 1, 128))
        if code != 0:
            raise RefConflict(f"{ref} is not at {old}")

    # -- history -----------------------------------------------------------------------

    def is_ancestor(self, repo: str, ancestor: str, descendant: str) -> bool:
        code, _ = self.run(repo, "merge-base", "--is-ancestor", ancestor, descendant, ok=(0, 1))
        return code == 0

    def merge_base(self, repo: str, a: str, b: str) -> str | None:
        code, out = self.run(repo, "merge-base", a, b, ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    def ahead_behind(self, repo: str, base: str, head: str) -> tuple[int, int]:
        """(ahead_by, behind_by) of head relative to base."""
        out = self.out(repo, "rev-list", "--left-right", "--count", f"{base}...{head}")
        behind, ahead = out.split()
        return int(ahead), int(behind)

    def log(self, repo: str, rev_range: str, limit: int | None = None) -> list[str]:
        """Commit shas in a range, oldest first."""
        args = ["rev-list", "--reverse", "--topo-order"]
        if limit is not None:
            args.append(f"--max-count={limit}")
        out = self.out(repo, *args, rev_range, "--")
        return out.splitlines()

    def history(self, repo: str, rev: str, path: str | None = None, limit: int = 100) -> list[str]:
        """Commit shas reachable from `rev`, newest first, optionally touching `path`."""
        args = ["rev-list", f"--max-count={limit}", rev, "--"]
        if path:
            args.append(check_path(path))
        return self.out(repo, *args).splitlines()

    def merge_tree(self, repo: str, ours: str, theirs: str) -> tuple[str, list[str]]:
        """Three-way merge without a worktree: (tree sha, conflicted paths)."""
        code, out = self.run(
            repo,
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            ours,
            theirs,
            ok=(0, 1),
        )
        parts = out.decode("utf-8", errors="replace").split("\0")
        tree = parts[0].strip()
        conflicts = [p for p in parts[1:] if p] if code == 1 else []
        return tree, sorted(set(conflicts))

    # -- trees and diffs ---------------------------------------------------------------

    def ls_tree(
        self, repo: str, treeish: str, path: str = "", *, recursive: bool = False
    ) -> list[TreeEntry]:
        """Entries of a tree (or the entries inside directory `path`)."""
        args = ["ls-tree", "-l", "-z"]
        if recursive:
            args += ["-r", "-t"]
        args.append(treeish)
        if path:
            args.append(check_path(path) + "/")
        _, out = self.run(repo, *args, ok=(0,))
        entries = []
        for line in out.decode("utf-8", errors="replace").split("\0"):
            if not line:
                continue
            meta, name = line.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(mode, kind, sha, None if size == "-" else int(size), name))
        return entries

    def entry(self, repo: str, treeish: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` (a file or a directory), or None."""
        safe = check_path(path)
        if not safe:
            tree = self.out(repo, "rev-parse", f"{treeish}^{{tree}}")
            return TreeEntry("040000", "tree", tree, None, "")
        _, out = self.run(repo, "ls-tree", "-l", "-z", treeish, "--", safe)
        for line in out.decode("utf-8", errors="replace").split("\0"):
            if line:
                meta, name = line.split("\t", 1)
                mode, kind, sha, size = meta.split()
                if name == safe:
                    return TreeEntry(mode, kind, sha, None if size == "-" else int(size), name)
        return None

    def diff(self, repo: str, base: str, head: str, *, patches: bool = True) -> list[FileChange]:
        """Files changed between two commits (no rename detection), with unified patches."""
        _, raw = self.run(repo, "diff-tree", "-r", "-z", "--no-renames", "--numstat", base, head)
        counts: dict[str, tuple[int, int]] = {}
        for item in raw.decode("utf-8", errors="replace").split("\0"):
            if item.strip():
                plus, minus, name = item.split("\t", 2)
                counts[name] = (int(plus) if plus != "-" else 0, int(minus) if minus != "-" else 0)
        _, raw = self.run(repo, "diff-tree", "-r", "-z", "--no-renames", base, head)
        fields = raw.decode("utf-8", errors="replace").split("\0")
        text = (
            self.out(repo, "diff-tree", "-r", "-p", "--no-renames", base, head) if patches else ""
        )
        patch_by_file = _split_patch(text)
        changes = []
        for meta, name in zip(fields[0::2], fields[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            _, _, _, new_sha, letter = meta[1:].split(" ")
            status = {"A": "added", "D": "removed"}.get(letter[0], "modified")
            add, rem = counts.get(name, (0, 0))
            sha = None if status == "removed" else new_sha
            changes.append(FileChange(name, status, add, rem, sha, None, patch_by_file.get(name)))
        return changes


def _split_patch(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("diff --git "):
            if current is not None:
                out[current] = "\n".join(lines)
            current, lines = line.split(" b/", 1)[-1], []
        elif current is not None and (lines or line.startswith("@@")):
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines)
    return out


def parse_commit(sha: str, raw: bytes) -> Commit:
    text = raw.decode("utf-8", errors="replace")
    header, _, message = text.partition("\n\n")
    tree, parents = "", []
    people: dict[str, Person] = {}
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key in ("author", "committer"):
            name, _, rest = value.partition(" <")
            email, _, date = rest.partition("> ")
            people[key] = Person(name, email, date)
    return Commit(sha, tree, tuple(parents), people["author"], people["committer"], message)
