"""The stage table on the train PR: each step's commit, start, soak end and verdict, in a
region of the PR body the bot owns (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core import untrusted
from bot.core.promotion import Promotion, StepPlan, StepState

TABLE_BEGIN = "<!-- release-train:promotion-begin -->"
TABLE_END = "<!-- release-train:promotion-end -->"


def stage_table(
    plan: Sequence[StepPlan], promotion: Promotion, held: Sequence[str] = (), blocked: str = ""
) -> str:
    """The train PR's progress: stage, commit, started, soak end, verdict (the soak column
    names when the soak ends rather than a countdown, so an unchanged state is unchanged
    text and a quiet reconcile writes nothing)."""
    states = {s.name: s for s in promotion.steps}
    rows = [
        "### Promotion",
        "",
        "| stage | commit | started | soak until | verdict |",
        "|---|---|---|---|---|",
    ]
    for step in plan:
        state = states.get(step.name, StepState(step.name))
        started = _hm(state.started)
        until = _hm(state.started + step.soak) if state.started else ""
        verdict = state.verdict or state.status
        if state.skipped_by:
            why = f": {untrusted.inline(state.skip_reason)}" if state.skip_reason else ""
            verdict += f" (soak skipped by @{state.skipped_by}{why})"
        rows.append(f"| {step.name} | {state.commit[:12]} | {started} | {until} | {verdict} |")
    if any("@" in tag for tag in promotion.tags.values()):  # the artifact set's digests
        rows += ["", "Ships: " + ", ".join(f"`{s}` `{t}`" for s, t in promotion.tags.items())]
    if promotion.error:
        rows += ["", f"🛑 Promotion stopped: {promotion.error}"]
    if blocked:  # a write refused by a rule (bot.core.promotion_refusals)
        rows += ["", blocked]
    if promotion.rolled_back:
        rows += ["", f"⏪ Rolled back (incident #{promotion.incident})."]
    if held:
        rows += ["", "Held services (not bumped by any train): " + ", ".join(held)]
    return "\n".join(rows)


def _hm(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def with_table(body: str, table: str) -> str:
    """`body` with its promotion region replaced (or appended)."""
    region = f"{TABLE_BEGIN}\n{table}\n{TABLE_END}"
    start, end = body.find(TABLE_BEGIN), body.find(TABLE_END)
    if start >= 0 and end > start:
        return body[:start] + region + body[end + len(TABLE_END) :]
    return (body.rstrip("\n") + "\n\n" if body.strip() else "") + region + "\n"
