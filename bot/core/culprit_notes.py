"""What culprit isolation says: on the train PR as it happens, and to the culprit PR."""

from __future__ import annotations

from collections.abc import Callable

from bot.core import bisect as bs
from bot.core import untrusted
from bot.core.ledger import TrainRecord
from bot.core.world import PullRequest

Branch = Callable[[TrainRecord, int], str]


def _prs(numbers: tuple[int, ...]) -> str:
    return ", ".join(f"#{n}" for n in numbers) or "none"


def _checks(state: bs.Bisection) -> str:
    return ", ".join(f"`{untrusted.inline(c)}`" for c in state.checks) or "CI"


def train_notice(record: TrainRecord, state: bs.Bisection, branch: Branch) -> str:
    """One line per step of the bisection, for the train PR."""
    head = f"🔎 **Culprit isolation** ({_checks(state)} failed on `{state.head[:12]}`): "
    if state.phase == bs.RERUN:
        return head + f"re-running the failing check ({state.reruns + 1}) to rule out a flake."
    if state.phase == bs.FLAKY:
        return head + "it passed when re-run: recorded as a **flaky** failure, nothing bisected."
    if state.phase == bs.FOUND:
        groups = "; ".join(
            f"#{g[0]}" if len(g) == 1 else f"#{g[0]} with #{g[1]} (only together)"
            for g in state.culprits
        )
        gone = _prs(bs.leaving(state))
        return (
            head + f"found after {state.rounds} CI round(s): {groups}. The train is cut again "
            f"without {gone}, which move(s) to the next train."
        )
    if state.ended:
        why = untrusted.inline(state.detail)
        return head + f"stopped ({why}); the train goes on without bisecting."
    lines = [f"- `{branch(record, c.key)}`: base + {_prs(c.prs)}" for c in state.pending]
    return head + f"round {state.rounds}, candidates:\n\n" + "\n".join(lines)


def culprit_notice(
    record: TrainRecord,
    state: bs.Bisection,
    number: int,
    partner: int | None,
    pr: PullRequest | None,
    label: str,
    branch: Branch,
) -> tuple[str, str]:
    """The `missed` detail and the comment for a PR the train leaves without."""
    proof = [c for c in state.tried if c.verdict == bs.FAIL and number in c.prs]
    shortest = min(proof, key=lambda c: len(c.prs)) if proof else None
    where = f" on `{branch(record, shortest.key)}`" if shortest else ""
    together = f" only together with #{partner}" if partner else ""
    detail = f"breaks {_checks(state)}{together}{where}"
    links = [
        f"- [{untrusted.inline(name)}]({url})" if url else f"- {untrusted.inline(name)}"
        for key, name, url in state.links
        if shortest is not None and key == shortest.key
    ]
    who = f"@{pr.author} " if pr is not None and pr.author else ""
    body = (
        f"🔎 {who}This pull request broke CI on release train **{record.id}**{together}: "
        f"{_checks(state)} failed on the train, and"
        f"{where or ' on a candidate'} (the base + {_prs(shortest.prs if shortest else ())}).\n\n"
        + ("\n".join(links) + "\n\n" if links else "")
        + f"The train leaves without it. It keeps the `{label}` label and boards the next "
        "train; push a fix before then."
    )
    return detail, body
