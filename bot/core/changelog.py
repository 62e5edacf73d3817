"""The optional changelog (pure): with `release.changelog: CHANGELOG.md`, the train's release
branch gets one commit adding the release notes at the top of that file — below a leading
`# Title` line (and the blank lines after it) when the file has one — leaving every other
byte as it was: no reformatting, the file's line endings (CRLF kept) and a leading BOM kept.
A hidden marker names the train, so a re-run finds its entry and commits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

BOM = "\ufeff"


@dataclass(frozen=True)
class WriteChangelog:
    """Commit the train's notes at the top of `path` on its release branch `branch` (after
    the boarded PRs merged, before the train PR opens). Outcome: the branch's new head
    (the existing one when the entry is already there), folded as the release branch head."""

    train_id: str
    branch: str
    path: str

    def describe(self) -> str:
        return f"add the notes of {self.train_id} at the top of {self.path} on {self.branch}"


def marker(train_id: str) -> str:
    return f"<!-- release-train:changelog={train_id} -->"


def _eol(text: str) -> str:
    first = text.split("\n", 1)[0]
    return "\r\n" if "\n" in text and first.endswith("\r") else "\n"


def _title_end(text: str) -> int:
    """Where the entry goes: after a leading `# Title` line and its blank lines, else 0."""
    if not text.startswith("# "):
        return 0
    end = text.find("\n") + 1
    if end == 0:
        return len(text)
    while True:
        line_end = text.find("\n", end)
        line = text[end : line_end if line_end >= 0 else len(text)]
        if line.strip() or line_end < 0:
            return end
        end = line_end + 1


def with_entry(old: str | None, notes: str, train_id: str) -> str | None:
    """`old` (None: no such file) with the train's entry added; None when it is there."""
    old = old or ""
    if marker(train_id) in old:
        return None
    bom = BOM if old.startswith(BOM) else ""
    body = old[len(bom) :]
    eol = _eol(body)
    lines = [marker(train_id), *notes.rstrip("\n").split("\n")]
    entry = eol.join(line.rstrip("\r") for line in lines) + eol
    at = _title_end(body)
    if at and not body[:at].endswith("\n"):  # a title with no line end: end it first
        return bom + body + eol + eol + entry
    rest = body[at:]
    return bom + body[:at] + entry + (eol + rest if rest else "")
