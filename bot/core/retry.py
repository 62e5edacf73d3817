"""`/train retry without #12 [#14]` on a rolled-back train (pure): one revert PR of those
PRs' changes on the base branch, labelled for an emergency train, so the rest of the train
ships through the usual gates; the train's holds are released in the same ledger commit.

Asked on the train PR or its incident while the train holds its services. A file is
reverted to its content before the train (the base the train departed from) only if the
base's tip still has it exactly as the PR left it; otherwise (a later change, another
train PR touching it) the command is refused with the paths, for a person to revert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.model import Train
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import untrusted
from bot.core.ledger import TrainRecord
from bot.core.promotion_steps import Seen, recorded
from bot.core.retry_actions import OpenRetryPR
from bot.core.train import ROLLED_BACK

_NUMBER = re.compile(r"^#?(\d+)$")
USAGE = "usage: `/train retry without #N [#M ...]` (the train's PRs to leave out)."


@dataclass(frozen=True)
class FileFacts:
    """One path an excluded PR changed: its blob at the base's tip, at the PR's head and
    before the train ("" where the path does not exist)."""

    path: str
    tip: str
    head: str
    before: str


@dataclass(frozen=True)
class Request:
    author: str
    comment_id: int
    issue: int
    raw: str
    arg: str
    permitted: bool
    denial: str = ""


def retry_head(train_id: str) -> str:
    return f"release-train/retry-{train_id}"


def excluded(arg: str) -> tuple[int, ...] | None:
    """The PR numbers of `without #12 #14`; None when `arg` is not that."""
    words = arg.replace(",", " ").split()
    if len(words) < 2 or words[0].lower() != "without":
        return None
    matches = [_NUMBER.match(w) for w in words[1:]]
    if not all(matches):
        return None
    return tuple(dict.fromkeys(int(m.group(1)) for m in matches if m))


def refusal(record: TrainRecord, request: Request) -> str:
    """Why the request does nothing ("" when it may go on to read the PRs' files)."""
    if not request.permitted:
        return request.denial
    if record.state != ROLLED_BACK:
        return f"{record.id} was not rolled back (it is `{record.state}`): nothing to retry."
    numbers = excluded(request.arg)
    if not numbers:
        return USAGE
    riding = riding_numbers(record)
    stray = [n for n in numbers if n not in riding]
    if stray:
        listed = ", ".join(f"#{n}" for n in stray)
        return f"{listed} did not ride {record.id} (it carried {_list(riding)})."
    if set(numbers) == set(riding):
        return f"that leaves nothing of {record.id} to ship; revert it by hand instead."
    return ""


def riding_numbers(record: TrainRecord) -> tuple[int, ...]:
    missed = {m.number for m in record.missed}
    return tuple(n for n in record.boarded_numbers() if n not in missed)


def reverts(facts: Sequence[FileFacts]) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """(path -> blob to restore, "" to delete) and the paths that changed again since."""
    moved = sorted({f.path for f in facts if f.tip != f.head})
    files = tuple(sorted({(f.path, f.before) for f in facts if f.tip == f.head}))
    return files, moved


def reply(record: TrainRecord, request: Request, text: str, ok: bool) -> list[act.Action]:
    body = f"> {untrusted.inline(request.raw)}\n\n@{request.author} {text}"
    return [
        act.React(record.id, request.comment_id, "+1" if ok else "eyes"),
        act.PostComment(record.id, request.issue, body, f"reply:{request.comment_id}"),
    ]


def decide(
    train: Train,
    record: TrainRecord,
    request: Request,
    facts: Sequence[FileFacts],
    holds: holds_mod.Holds,
    seen: Seen,
    now: datetime,
) -> list[act.Action]:
    """The actions of one `/train retry` comment: a reply alone when it does nothing; else
    the revert PR, the reply, and one ledger commit recording it and releasing the holds."""
    why = refusal(record, request)
    if why:
        return reply(record, request, why, False)
    numbers = excluded(request.arg) or ()
    prs = _list(numbers)
    files, moved = reverts(facts)
    if moved:
        paths = ", ".join(f"`{untrusted.inline(p)}`" for p in moved)
        text = f"cannot revert {prs} here: {paths} changed again after it; revert it by hand."
        return reply(record, request, text, False)
    if not files:
        return reply(record, request, f"{prs} changed no file: nothing to revert.", False)
    who = request.author
    rest = _list(n for n in riding_numbers(record) if n not in numbers)
    title = f"Revert {prs} of {record.id}"
    body = (
        f"Reverts the changes of {prs}, which rode release train **{record.id}** (rolled "
        f"back), so the rest of it ({rest}) ships on an emergency train. Asked by @{who} "
        f"on #{request.issue}."
    )
    opened = OpenRetryPR(
        record.id, retry_head(record.id), train.base, title, body, files, train.emergency_label
    )
    services = [h.service for h in holds.of_train(record.id)]
    released = holds_mod.release(holds, record.id, who, now)
    record = record.with_event("retry", now, who, " ".join(f"#{n}" for n in numbers))
    trailers = [("Service", s) for s in services]
    text = (
        f"opening a revert of {prs} on `{train.base}` (branch `{opened.head}`, labelled "
        f"`{train.emergency_label}`): once approved and green it rides an emergency train "
        f"with the rest of {record.id}."
    )
    if services:
        text += f" Released the hold on {', '.join(f'`{s}`' for s in services)}."
    effects = [opened, *reply(record, request, text, True)]
    files_written = {holds_mod.HOLDS_PATH: holds_mod.encode(released)} if services else {}
    events = ["retry", *(["released"] if services else [])]
    return recorded(record, events, trailers, seen, effects=effects, actor=who, files=files_written)


def _list(numbers: Iterable[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers) or "none"
