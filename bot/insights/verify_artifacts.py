"""`audit verify` (pure): every bump commit of a train against the train's recorded
artifacts (`bot.core.artifacts.of_record`): each `Bump: <service> <old> -> <new>` trailer
of a `promote` commit must write what the set records for that service — its tag, its
digest when pinned by digest (or whenever the bump names a digest), its repository when the
bump names one — and only services the set ships. A train that recorded no set is not
checked here (its bumps are the tags its template rendered). Each finding names the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bot.core import artifacts as arts
from bot.core.ledger import record_path
from bot.insights.model import Commit, History, decode_record
from bot.insights.timeline import BASE, base_kind

if TYPE_CHECKING:
    from bot.insights.verify import Finding


def _finding(commit: Commit, train_id: str, kind: str, message: str) -> Finding:
    from bot.insights.verify import Finding

    return Finding(kind, commit.sha, BASE, train_id, message)


def _sets(history: History) -> dict[str, arts.ArtifactSet | str]:
    """Per train: its recorded set, or why it cannot be read (absent trains: not listed)."""
    out: dict[str, arts.ArtifactSet | str] = {}
    for path, text in history.tip_files.items():
        if not path.startswith("trains/"):
            continue
        record = decode_record(text)
        if record is None or record_path(record.id) != path:
            continue
        try:
            found = arts.of_record(record)
        except ValueError as exc:
            out[record.id] = str(exc)
            continue
        if found is not None:
            out[record.id] = found
    return out


def split_written(new: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of what a bump wrote: `repo:tag@sha256:…`, `tag@sha256:…`,
    `tag`, or a digest alone; a part not written is ""."""
    rest, _, digest = new.partition("@") if "@" in new else (new, "", "")
    if rest.startswith("sha256:") and not digest:
        return "", "", rest
    repository, tag = "", rest
    if "/" in rest or rest.count(":") > 0:
        head, sep, tail = rest.rpartition(":")
        if sep and "/" not in tail:
            repository, tag = head, tail
        else:
            repository, tag = rest, ""
    return repository, tag, digest


def disagreement(new: str, artifact: arts.Artifact) -> str:
    """Why a bump writing `new` does not ship `artifact` ("" when it does)."""
    repository, tag, digest = split_written(new)
    wrong = []
    if repository and repository != artifact.repository:
        wrong.append(f"image {repository}, not {artifact.repository}")
    if tag and tag != artifact.tag:
        wrong.append(f"tag {tag}, not {artifact.tag}")
    if digest and digest != artifact.digest:
        wrong.append(f"digest {digest}, not {artifact.digest or '(none recorded)'}")
    if not digest and artifact.pin == "digest" and artifact.digest:
        wrong.append(f"no digest, but {artifact.service} is pinned to {artifact.digest}")
    if not tag and not digest:
        wrong.append("neither a tag nor a digest")
    return "; ".join(wrong)


def check_artifacts(history: History) -> Iterator[Finding]:
    """Findings for bump commits that do not write the recorded artifacts."""
    sets = _sets(history)
    for commit in history.base:
        train_id = commit.trailer("Train-Id")
        if base_kind(commit) != "promote" or train_id not in sets:
            continue
        found = sets[train_id]
        if isinstance(found, str):
            why = f"the train's recorded artifact set cannot be read: {found}"
            yield _finding(commit, train_id, "artifacts-unreadable", why)
            continue
        shipping = {a.service: a for a in found.artifacts if a.ships}
        for key, value in commit.trailers():
            if key != "Bump":
                continue
            service, _, change = value.partition(" ")
            new = change.rpartition(" -> ")[2].strip()
            artifact = shipping.get(service)
            if artifact is None:
                yield _finding(commit, train_id, "artifact-not-recorded",
                               f"bump of {service} to {new}, but the train's recorded "
                               f"artifacts do not ship {service}")  # fmt: skip
                continue
            why = disagreement(new, artifact)
            if why:
                recorded = f"{artifact.repository}:{artifact.tag}@{artifact.digest}"
                text = f"bump of {service} wrote {new}: {why} (recorded {recorded})"
                yield _finding(commit, train_id, "artifact-mismatch", text)
