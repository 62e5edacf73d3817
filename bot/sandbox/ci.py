"""A CI stand-in that decides a commit's check from what is in its tree.

`TreeCI(sandbox, repo).tick()` runs "CI" (one check run, `ci` by default, made by the CI
App) on every branch head of `repo` that has none yet, and answers each re-run asked for
since the last tick (`POST /check-runs/{id}/rerequest`, as GitHub Actions would: a new run,
a new id, on the same commit). So a pull request can be "the one that breaks the tests" by
what it adds, and a train's candidate branches get their verdict once pushed:

- ``ci/breaks`` or any ``ci/breaks-*`` file: the check fails;
- ``ci/pair-<x>-a`` and ``ci/pair-<x>-b`` in the same tree: fails (each alone passes), a
  pair of PRs that break CI only together;
- ``ci/flaky``: the first run on a commit fails, a re-run passes;
- ``ci/hang``: the check starts and never completes (CI that never reports), unless a
  marker above already failed it (a failing test fails fast);
- anything else: success.

Ticks are explicit (a test or the demo calls `tick()` between the bot's rounds), so stories
stay deterministic. The sandbox imports none of the bot.
"""

from __future__ import annotations

import re
from typing import Any

RERUN = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/check-runs/(?P<id>\d+)/rerequest$")


def verdict(files: list[str], *, rerun: bool = False) -> str | None:
    """The check's conclusion for a tree of `files` (None: it never completes)."""
    names = set(files)
    if any(f == "ci/breaks" or f.startswith("ci/breaks-") for f in names):
        return "failure"
    halves = {
        f[len("ci/pair-") : -2] for f in names if f.startswith("ci/pair-") and f.endswith("-a")
    }
    if any(f"ci/pair-{x}-b" in names for x in halves):
        return "failure"
    if "ci/hang" in names:
        return None
    if "ci/flaky" in names and not rerun:
        return "failure"
    return "success"


class TreeCI:
    def __init__(
        self, sandbox: Any, repo: str, name: str = "ci", also: tuple[str, ...] = ()
    ) -> None:
        self.sandbox = sandbox
        self.repo = repo
        self.name = name
        self.also = also  # more checks on each head, always green (e.g. "build")
        self.mark = len(sandbox.server.request_log)
        self.runs = 0  # check runs this CI has reported (first runs and re-runs)

    def heads(self) -> dict[str, str]:
        out = self.sandbox.git.out(
            self.repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"
        )
        pairs = (line.split(" ", 1) for line in out.splitlines() if line.strip())
        return {branch: sha for branch, sha in pairs}

    def files(self, sha: str) -> list[str]:
        return self.sandbox.git.out(self.repo, "ls-tree", "-r", "--name-only", sha).splitlines()

    def tick(self) -> int:
        """Run CI where it has not run yet and answer re-runs; how many runs it reported."""
        before = self.runs
        store = self.sandbox.store
        for sha in sorted(set(self.heads().values())):
            if not store.where("check_runs", repo=self.repo, head_sha=sha, name=self.name):
                self._report(sha, rerun=False)
        log = self.sandbox.server.request_log
        asked, self.mark = log[self.mark :], len(log)
        for method, path, status, _ in asked:
            found = RERUN.match(path.split("?")[0])
            if method == "POST" and status == 201 and found and found["repo"] == self.repo:
                run = store.get("check_runs", int(found["id"]))
                if run is not None and run["name"] == self.name:
                    self._report(run["head_sha"], rerun=True)
        return self.runs - before

    def _report(self, sha: str, *, rerun: bool) -> None:
        conclusion = verdict(self.files(sha), rerun=rerun)
        status = "completed" if conclusion else "in_progress"
        if rerun:
            store = self.sandbox.store
            old = store.where("check_runs", repo=self.repo, head_sha=sha, name=self.name)[-1]
            fresh = {k: v for k, v in old.items() if k != "id"}
            fresh.update(status=status, conclusion=conclusion)
            with store.transaction():
                store.insert("check_runs", fresh)
        else:
            self.sandbox.scenario.set_check(self.repo, sha, self.name, status, conclusion)
            for other in self.also:
                self.sandbox.scenario.set_check(self.repo, sha, other, "completed", "success")
        self.runs += 1
