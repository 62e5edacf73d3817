"""Only the bot's own commits tell the story (pure; issue #25.2 and #27.3).

Trailers (`Train-Id`, `Stage`, `Event`, `Evidence`, ...) are text anyone can put in a commit
message: a pull request's own commits carry them onto the base branch when the train
merges, and a writer can push a commit onto the ledger branch. `own_history` splits what a
source read into the commits the bot made (`bot.core.identity`: its git identity and,
where the source knows it, GitHub's verification) and the rest: `audit`, `metrics` and the
dashboard see only the former; `audit verify` reports the latter as forgery attempts.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.identity import BotIdentity
from bot.insights.model import NULL_BLOB, Commit, History

BOT_TRAILERS = ("Train-Id", "Stage", "Event", "Evidence", "Approved-By", "Merge-Sha", "Commit")


def made_by(bot: BotIdentity, commit: Commit) -> bool:
    return bot.made_commit(commit.author, commit.email, commit.verified)


def claims(commit: Commit) -> bool:
    """Whether the commit's message carries any trailer the bot's own commits carry."""
    return any(key in BOT_TRAILERS for key, _ in commit.trailers())


def own_history(history: History, bot: BotIdentity) -> History:
    """`history` with only the bot's commits on either branch; the others kept aside (the
    ledger's full chain in `ledger_read` for the linearity check). From a local clone the
    ledger files at the tip are replayed from the bot's own commits only."""
    ledger = tuple(c for c in history.ledger if made_by(bot, c))
    foreign = tuple(c for c in history.ledger if not made_by(bot, c))
    base = tuple(c for c in history.base if made_by(bot, c))
    forged = tuple(c for c in history.base if not made_by(bot, c) and claims(c))
    tip = dict(history.tip_files)
    if history.changes_known and foreign:
        tip = _replayed(ledger, history)
    return replace(
        history,
        ledger=ledger,
        base=base,
        tip_files=tip,
        ledger_read=history.ledger,
        foreign_ledger=foreign,
        forged_base=forged,
    )


def _replayed(ledger: tuple[Commit, ...], history: History) -> dict[str, str]:
    current: dict[str, str] = {}
    for commit in ledger:
        for change in commit.changes:
            current[change.path] = change.new_blob
    blobs = history.blobs
    return {p: blobs[s] for p, s in current.items() if s != NULL_BLOB and s in blobs}
