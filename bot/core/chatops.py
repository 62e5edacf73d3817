"""ChatOps: `/train ...` commands in comments, and who may run them.

Commands are visible lines of top-level paragraphs starting with ``/train``, as GitHub
renders the comment (`bot.core.command_lines`). Permissions come from the
collaborator-permission API: ``write`` for status/board/deboard, ``maintain``/``admin``
(or the configured release team) for the rest.

Work per comment is bounded: at most `MAX_PER_COMMENT` commands of a comment are run (one
reply says how many more were ignored), a comment gets one reaction and one reply however
many commands it holds, and at most `MAX_PER_USER` commands of one author are run per
reconcile (the rest wait for the next one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.config.model import Config, Train
from bot.core import actions as act
from bot.core import untrusted
from bot.core.actions import Action
from bot.core.command_lines import MAX_LINES, MAX_PARAGRAPH, scan
from bot.core.ledger import Boarded, TrainRecord
from bot.core.train import ABORTED, BOARDING, DEPARTED, MERGED, PROMOTING, is_terminal
from bot.core.world import Comment, World, permission_at_least

BOT_MARK = "<!-- release-train:"

WRITE_COMMANDS = frozenset({"status", "board", "deboard"})
RELEASE_COMMANDS = frozenset({"depart", "hold", "resume", "abort", "promote", "rollback", "retry"})
COMMANDS = WRITE_COMMANDS | RELEASE_COMMANDS | {"help"}

MAX_PER_COMMENT = 5  # commands run from one comment; the rest get one "ignored" reply
MAX_PER_USER = 10  # commands run per author per reconcile; later comments wait
IGNORED = "ignored"  # the pseudo-command that answers for a comment's commands past the cap
REPLY = "reply:"  # key prefix of the bot's answer to a comment

PROMOTE_REASON = "promote_reason"  # record.extra: the why of the last `/train promote <why>`

_PR_REF = re.compile(r"^#?(\d+)$")

HELP = """\
**Release train commands** (comment on the train PR or a boarded PR):

| command | who | what |
|---|---|---|
| `/train status` | write | where the train is and what it waits for |
| `/train board #N` | write | put PR #N on the next train |
| `/train deboard [#N]` | write | take PR #N (default: this PR) off its train |
| `/train depart` | maintain, admin or release team | depart now |
| `/train hold [reason]` | maintain, admin or release team | stop departure and merge |
| `/train resume` | maintain, admin or release team | lift a hold |
| `/train abort [reason]` | maintain, admin or release team | end the train |
| `/train promote [why]` | maintain, admin or release team | end the soak now (why is recorded) |
| `/train rollback [reason]` | maintain, admin or release team | revert a train |
| `/train retry without #N` | maintain, admin or release team | ship a rolled-back train but #N |
| `/train help` | anyone | this text |
"""


@dataclass(frozen=True)
class Command:
    name: str  # a known command, or "unknown"
    arg: str = ""
    raw: str = ""

    def pr_arg(self) -> int | None:
        match = _PR_REF.match(self.arg.split()[0]) if self.arg.split() else None
        return int(match.group(1)) if match else None


def parse_commands(body: str, limit: int = MAX_LINES) -> list[Command]:
    """The `/train` commands in a comment body, in order (at most `limit`)."""
    return _commands(scan(body, limit).lines)


def comment_commands(body: str) -> list[Command]:
    """The commands a comment runs: at most `MAX_PER_COMMENT`, then one `ignored` note
    counting the other `/train` lines (past the cap, or in over-long paragraphs)."""
    found = scan(body, MAX_PER_COMMENT)
    commands = _commands(found.lines)
    extra = found.skipped + max(0, len(commands) - MAX_PER_COMMENT)
    if extra:
        raw = f"/train … ({extra} more)"
        commands = [*commands[:MAX_PER_COMMENT], Command(IGNORED, str(extra), raw)]
    return commands


def _commands(lines: Sequence[str]) -> list[Command]:
    commands = []
    for line in lines:
        words = line.split(None, 2)
        if words[0] != "/train":
            continue  # e.g. "/trainee"
        name = words[1].lower() if len(words) > 1 else "help"
        arg = words[2].strip() if len(words) > 2 else ""
        commands.append(Command(name if name in COMMANDS else "unknown", arg, line))
    return commands


def required_permission(name: str) -> str:
    if name in WRITE_COMMANDS:
        return "write"
    if name in RELEASE_COMMANDS:
        return "maintain"
    return "none"


def permitted(name: str, permission: str, in_release_team: bool = False) -> bool:
    """May someone with `permission` (collaborator API) run `/train <name>`?"""
    need = required_permission(name)
    if need == "maintain" and in_release_team:
        return True
    return permission_at_least(permission, need)


def denial(name: str, permission: str, release_team: str = "") -> str:
    need = required_permission(name)
    who = "maintain or admin permission" if need == "maintain" else f"{need} permission"
    if need == "maintain" and release_team:
        who += f" (or membership of the `{release_team}` team)"
    return f"`/train {name}` needs {who} on this repository; you have `{permission}`."


# -- applying commands to a train (pure) ---------------------------------------------------


@dataclass(frozen=True)
class TrainCommand:
    """A command found in a comment, attributed to the train it concerns."""

    comment: Comment
    command: Command
    train_id: str


def _target(records: Sequence[TrainRecord], issue: int) -> TrainRecord | None:
    open_records = [r for r in records if not is_terminal(r.state)]
    for record in open_records:
        if record.train_pr == issue:
            return record
    for record in open_records:
        if issue in record.boarded_numbers():
            return record
    return None


def pending_commands(records: Sequence[TrainRecord], world: World) -> dict[str, list[TrainCommand]]:
    """Unhandled commands per train id: not edited, not from the bot, not already handled,
    made after the train was created, visible as GitHub renders the comment; at most
    `MAX_PER_COMMENT` per comment (plus one `ignored` note) and `MAX_PER_USER` per author."""
    found: dict[str, list[TrainCommand]] = {}
    per_user: dict[str, int] = dict(world.commands_run)
    for comment in sorted(world.comments, key=lambda c: (c.created_at, c.id)):
        if comment.edited or comment.author == world.bot_login or BOT_MARK in comment.body:
            continue
        record = _target(records, comment.issue)
        if record is None or comment.id in record.handled_comments:
            continue
        if record.created_at and comment.created_at < record.created_at.replace(microsecond=0):
            continue
        commands = comment_commands(comment.body)
        if not commands:
            continue
        if per_user.get(comment.author, 0) + len(commands) > MAX_PER_USER:
            continue  # left unhandled: a later reconcile runs it
        per_user[comment.author] = per_user.get(comment.author, 0) + len(commands)
        mine = [TrainCommand(comment, c, record.id) for c in commands]
        found.setdefault(record.id, []).extend(mine)
    return found


def commenters(commands: dict[str, list[TrainCommand]]) -> set[str]:
    return {tc.comment.author for tcs in commands.values() for tc in tcs}


def commands_per_author(commands: dict[str, list[TrainCommand]]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for tc in (tc for tcs in commands.values() for tc in tcs):
        counted[tc.comment.author] = counted.get(tc.comment.author, 0) + 1
    return counted


def _reply(record: TrainRecord, tc: TrainCommand, text: str, ok: bool) -> list[Action]:
    comment = tc.comment
    # the commenter's line, quoted as inert text: a marker in it must not become the bot's
    body = f"> {untrusted.inline(tc.command.raw)}\n\n@{comment.author} {text}"
    return [
        act.React(record.id, comment.id, "+1" if ok else "eyes"),
        act.PostComment(record.id, comment.issue, body, f"{REPLY}{comment.id}"),
    ]


def _handled(record: TrainRecord, comment: Comment) -> TrainRecord:
    if comment.id in record.handled_comments:
        return record
    return replace(record, handled_comments=(*record.handled_comments, comment.id))


def one_reply_per_comment(actions: Sequence[Action]) -> list[Action]:
    """The replies to a comment's commands as one comment and one reaction (👍 when every
    command went through, 👀 otherwise), in place of the first; other actions unchanged."""
    texts: dict[str, list[str]] = {}
    oks: dict[int, bool] = {}
    for action in actions:
        if isinstance(action, act.PostComment) and action.key.startswith(REPLY):
            texts.setdefault(action.key, []).append(action.body)
        elif isinstance(action, act.React):
            oks[action.comment_id] = oks.get(action.comment_id, True) and action.content == "+1"
    out: list[Action] = []
    for action in actions:
        if isinstance(action, act.PostComment) and action.key.startswith(REPLY):
            if action.key in texts:  # the first reply to this comment: all of them
                out.append(replace(action, body="\n\n---\n\n".join(texts.pop(action.key))))
        elif isinstance(action, act.React):
            if action.comment_id in oks:
                out.append(replace(action, content="+1" if oks.pop(action.comment_id) else "eyes"))
        else:
            out.append(action)
    return out


def apply_command(
    config: Config,
    train: Train,
    record: TrainRecord,
    tc: TrainCommand,
    world: World,
    now: datetime,
    status: str,
) -> tuple[TrainRecord, list[Action], str]:
    """Run one command against a train: (new record, actions, ledger event or "")."""
    name, who = tc.command.name, tc.comment.author
    permission = world.permissions.get(who, "none")
    record = _handled(record, tc.comment)
    if name == IGNORED:
        text = (
            f"{tc.command.arg} more `/train` commands in this comment were ignored: "
            f"at most {MAX_PER_COMMENT} are read from one comment, from paragraphs of at "
            f"most {MAX_PARAGRAPH:,} characters."
        )
        return record, _reply(record, tc, text, False), "chatops"
    if name in ("help", "unknown"):
        return record, _reply(record, tc, "\n\n" + HELP, name == "help"), "chatops"
    if not permitted(name, permission, who in world.release_team):
        text = denial(name, permission, config.chatops.release_team)
        return record, _reply(record, tc, text, False), "chatops"
    if name == "status":
        return record, _reply(record, tc, status, True), "chatops"
    record, text, event, extra = _act(train, record, tc, world, now)
    return record, [*extra, *_reply(record, tc, text, event != "")], event or "chatops"


def _act(
    train: Train, record: TrainRecord, tc: TrainCommand, world: World, now: datetime
) -> tuple[TrainRecord, str, str, list[Action]]:
    """The state change a permitted command makes: (record, reply, event or "", actions)."""
    name, arg, who = tc.command.name, tc.command.arg, tc.comment.author
    state = record.state
    if name == "hold":
        held = replace(record, held=True, hold_reason=arg or f"held by @{who}")
        return held.with_event("hold", now, who, arg), f"held {record.id}.", "hold", []
    if name == "resume":
        resumed = replace(record, held=False, hold_reason="")
        return resumed.with_event("resume", now, who), f"resumed {record.id}.", "resume", []
    if name == "abort" and state in (BOARDING, DEPARTED):
        reason = arg or f"aborted by @{who}"
        ended = replace(record, state=ABORTED, state_since=now, end_reason=reason)
        return ended.with_event(ABORTED, now, who, reason), f"aborted {record.id}.", "abort", []
    if name == "depart" and state == BOARDING:
        text = f"{record.id} departs now."
        return replace(record, depart_requested=who), text, "depart-requested", []
    if name == "promote" and state in (MERGED, PROMOTING):
        why = f": {untrusted.inline(arg)}." if arg else "."
        text = f"promotion of {record.id} requested{why}"
        extra = {k: v for k, v in record.extra.items() if k != PROMOTE_REASON}
        extra.update({PROMOTE_REASON: arg} if arg else {})
        asked = replace(record, promote_requested=who, extra=extra)
        return asked.with_event("promote-requested", now, who, arg), text, "promote-requested", []
    if name == "rollback" and state in (MERGED, PROMOTING):
        text = f"rollback of {record.id} requested."
        return replace(record, rollback_requested=who), text, "rollback-requested", []
    if name in ("board", "deboard"):
        return _board_command(train, record, tc, world, now)
    return record, f"`/train {name}` does nothing while {record.id} is {state}.", "", []


def _board_command(
    train: Train, record: TrainRecord, tc: TrainCommand, world: World, now: datetime
) -> tuple[TrainRecord, str, str, list[Action]]:
    name, who = tc.command.name, tc.comment.author
    number = tc.command.pr_arg() or tc.comment.issue
    if record.state != BOARDING:
        return record, f"{record.id} has departed; `/train {name}` applies while boarding.", "", []
    if name == "deboard":
        if number not in record.boarded_numbers():
            return record, f"#{number} is not on {record.id}.", "", []
        left = tuple(b for b in record.boarded if b.number != number)
        record = replace(record, boarded=left).with_event("deboard", now, who, f"#{number}")
        return (
            record,
            f"#{number} left {record.id}.",
            "deboard",
            [act.RemoveLabel(record.id, number, train.label)],
        )
    pr = world.pull(number)
    if pr is None or pr.state != "open" or pr.base != train.base:
        return record, f"#{number} is not an open pull request against `{train.base}`.", "", []
    if number in record.boarded_numbers():
        return record, f"#{number} is already on {record.id}.", "", []
    entry = Boarded(pr.number, now, pr.title, pr.author, (*pr.labels, train.label), pr.head_sha)
    record = replace(record, boarded=(*record.boarded, entry)).with_event("board", now, who)
    return (
        record,
        f"#{number} boarded {record.id}.",
        "board",
        [act.AddLabel(record.id, number, train.label)],
    )
