"""The write of `/train retry without #N` (`bot.core.retry`), as data; `bot.shell.retry_io`
performs it through the one dispatcher, and `plan` lists it like any other action."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenRetryPR:
    """Commit `files` (path -> blob sha to restore, "" to delete) on the base's tip to
    branch `head`, open a PR of it into `base` labelled `label` (an emergency train's).
    A PR whose head is `head` (open or merged) is adopted: nothing new is made."""

    train_id: str
    head: str
    base: str
    title: str
    body: str
    files: tuple[tuple[str, str], ...]
    label: str

    def describe(self) -> str:
        return f"open the revert PR {self.head} -> {self.base}: {self.title}"


RETRY_ACTIONS = (OpenRetryPR,)
