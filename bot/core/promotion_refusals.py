"""A promotion write refused by a rule or for a missing permission, pure: the named,
resumable state ("blocked") the train stops in, and the ledger event that records it.

GitHub refusing a bump, a deployment or a revert (`bot.errors.RuleRefused`,
`bot.errors.PermissionMissing`) is not a race and not GitHub failing: retrying changes
nothing until somebody lifts the rule (a bypass, `mode: pull_request`, an approval) or grants
the permission. The train keeps the record it had before the refused move, plus a `Blocked`
note under ``extra["blocked"]``: which step, which write, the rule's words and the fix. One
ledger commit records it (event ``blocked``, trailers ``Stage``, ``Rule``, ``Fix``), the train
PR's stage table shows it, and nothing else the move decided is written. Every later tick
decides the move again; the same refusal writes nothing new, a lifted rule lets the move go
through and drops the note (event ``unblocked`` in the history). A blocked revert stays owed:
the move is a revert again next time, whatever the SLOs say by then.

A stage that takes pull requests and needs a review gets its configured reviewers asked
once; a revert pull request is labelled urgent and the incident is opened at once, saying
that the revert waits for a human.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core import actions as act
from bot.core import promotion_actions as pa
from bot.core.ledger import TrainRecord

KEY = "blocked"
URGENT = "urgent"
BLOCKED = "blocked"
UNBLOCKED = "unblocked"


@dataclass(frozen=True)
class Blocked:
    """Why a train's promotion stands still until a person acts."""

    step: str  # the step whose write was refused
    what: str  # the write: "PATCH /repos/o/r/git/refs/heads/main"
    rule: str  # the rule's words, or the permission missing
    fix: str
    kind: str = "rule"  # "rule" or "permission"
    target: str = ""  # the branch, or "pull request #N"
    revert: bool = False  # the refused move was a revert (it stays owed)
    reason: str = ""  # ... and why it reverts
    pull: int = 0  # the stage's (or revert's) pull request that waits
    since: datetime | None = None
    asked: tuple[str, ...] = ()  # reviewers requested on `pull` (once)

    def same(self, other: Blocked | None) -> bool:
        """The same refusal as `other` (nothing new to record)."""
        keys = ("step", "rule", "fix", "kind", "target", "revert", "pull")
        return other is not None and all(getattr(self, k) == getattr(other, k) for k in keys)

    def line(self) -> str:
        """The stage table's line."""
        cause = "a rule" if self.kind == "rule" else "a missing permission"
        write = "revert" if self.revert else "promotion"
        where = f" on {self.target}" if self.target else ""
        text = f"⛔ {self.step}: the {write} is blocked by {cause}{where}: {self.rule}"
        return f"{text} — fix: {self.fix}"

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step, "what": self.what, "rule": self.rule, "fix": self.fix,
            "kind": self.kind, "target": self.target, "revert": self.revert,
            "reason": self.reason, "pull": self.pull,
            "since": self.since.isoformat() if self.since else None, "asked": list(self.asked),
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Blocked:
        since = raw.get("since")
        return cls(
            str(raw.get("step") or ""), str(raw.get("what") or ""), str(raw.get("rule") or ""),
            str(raw.get("fix") or ""), str(raw.get("kind") or "rule"),
            str(raw.get("target") or ""), bool(raw.get("revert")), str(raw.get("reason") or ""),
            int(raw.get("pull") or 0), datetime.fromisoformat(since) if since else None,
            tuple(str(a) for a in raw.get("asked") or ()),
        )  # fmt: skip


def of(record: TrainRecord) -> Blocked | None:
    raw = record.extra.get(KEY)
    return Blocked.from_json(raw) if isinstance(raw, Mapping) else None


def line(record: TrainRecord) -> str:
    """The stage table's line for a blocked train ("" when it is not blocked)."""
    blocked = of(record)
    return blocked.line() if blocked is not None else ""


def from_refusal(
    error: Any, step: str, now: datetime, *, revert: bool = False, reason: str = ""
) -> Blocked:
    """The note for a typed refusal (`RuleRefused` or `PermissionMissing`)."""
    from bot.errors import RuleRefused

    if isinstance(error, RuleRefused):
        number = error.branch.partition("pull request #")[2]
        return Blocked(
            step, error.what, _one_line(error.rule), _one_line(error.fix), "rule",
            error.branch, revert, reason, int(number or 0), now,
        )  # fmt: skip
    fix = _one_line(error.message.split(" — fix: ", 1)[-1])
    rule = "only a GitHub App token may write check runs" if error.app_only else (
        f"the token lacks `{error.permission}: {error.level}`"
    )  # fmt: skip
    return Blocked(step, error.what, rule, fix, "permission", "", revert, reason, 0, now)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def needs_review(blocked: Blocked) -> bool:
    return bool(blocked.pull) and "approving review" in blocked.rule


def block(
    record: TrainRecord,
    blocked: Blocked,
    reviewers: Sequence[str],
    recorded: Any,
    effects: Sequence[act.Action] = (),
) -> list[act.Action]:
    """The actions that record `blocked` on `record` (the train's record before the refused
    move): none when the same refusal is recorded already. `recorded(record, events,
    trailers, effects)` ends a move (`bot.core.promotion_steps.recorded`, with what was
    seen). A pull request that waits for a review gets `reviewers` asked (once); a revert's
    pull request the urgent label; `effects` (the incident) go before the record."""
    before = of(record)
    if blocked.same(before):
        return []
    out: list[act.Action] = list(effects)
    asked = before.asked if before is not None and before.pull == blocked.pull else ()
    wanted = tuple(r for r in reviewers if r not in asked)
    if needs_review(blocked) and wanted:
        out.append(pa.RequestReviewers(record.id, blocked.pull, wanted))
        asked = (*asked, *wanted)
    if blocked.revert and blocked.pull:
        out.append(act.AddLabel(record.id, blocked.pull, URGENT))
    blocked = replace(blocked, asked=asked)
    since = blocked.since
    assert since is not None
    noted = replace(record, extra={**record.extra, KEY: blocked.to_json()})
    noted = noted.with_event(BLOCKED, since, detail=f"{blocked.step}: {blocked.rule}")
    trailers = [("Stage", blocked.step), ("Rule", blocked.rule), ("Fix", blocked.fix)]
    return list(recorded(noted, [BLOCKED], trailers, out))


def unblocked(record: TrainRecord, now: datetime) -> TrainRecord:
    """`record` without its note (the move it stopped is being made again)."""
    blocked = of(record)
    if blocked is None:
        return record
    extra = {k: v for k, v in record.extra.items() if k != KEY}
    return replace(record, extra=extra).with_event(UNBLOCKED, now, detail=blocked.step)


def waiting_incident(incident: pa.OpenIncident, blocked: Blocked) -> pa.OpenIncident:
    """The incident of a revert that cannot land yet, saying whom it waits for."""
    who = "a person to grant the permission" if blocked.kind == "permission" else (
        "a human (a required review)" if needs_review(blocked) else "a person to lift the rule"
    )  # fmt: skip
    where = f" ({blocked.target})" if blocked.target else ""
    why = f"{incident.why}; the revert{where} waits for {who}: {blocked.rule} — fix: {blocked.fix}"
    return replace(incident, why=why)
