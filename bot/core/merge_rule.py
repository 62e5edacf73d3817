"""The merge rule: the gates' verdict on the train PR, the gate conclusions the ledger
records, and the merge commit's message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config.model import Config
from bot.core.decide_base import Ctx
from bot.core.ledger import TrainRecord
from bot.core.world import PullRequest, World


@dataclass(frozen=True)
class Verdict:
    may_merge: bool
    blocking: tuple[str, ...]
    approved_by: tuple[str, ...] = ()
    trailer: str = ""


def merge_verdict(
    config: Config,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> Verdict:
    """The gates' verdict on the train PR head (`bot.core.gates`): every gate `success`, or
    `neutral` where `gates.allow_neutral` allows. `extra` holds the facts the shell gathered
    (`bot.shell.gate_facts`); without them CI and policy are judged from the World and the
    other gates report plainly that they checked nothing."""
    from bot.core.gates.lifecycle import gate_verdict

    judged = gate_verdict(config, record, pr, world, now, extra=extra)
    blocking = tuple(
        f"gate `{r.gate}` is {r.conclusion}: {r.title}"
        for r in judged.results
        if r.gate in judged.verdict.blocking
    )
    return Verdict(judged.verdict.may_merge, blocking, judged.approved_by, judged.verdict.trailer)


GATE_EVENT = "gate"
GATE_DETAIL_LIMIT = 2000


def gate_conclusions(record: TrainRecord) -> dict[str, str]:
    """The last recorded conclusion of each gate (ledger events ``gate``, detail
    ``<gate>=<conclusion>: <title>``)."""
    out: dict[str, str] = {}
    for event in record.history:
        if event.event == GATE_EVENT:
            head = event.detail.split(":", 1)[0]
            gate, _, conclusion = head.partition("=")
            out[gate.strip()] = conclusion.strip()
    return out


def record_gates(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> TrainRecord:
    """Each gate whose conclusion changed since the ledger last recorded it, as a ledger
    event with its title and summary. Only with gathered facts (a real evaluation)."""
    from bot.core.gates.lifecycle import gate_verdict
    from bot.core.gates.verdict import transitions

    extra = ctx.gate_facts.get(record.id)
    if extra is None:
        return record
    judged = gate_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra=extra)
    for change in transitions(gate_conclusions(record), judged.results):
        detail = f"{change.trailer()}: {change.title}\n\n{change.summary}"
        record = record.with_event(GATE_EVENT, ctx.now, detail=detail[:GATE_DETAIL_LIMIT])
    return record


def merge_message(record: TrainRecord, approvers: Sequence[str], gates: str = "") -> str:
    lines = [
        f"Merge release train {record.id}",
        "",
        f"Train-Id: {record.id}",
        f"Approved-By: {' '.join(approvers)}",
        f"Boarded: {' '.join(f'#{n}' for n in record.boarded_numbers())}",
    ]
    if gates:
        lines.append(f"Gates: {gates}")
    return "\n".join(lines) + "\n"
