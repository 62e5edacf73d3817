"""The few exception types of Release Train, each carrying data.

They are translated to exit codes in exactly one place (`bot.cli.main`) and to HTTP
statuses in exactly one place (the webhook app). Nothing else catches them to print.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3
EXIT_EXTERNAL = 4


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is (1-based line and column)."""

    message: str
    file: str = ""
    line: int = 0
    col: int = 0
    severity: str = "error"  # "error" or "warning"

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"

    def github_annotation(self) -> str:
        level = "warning" if self.severity == "warning" else "error"
        parts = [f"file={self.file}"] if self.file else []
        if self.line:
            parts += [f"line={self.line}", f"col={self.col or 1}"]
        props = ",".join(parts)
        msg = self.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{level} {props}::{msg}" if props else f"::{level}::{msg}"


class ReleaseTrainError(Exception):
    """Base of every expected failure. `exit_code` says how the CLI ends."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ReleaseTrainError):
    """A configuration (or policy, or manifest) that is invalid; carries every problem found."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, problems: list[Problem] | Problem | str, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class CheckFailed(ReleaseTrainError):
    """A check ran and said no: a gate failed, an SLO breached, an image was not found."""

    exit_code = EXIT_CHECK_FAILED


class UsageError(ReleaseTrainError):
    """The command line itself is wrong."""

    exit_code = EXIT_USAGE


class Inconclusive(ReleaseTrainError):
    """Not enough evidence to decide, or the train is held; try again later."""

    exit_code = EXIT_INCONCLUSIVE


class ExternalError(ReleaseTrainError):
    """An external system (GitHub, Prometheus, git) failed or answered unexpectedly."""

    exit_code = EXIT_EXTERNAL

    def __init__(
        self, system: str, message: str, *, status: int | None = None, retryable: bool = False
    ) -> None:
        self.system = system
        self.status = status
        self.retryable = retryable
        super().__init__(f"{system}: {message}")


class RuleRefused(ExternalError):
    """GitHub refused a write because of a rule the repository has: branch protection or a
    ruleset (a ref move, a contents write, a merge). Never "the ref moved": retrying does
    not help. Carries the repository, branch (or pull request), the rule's words and the fix;
    ends the CLI with 1, as a configuration problem does."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(
        self, repo: str, branch: str, rule: str, fix: str, *, status: int, what: str = ""
    ) -> None:
        self.repo = repo
        self.branch = branch
        self.rule = rule
        self.fix = fix
        self.what = what
        where = f"{repo} {branch}".strip()
        super().__init__(
            "GitHub", f"{what or 'write'} refused by a rule on {where}: {rule} — fix: {fix}",
            status=status,
        )  # fmt: skip


_GRANT = "grant `{0}: {1}` to the App installation (or under `permissions:` in the workflow)"
PERMISSION_FIXES = {
    "members": (
        "grant the organization permission `members: read` to the App installation; a "
        "workflow's GITHUB_TOKEN cannot have it (use an App token for team approvals)"
    ),
    "security_events": (
        "grant `security_events: read` to the App installation, or add `security-events: "
        "read` under `permissions:` in the workflow"
    ),
}


class PermissionMissing(ExternalError):
    """The token lacks a permission an endpoint needs (GitHub's 403 "Resource not accessible
    by integration"), or is not an App token where only Apps may act (the Checks API).
    A configuration problem naming the permission, never a neutral gate; exit 1."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(
        self, repo: str, permission: str, level: str, what: str, *, app_only: bool = False
    ) -> None:
        self.repo = repo
        self.permission = permission
        self.level = level
        self.what = what
        self.app_only = app_only
        if app_only:
            text = (
                f"{what}: the Checks API accepts only GitHub App tokens (an App installation "
                "token or the workflow's GITHUB_TOKEN), not a personal access token — fix: "
                "give the bot an App token"
            )
        else:
            text = (
                f"{what}: the token lacks the `{permission}: {level}` permission on {repo} — "
                f"fix: {PERMISSION_FIXES.get(permission, _GRANT).format(permission, level)}"
            )
        super().__init__("GitHub", text, status=403)


# Words that `RuleRefused` and `PermissionMissing` put in their messages: a reconcile
# problem carrying one is a configuration problem (exit 1), not GitHub failing (exit 4).
CONFIGURATION_MARKERS = (
    "refused by a rule on",
    "the token lacks the `",
    "the Checks API accepts only GitHub App tokens",
)


def is_configuration_problem(text: str) -> bool:
    return any(marker in text for marker in CONFIGURATION_MARKERS)
