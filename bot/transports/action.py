"""The GitHub Action entry: one reconcile per workflow run, outputs and a job summary.

Reads the runner's environment (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`,
`GITHUB_REPOSITORY`, `GITHUB_API_URL`, the token and the action's inputs), routes the event
like the App does (schedule, workflow_dispatch and repository_dispatch always reconcile; a
check run's Re-run or button becomes the same gate request the App's webhook makes), runs
the reconciler and writes `train-id`, `state`, `actions-taken` (JSON) and `exit-code` to
`GITHUB_OUTPUT` (heredoc-delimited, so multi-line values are safe) and a Markdown summary
to `GITHUB_STEP_SUMMARY`. Config errors become `::error file=…,line=…::` workflow commands.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.config.repo import CONFIG_PATH
from bot.errors import (
    EXIT_CHECK_FAILED,
    EXIT_EXTERNAL,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    ConfigError,
    Problem,
    ReleaseTrainError,
    UsageError,
    is_configuration_problem,
)
from bot.transports.event_series import events_table
from bot.transports.result import ResultView, view
from bot.transports.routing import route
from bot.transports.settings import checked_config_path

ALWAYS = frozenset({"schedule", "workflow_dispatch", "repository_dispatch"})
# Events a workflow sees under another name than the App's webhook: same payload shape.
ALIASES: Mapping[str, str] = {"pull_request_target": "pull_request"}
GATE_EVENTS = frozenset({"check_run", "check_suite"})
COMMANDS = ("reconcile", "plan")
TRUE = frozenset({"1", "true", "yes", "on"})
# Every variable `action.yml` may set for `release-train action` (its inputs).
INPUT_ENV = frozenset(
    {
        "RELEASE_TRAIN_TOKEN",
        "RELEASE_TRAIN_DEFAULT_TOKEN",
        "RELEASE_TRAIN_BOT_LOGIN",
        "RELEASE_TRAIN_CONFIG",
        "RELEASE_TRAIN_COMMAND",
        "RELEASE_TRAIN_NOW",
        "RELEASE_TRAIN_DRY_RUN",
        "PROMETHEUS_URL",
        "PROMETHEUS_TOKEN",
        "PROMETHEUS_USERNAME",
        "PROMETHEUS_PASSWORD",
        "RELEASE_TRAIN_SOURCES",
    }
)
OUTPUTS = ("train-id", "state", "actions-taken", "exit-code")


@dataclass(frozen=True)
class ActionRequest:
    repo: str
    now: datetime
    token: str
    api_url: str
    event: str
    delivery: str | None
    dry_run: bool
    config: str = CONFIG_PATH  # checked: relative, inside the repository
    bot_login: str = ""  # "" lets the client ask GET /user
    gate_request: Any = None  # a check run's Re-run / button (bot.core.gates.events)
    outbound: Any = None  # the operator's OutboundPolicy (the workflow's inputs)


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
    command: str = "reconcile"
    now: str = ""  # the `now` input: an ISO instant for a plan, "" for the clock


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise UsageError(f"{name} is not set (run inside GitHub Actions, or set it)")
    return value


def _payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        return {}
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"GITHUB_EVENT_PATH: cannot read {path}: {exc}") from None
    return loaded if isinstance(loaded, dict) else {}


def read_env(env: Mapping[str, str], *, dry_run: bool = False) -> ActionEnv:
    """The runner's environment as an `ActionEnv`; a missing variable is a UsageError.
    The inputs (`command`, `now`, `config`) are checked later, by `checked_request`."""
    event = _required(env, "GITHUB_EVENT_NAME")
    repo = _required(env, "GITHUB_REPOSITORY")
    token = env.get("RELEASE_TRAIN_TOKEN", "").strip() or env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "RELEASE_TRAIN_TOKEN or GITHUB_TOKEN must hold a token (the action's `token` input)"
        )
    command = env.get("RELEASE_TRAIN_COMMAND", "").strip().lower() or "reconcile"
    return ActionEnv(
        event=event,
        payload=_payload(env),
        repo=repo,
        api_url=(env.get("GITHUB_API_URL", "").strip() or "https://api.github.com").rstrip("/"),
        token=token,
        dry_run=dry_run
        or command == "plan"
        or env.get("RELEASE_TRAIN_DRY_RUN", "").strip().lower() in TRUE,
        config=env.get("RELEASE_TRAIN_CONFIG", "").strip() or None,
        run_id=env.get("GITHUB_RUN_ID") or None,
        bot_login=bot_login_for(env, token),
        output_path=env.get("GITHUB_OUTPUT") or None,
        summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
        command=command,
        now=env.get("RELEASE_TRAIN_NOW", "").strip(),
    )


def checked_request(ae: ActionEnv, now: datetime) -> ActionRequest:
    """The reconcile this run asks for, or a UsageError naming the input that is wrong.

    `command` is `reconcile` or `plan`; `now` moves the clock for a plan only (a reconcile
    that writes acts at the real time, so a run cannot depart or merge a train early);
    `config` must stay inside the repository."""
    from bot.formats import parse_instant

    if ae.command not in COMMANDS:
        raise UsageError(f"command: {ae.command!r} is neither `reconcile` nor `plan`")
    if ae.now and not ae.dry_run:
        raise UsageError("now: only a plan (command: plan, or dry-run) may pretend the time")
    when = parse_instant(ae.now, what="now") if ae.now else now
    delivery = f"actions-run-{ae.run_id}" if ae.run_id else None
    return ActionRequest(
        ae.repo,
        when,
        ae.token,
        ae.api_url,
        ae.event,
        delivery,
        ae.dry_run,
        checked_config_path(ae.config),
        ae.bot_login,
        gate_request_of(ae.event, ae.payload),
    )


def gate_request_of(event: str, payload: Mapping[str, Any]) -> Any:
    """A Re-run (`check_run.rerequested`, `check_suite.rerequested`) or a check-run button
    (`check_run.requested_action`) on one of our gates, parsed by the same code as the
    App's webhook; None for anything else. Any app's run counts: in Action mode the gate
    runs belong to `github-actions` or to the App whose token the workflow uses."""
    if event not in GATE_EVENTS:
        return None
    from bot.core.gates.events import gate_request

    return gate_request(event, payload, app_id=None)


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


def exit_code_of(result: ResultView, *, held_fails: bool = False) -> int:
    """The README's table: 4 when GitHub failed; 1 for an invalid config or when nothing
    could run; else 0. With `held_fails` (the CLI's `reconcile` and `plan`), a held
    promotion is 4 when it waits on Prometheus and 3 when it waits on evidence; in the
    Action a held train is not a failure (docs/action.md)."""
    if any(is_configuration_problem(p) for p in result.problems):  # a rule, a permission
        return EXIT_CHECK_FAILED
    if any(p.startswith(("GitHub", "registry")) for p in result.problems):  # registry: #14
        return EXIT_EXTERNAL
    if any(is_config_error(p) for p in result.problems):
        return EXIT_CHECK_FAILED
    if result.problems and not result.trains and not result.actions:
        return EXIT_CHECK_FAILED
    if held_fails and result.waiting == "prometheus":
        return EXIT_EXTERNAL
    if held_fails and result.waiting == "evidence":
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def is_config_error(text: str) -> bool:
    """Whether a reconcile problem is a configuration error (rendered FILE:LINE:COL)."""
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
    """Why this event needs no reconcile ("" when it does). Routed like the App's
    webhooks, the bot's own events included (with an App token they start workflows)."""
    if ae.event in ALWAYS:
        return ""
    r = route(ALIASES.get(ae.event, ae.event), ae.payload, bot_login=ae.bot_login or None)
    return r.reason if r.ignored else ""


def format_outputs(outputs: Mapping[str, str], delimiter: str) -> str:
    """`GITHUB_OUTPUT` text: `name<<DELIM` blocks, safe for any value without DELIM."""
    lines = []
    for name, value in outputs.items():
        if delimiter in value:
            raise ValueError("output value contains the delimiter")
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "\n".join(lines) + "\n"


def outputs_of(result: ResultView, code: int = EXIT_OK) -> dict[str, str]:
    """The step's outputs (`OUTPUTS`, in that order)."""
    train = result.train
    return {
        "train-id": train.id if train else "",
        "state": train.state if train else "",
        "actions-taken": json.dumps(list(result.actions)),
        "exit-code": str(code),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _trigger(ae: ActionEnv, req: ActionRequest | None) -> list[str]:
    action = ae.payload.get("action")
    what = f"`{ae.event}.{action}`" if isinstance(action, str) and action else f"`{ae.event}`"
    lines = [f"Triggered by {what}."]
    asked = req.gate_request if req else None
    if asked is not None:
        gates = ", ".join(f"`{g}`" for g in asked.gates) or "every gate"
        verb = "hold the train" if asked.action == "hold" else f"re-evaluate {gates}"
        lines.append(f"@{_cell(asked.actor)} asked to {verb} ({asked.source}).")
    if req is not None and req.config != CONFIG_PATH:
        lines.append(f"Configuration: `{req.config}` on the default branch.")
    if req is not None and ae.now and req.dry_run:
        lines.append(f"Planned as of {req.now.isoformat()}.")
    return [" ".join(lines), ""]


def render_summary(
    ae: ActionEnv, result: ResultView | None, note: str = "", req: ActionRequest | None = None
) -> str:
    """The job summary in Markdown."""
    mode = " (dry run)" if ae.dry_run else ""
    lines = [f"## Release Train — `{ae.repo}`{mode}", "", *_trigger(ae, req)]
    if note:
        lines += [note, ""]
    if result is not None and result.problems:
        lines += ["**Problems:**", ""] + [f"- {_cell(p)}" for p in result.problems] + [""]
    if result is not None:
        if result.trains:
            lines += ["| train | state |", "|---|---|"]
            lines += [f"| `{_cell(t.id)}` | {_cell(t.state)} |" for t in result.trains]
            lines.append("")
        lines += events_table(result.events)
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


def reconcile_at(
    repo: str, now: datetime, *, client: Any, config_path: str = CONFIG_PATH, **kw: Any
) -> Any:
    """`bot.shell.reconcile.reconcile` with the configuration read from `config_path` (a
    checked, repository-relative path) on the default branch."""
    from bot.shell.reconcile import reconcile

    return reconcile(repo, now, client=client, config_path=config_path, **kw)


def default_reconciler(req: ActionRequest) -> object:
    """The shell's reconcile with a GitHub client holding the workflow's token, and the
    Prometheus the workflow's inputs (the operator's settings) define."""
    from bot.adapters.github import GitHubClient
    from bot.adapters.prometheus import judge_client

    client = GitHubClient(req.repo, req.token, api_url=req.api_url, bot_login=req.bot_login)
    with client:
        return reconcile_at(
            req.repo,
            req.now,
            client=client,
            config_path=req.config,
            delivery=req.delivery,
            dry_run=req.dry_run,
            gate_request=req.gate_request,
            outbound=req.outbound,
            prometheus=judge_client(req.outbound) if req.outbound is not None else None,
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
    req = None
    try:
        from bot.config.operator import outbound_from_env

        req = replace(checked_request(ae, now), outbound=outbound_from_env(env))
        result = view((reconciler or default_reconciler)(req), dry_run=ae.dry_run)
    except ReleaseTrainError as exc:
        return _failed(ae, req, exc, out), None
    code = exit_code_of(result)
    _append(ae.output_path, format_outputs(outputs_of(result, code), _delimiter()))
    _append(ae.summary_path, render_summary(ae, result, req=req))
    for text in result.problems:
        print(problem_annotation(text), file=out)
    for action in result.actions:
        print(f"release-train: {action}", file=out)
    return code, result


def _failed(ae: ActionEnv, req: ActionRequest | None, exc: ReleaseTrainError, out: IO[str]) -> int:
    """Report an expected failure as workflow commands, outputs and in the summary."""
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(problem.github_annotation(), file=out)
        listing = "\n".join(f"- {_cell(p.render())}" for p in exc.problems)
        note = f"**The configuration is invalid:**\n\n{listing}"
    else:
        print(Problem(exc.message).github_annotation(), file=out)
        note = f"**Failed:** {_cell(exc.message)}"
    _append(ae.output_path, format_outputs(outputs_of(ResultView(), exc.exit_code), _delimiter()))
    _append(ae.summary_path, render_summary(ae, None, note, req))
    return exc.exit_code


def _delimiter() -> str:
    return f"ghadelimiter_{uuid.uuid4()}"
