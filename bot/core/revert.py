"""Revert, pure: the reverse of every bump a train made (newest step first), the evidence
trailers, and the incident issue's body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from bot.core.notes import stages_left
from bot.core.promotion import PASSED, SOAKING, Promotion, reverse_tags


@dataclass(frozen=True)
class RevertStep:
    """Put `step`'s files back to the tags they had before commit `reverts`."""

    step: str
    reverts: str
    tags: dict[str, str]  # service -> the tag before the train
    files: tuple[str, ...]


def revert_steps(promotion: Promotion) -> tuple[RevertStep, ...]:
    """Every step the train committed and has not reverted yet, newest first. A train that
    made no bump gives none (a recorded no-op)."""
    out = []
    for state in reversed(promotion.steps):
        if state.status not in (SOAKING, PASSED) or not state.commit or state.revert_commit:
            continue
        tags = reverse_tags(state.bumps)
        if not tags:
            continue
        files = tuple(sorted({f for b in state.bumps if b.service in tags for f in b.files}))
        out.append(RevertStep(state.name, state.commit, tags, files))
    return tuple(out)


@dataclass(frozen=True)
class EvidenceRow:
    slo: str
    stage: str
    service: str
    verdict: str
    evidence: str
    query: str = ""


def evidence_table(rows: Sequence[EvidenceRow], prometheus_url: str = "") -> str:
    lines = ["| SLO | stage | service | verdict | evidence | graph |", "|---|---|---|---|---|---|"]
    for row in rows:
        link = graph_link(prometheus_url, row.query) if prometheus_url and row.query else ""
        graph = f"[graph]({link})" if link else ""
        lines.append(
            f"| {row.slo} | {row.stage} | {row.service} | {row.verdict} | {row.evidence} "
            f"| {graph} |"
        )
    return "\n".join(lines)


def graph_link(prometheus_url: str, query: str) -> str:
    base = prometheus_url.rstrip("/")
    return f"{base}/graph?g0.expr={quote(query, safe='')}&g0.tab=0&g0.range_input=1h"


def incident_title(train_id: str, step: str) -> str:
    return f"Release train {train_id} rolled back in {step}"


def incident_body(
    train_id: str,
    train_pr: int,
    step: str,
    reason: str,
    rows: Sequence[EvidenceRow],
    commits: Sequence[tuple[str, str]],  # (step, revert commit sha)
    held: Sequence[str],
    prometheus_url: str = "",
) -> str:
    lines = [
        f"Release train **{train_id}** was rolled back during **{step}**: {reason}.",
        "",
        f"Train PR: #{train_pr}" if train_pr else "",
        "",
        "### Evidence",
        "",
        evidence_table(rows, prometheus_url) if rows else "(none: rolled back by hand)",
        "",
        "### Revert commits",
        "",
    ]
    lines += [f"- {name}: {sha}" for name, sha in commits] or ["- none (no bump was made)"]
    lines += [
        "",
        "### Held services",
        "",
        ", ".join(f"`{s}`" for s in held) or "none",
        "",
        "Comment `/train resume` on the train PR to release the holds once a fix is ready.",
    ]
    return "\n".join(lines)


def abort_notice(
    train_id: str,
    step: str,
    verdict: str,
    reasons: str,
    bumped: Sequence[tuple[str, str, str]],  # (step, status, commit) of each bumped step
    not_bumped: Sequence[str],
) -> str:
    """What the train PR says when `on_inconclusive: abort` ends a train: why, what stays
    as it is, and what a human should do."""
    lines = [
        f"🛑 Release train **{train_id}** is **aborted** (reason `slo-inconclusive`): the "
        f"SLO verdict in **{step}** stayed `{verdict}` past `inconclusive_after`, and the "
        "config says `on_inconclusive: abort`. Promotion has stopped; the bot bumps no "
        "further stage for this train and reverts nothing.",
        "",
        f"Why: {reasons}" if reasons else "",
        "",
    ]
    lines += stages_left(bumped, not_bumped, "Stages already bumped are left as they are:")
    lines += [
        "",
        f"**What to do:** find out why `{step}` has no verdict (no traffic, Prometheus "
        "down, a query that returns nothing) and check the bumped stages by hand. To undo "
        "them, revert their commits above; to ship the rest, let a later train carry these "
        "services once the SLOs can be judged.",
    ]
    return "\n".join(lines)
