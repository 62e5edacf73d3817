"""`/train retry without #N` decided without I/O (`bot.core.retry`)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config.model import Train
from bot.core import actions as act
from bot.core.holds import Holds, hold
from bot.core.ledger import Boarded, Missed, TrainRecord
from bot.core.promotion_steps import Seen
from bot.core.retry import FileFacts, Request, decide, excluded, refusal, reverts
from bot.core.retry_actions import OpenRetryPR

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)
TRAIN = Train(name="web", label="train:next", cadence="0 * * * *", base="main")
RECORD = TrainRecord(
    id="web-2026-03-04",
    train="web",
    state="rolled_back",
    boarded=tuple(Boarded(n, NOW, f"PR {n}") for n in (11, 12, 13)),
    missed=(Missed(13, "checks"),),
    base_sha="b" * 40,
)


def _request(arg: str, ok: bool = True) -> Request:
    return Request("rm-dave", 7, 40, f"/train retry {arg}", arg, ok, "" if ok else "no way")


def test_the_numbers_are_read_from_without() -> None:
    assert excluded("without #12 #14") == (12, 14)
    assert excluded("without 12, #12") == (12,)
    assert excluded("#12") is None and excluded("without") is None
    assert excluded("without #12 please") is None


def test_refusals_name_what_is_wrong() -> None:
    assert refusal(RECORD, _request("without #11", ok=False)) == "no way"
    assert "did not ride" in refusal(RECORD, _request("without #13"))  # it missed the train
    assert "nothing of" in refusal(RECORD, _request("without #11 #12"))
    promoting = TrainRecord(id="w", train="web", state="promoting")
    assert "was not rolled back" in refusal(promoting, _request("without #11"))
    assert refusal(RECORD, _request("without #12")) == ""


def test_a_file_changed_again_since_the_pr_is_not_reverted_blindly() -> None:
    facts = [FileFacts("a", "h1", "h1", "b1"), FileFacts("b", "t2", "h2", "b2")]
    files, moved = reverts(facts)
    assert files == (("a", "b1"),) and moved == ["b"]
    actions = decide(TRAIN, RECORD, _request("without #12"), facts, Holds(), Seen(), NOW)
    assert not any(isinstance(a, OpenRetryPR | act.WriteLedger) for a in actions)
    (reply,) = [a for a in actions if isinstance(a, act.PostComment)]
    assert "`b` changed again" in reply.body


def test_a_retry_opens_the_pr_and_releases_the_holds_in_one_ledger_write() -> None:
    holds = hold(Holds(), ["web", "api"], RECORD.id, "breach", NOW)
    facts = [FileFacts("src/web/a.py", "h1", "h1", ""), FileFacts("src/web/b.py", "h2", "h2", "b")]
    actions = decide(TRAIN, RECORD, _request("without #12"), facts, holds, Seen(), NOW)
    (opened,) = [a for a in actions if isinstance(a, OpenRetryPR)]
    assert opened.files == (("src/web/a.py", ""), ("src/web/b.py", "b"))
    assert opened.label == "train:emergency" and opened.head == "release-train/retry-web-2026-03-04"
    (write,) = [a for a in actions if isinstance(a, act.WriteLedger)]
    assert write.events == ("retry", "released") and '"held": []' in write.files["holds.json"]
    assert actions.index(opened) < actions.index(write)
