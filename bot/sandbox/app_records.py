"""Records that only an App writes (check runs, commit statuses, code-scanning alerts),
put straight into the sandbox's store with the agreed shapes (see `bot.sandbox.store`).
`Scenario` offers them; they are not API calls, so no webhook fires and no request is logged.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.gitstore import ZERO, GitStore
from bot.sandbox.http import RequestContext
from bot.sandbox.store import Store


class AppRecords:
    """The App-written records of the scenario kit (mixed into `Scenario`)."""

    store: Store
    git: GitStore

    def ctx(self, as_user: str | None) -> RequestContext:
        raise NotImplementedError  # pragma: no cover - `Scenario.ctx`

    def set_check(
        self,
        repo: str,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        *,
        output: dict[str, Any] | None = None,
        app_id: int = 2,
    ) -> int:
        """Create or replace the check run `name` on a commit (as a CI App would)."""
        now = self.ctx(None).now()
        with self.store.transaction():
            for run in self.store.where("check_runs", repo=repo, head_sha=sha, name=name):
                run.update(
                    {
                        "status": status,
                        "conclusion": conclusion if status == "completed" else None,
                        "completed_at": now if status == "completed" else None,
                    }
                )
                return int(run["id"])
            record: dict[str, Any] = {
                "repo": repo,
                "head_sha": sha,
                "name": name,
                "status": status,
                "conclusion": conclusion if status == "completed" else None,
                "started_at": now,
                "completed_at": now if status == "completed" else None,
                "external_id": "",
                "details_url": None,
                "app_id": app_id,
                "check_suite_id": None,
                "output": {
                    "title": None,
                    "summary": None,
                    "text": None,
                    "annotations_count": 0,
                    **(output or {}),
                },
                "annotations": [],
                "actions": [],
            }
            return int(self.store.insert("check_runs", record)["id"])

    def set_status(
        self,
        repo: str,
        sha: str,
        context: str,
        state: str = "success",
        *,
        description: str = "",
        creator: str = "rm-dave",
    ) -> int:
        """A commit status (success, failure, error, pending)."""
        now = self.ctx(None).now()
        record = {
            "repo": repo,
            "sha": sha,
            "state": state,
            "context": context,
            "description": description,
            "target_url": None,
            "creator": creator,
            "created_at": now,
            "updated_at": now,
        }
        with self.store.transaction():
            return int(self.store.insert("statuses", record)["id"])

    def alert(
        self,
        repo: str,
        rule_id: str,
        severity: str = "error",
        *,
        ref: str = "refs/heads/main",
        security_severity: str | None = "high",
        state: str = "open",
        path: str = "src/app.py",
        line: int = 1,
        tool: str = "CodeQL",
        commit_sha: str | None = None,
    ) -> int:
        """A code-scanning alert; returns its number. (Extension point: the code-scanning
        endpoints of `bot.sandbox.api.code_scanning` read these records.)"""
        now = self.ctx(None).now()
        with self.store.transaction():
            number = self.store.next_number(repo, "alerts")
            record = {
                "number": number,
                "repo": repo,
                "ref": ref,
                "state": state,
                "rule": {
                    "id": rule_id,
                    "name": rule_id,
                    "severity": severity,
                    "security_severity_level": security_severity,
                    "description": rule_id,
                },
                "tool": {"name": tool, "version": None},
                "most_recent_instance": {
                    "ref": ref,
                    "commit_sha": commit_sha or self.git.resolve(repo, ref) or ZERO,
                    "state": state,
                    "location": {"path": path, "start_line": line, "end_line": line},
                    "message": {"text": rule_id},
                },
                "created_at": now,
                "updated_at": now,
                "dismissed_at": None,
                "fixed_at": None,
            }
            self.store.insert("code_scanning_alerts", record, key=f"{repo}#{number}")
            return number
