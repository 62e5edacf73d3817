"""The GitHub Action entry: one reconcile per workflow run, outputs and a job summary.

Reads the runner's environment (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`,
`GITHUB_REPOSITORY`, `GITHUB_API_URL`, the token), routes the event like the App does
(schedule, workflow_dispatch and repository_dispatch always reconcile), runs the reconciler
and writes `train-id`, `state` and `actions` (JSON) to `GITHUB_OUTPUT` (heredoc-delimited,
so multi-line values are safe) and a Markdown summary to `GITHUB_STEP_SUMMARY`. Config
errors become `::error file=…,line=…::` workflow commands.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.errors import (
    EXIT_CHECK_FAILED,
    EXIT_EXTERNAL,
    EXIT_OK,
    ConfigError,
    Problem,
    ReleaseTrainError,
    UsageError,
)
from bot.transports.result import ResultView, view
from bot.transports.routing import route

ALWAYS = frozenset({"schedule", "workflow_dispatch", "repository_dispatch"})
TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class ActionRequest:
    repo: str
    now: datetime
    token: str
    api_url: str
    event: str
    delivery: str | None
    dry_run: bool
    config: str | None = None
    bot_login: str = ""  # "" lets the client ask GET /user


ActionReconciler = Callable[[ActionRequest], object]


@dataclass(frozen=True)
class ActionEnv:
    event: str
    payload: dict[str, Any]
    repo: str
    api_url: str
    token: str
    dry_run: bool
    config: str | None
    run_id: str | None
    bot_login: str
    output_path: str | None
    summary_path: str | None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise UsageError(f"{name} is not set (run inside GitHub Actions, or set it)")
    return value


def read_env(env: Mapping[str, str], *, dry_run: bool = False) -> ActionEnv:
    """The runner's environment as an `ActionEnv`; a missing variable is a UsageError."""
    event = _required(env, "GITHUB_EVENT_NAME")
    repo = _required(env, "GITHUB_REPOSITORY")
    token = env.get("RELEASE_TRAIN_TOKEN", "").strip() or env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "RELEASE_TRAIN_TOKEN or GITHUB_TOKEN must hold a token (the action's `token` input)"
        )
    payload: dict[str, Any] = {}
    path = env.get("GITHUB_EVENT_PATH", "").strip()
    if path:
        try:
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"GITHUB_EVENT_PATH: cannot read {path}: {exc}") from None
        payload = loaded if isinstance(loaded, dict) else {}
    return ActionEnv(
        event=event,
        payload=payload,
        repo=repo,
        api_url=(env.get("GITHUB_API_URL", "").strip() or "https://api.github.com").rstrip("/"),
        token=token,
        dry_run=dry_run or env.get("RELEASE_TRAIN_DRY_RUN", "").strip().lower() in TRUE,
        config=env.get("RELEASE_TRAIN_CONFIG", "").strip() or None,
        run_id=env.get("GITHUB_RUN_ID") or None,
        bot_login=bot_login_for(env, token),
        output_path=env.get("GITHUB_OUTPUT") or None,
        summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
    )


# A rendered `Problem` about a YAML file: "path.yml:LINE:COL: [warning: ]message".
_RENDERED = re.compile(
    r"^(?P<file>[^\s:]+\.ya?ml)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: "
    r"(?P<warning>warning: )?(?P<message>.*)$",
    re.S,
)


def problem_annotation(text: str) -> str:
    """A workflow command for one problem the reconcile reported.

    Configuration problems (rendered as ``file:line:col: message``) become
    ``::error file=…,line=…::`` so GitHub marks the line; anything else is a warning.
    """
    found = _RENDERED.match(text)
    if found is None:
        return Problem(text, severity="warning").github_annotation()
    problem = Problem(
        found["message"],
        file=found["file"],
        line=int(found["line"] or 0),
        col=int(found["col"] or 0),
        severity="warning" if found["warning"] else "error",
    )
    return problem.github_annotation()


def exit_code_of(result: ResultView) -> int:
    """4 when GitHub failed; 1 for an invalid config or when nothing could run; else 0."""
    if any(p.startswith("GitHub") for p in result.problems):
        return EXIT_EXTERNAL
    if any(_is_config_error(p) for p in result.problems):
        return EXIT_CHECK_FAILED
    if result.problems and not result.trains and not result.actions:
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _is_config_error(text: str) -> bool:
    found = _RENDERED.match(text)
    return found is not None and not found["warning"]


def bot_login_for(env: Mapping[str, str], token: str) -> str:
    """Who the bot is: `bot-login` if given; `github-actions[bot]` with the workflow's own
    GITHUB_TOKEN (action.yml passes it as RELEASE_TRAIN_DEFAULT_TOKEN to compare);
    else "" (the client asks `GET /user`)."""
    given = env.get("RELEASE_TRAIN_BOT_LOGIN", "").strip()
    if given:
        return given
    default = env.get("RELEASE_TRAIN_DEFAULT_TOKEN", "").strip()
    return "github-actions[bot]" if default and default == token else ""


def skip_reason(ae: ActionEnv) -> str:
    """Why this event needs no reconcile ("" when it does)."""
    if ae.event in ALWAYS:
        return ""
    r = route(ae.event, ae.payload)
    return r.reason if r.ignored else ""


def format_outputs(outputs: Mapping[str, str], delimiter: str) -> str:
    """`GITHUB_OUTPUT` text: `name<<DELIM` blocks, safe for any value without DELIM."""
    lines = []
    for name, value in outputs.items():
        if delimiter in value:
            raise ValueError("output value contains the delimiter")
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "\n".join(lines) + "\n"


def outputs_of(result: ResultView) -> dict[str, str]:
    train = result.train
    return {
        "train-id": train.id if train else "",
        "state": train.state if train else "",
        "actions": json.dumps(list(result.actions)),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_summary(ae: ActionEnv, result: ResultView | None, note: str = "") -> str:
    """The job summary in Markdown."""
    mode = " (dry run)" if ae.dry_run else ""
    lines = [f"## Release Train — `{ae.repo}`{mode}", "", f"Triggered by `{ae.event}`.", ""]
    if note:
        lines += [note, ""]
    if result is not None and result.problems:
        lines += ["**Problems:**", ""] + [f"- {_cell(p)}" for p in result.problems] + [""]
    if result is not None:
        if result.trains:
            lines += ["| train | state |", "|---|---|"]
            lines += [f"| `{_cell(t.id)}` | {_cell(t.state)} |" for t in result.trains]
            lines.append("")
        verb = "Planned" if ae.dry_run else "Done"
        if result.actions:
            lines += [f"**{verb}:**", ""] + [
                f"{i}. {_cell(a)}" for i, a in enumerate(result.actions, 1)
            ]
        else:
            lines.append("No actions: everything is as it should be.")
        if result.next_due is not None:
            lines += ["", f"Next due: {result.next_due.isoformat()}"]
    return "\n".join(lines).rstrip() + "\n"


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)


def default_reconciler(req: ActionRequest) -> object:
    """The shell's reconcile with a GitHub client holding the workflow's token."""
    from bot.adapters.github import GitHubClient
    from bot.shell.reconcile import reconcile

    client = GitHubClient(req.repo, req.token, api_url=req.api_url, bot_login=req.bot_login)
    with client:
        return reconcile(
            req.repo, req.now, client=client, delivery=req.delivery, dry_run=req.dry_run
        )


def run_action(
    env: Mapping[str, str],
    now: datetime,
    *,
    dry_run: bool = False,
    reconciler: ActionReconciler | None = None,
    stdout: IO[str] | None = None,
) -> tuple[int, ResultView | None]:
    """Run one Action step. Returns the exit code and what the reconcile did."""
    out = stdout or sys.stdout
    ae = read_env(env, dry_run=dry_run)
    reason = skip_reason(ae)
    if reason:
        _append(ae.output_path, format_outputs(outputs_of(ResultView()), _delimiter()))
        _append(ae.summary_path, render_summary(ae, None, f"Nothing to do: {reason}."))
        print(f"release-train: nothing to do ({reason})", file=out)
        return 0, None
    delivery = f"actions-run-{ae.run_id}" if ae.run_id else None
    req = ActionRequest(
        ae.repo, now, ae.token, ae.api_url, ae.event, delivery, ae.dry_run, ae.config, ae.bot_login
    )
    try:
        result = view((reconciler or default_reconciler)(req), dry_run=ae.dry_run)
    except ReleaseTrainError as exc:
        return _failed(ae, exc, out), None
    _append(ae.output_path, format_outputs(outputs_of(result), _delimiter()))
    _append(ae.summary_path, render_summary(ae, result))
    for text in result.problems:
        print(problem_annotation(text), file=out)
    for action in result.actions:
        print(f"release-train: {action}", file=out)
    return exit_code_of(result), result


def _failed(ae: ActionEnv, exc: ReleaseTrainError, out: IO[str]) -> int:
    """Report an expected failure as workflow commands and in the summary."""
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(problem.github_annotation(), file=out)
        listing = "\n".join(f"- {_cell(p.render())}" for p in exc.problems)
        note = f"**The configuration is invalid:**\n\n{listing}"
    else:
        print(f"::error::{exc.message}", file=out)
        note = f"**Failed:** {_cell(exc.message)}"
    _append(ae.summary_path, render_summary(ae, None, note))
    return exc.exit_code


def _delimiter() -> str:
    return f"ghadelimiter_{uuid.uuid4()}"
