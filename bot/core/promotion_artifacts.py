"""Promotion's artifact wait, pure: from what the registry said this round and the set the
train recorded, the train's artifact set and the actions that show and record it.

After the train merges (with an `artifacts:` block in the config) promotion first settles
the set (`bot.core.artifacts`): a service is looked up until it is found, failed or left
out — each settled entry is kept as recorded and never resolved again. Until nothing is
waiting, no service is bumped. Each change of the set is one group of actions: a comment on
the train PR for a service left out or failed (with the reason), the train PR's Services
list once settled, the `release-train/artifacts` check run on the merge commit, and the
ledger record (`artifacts.with_set`, the ONE place the set lives). A round where nothing
changed writes nothing. The bumps then write each shipping service's target
(`target`: ``tag@sha256:…`` pinned by digest, ``tag`` pinned by tag).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.config.imageref import ImageRef
from bot.config.model import Config, Service
from bot.core import actions as act
from bot.core import pins, untrusted
from bot.core.artifacts import Artifact, ArtifactSet, State, of_record, restamped, with_set
from bot.core.ledger import TrainRecord
from bot.core.manifests import Bump
from bot.errors import Problem

CHECK = "release-train/artifacts"
EVENT = "artifacts"  # the ledger event of a change of the set
SERVICES = "### Services"  # the notes' section the settled set rewrites


def enabled(config: Config) -> bool:
    """The config has an `artifacts:` block: promotion ships the resolved set."""
    return config.artifacts.enabled


def target(artifact: Artifact) -> str:
    """What the bumps write for a shipping service (`bot.core.pins`)."""
    if artifact.pin == "digest" and artifact.digest:
        return f"{artifact.tag}@{artifact.digest}"
    return artifact.tag


def targets(artifacts: ArtifactSet, held: Iterable[str] = ()) -> dict[str, str]:
    """Service -> target, for every service that ships (held ones left out)."""
    skip = set(held)
    return {a.service: target(a) for a in artifacts.artifacts if a.ships and a.service not in skip}


TRIAL_DIGEST = "sha256:" + "0" * 64  # what the manifests gate tries before the set exists


def trial_bump(config: Config, service: str, tag: str) -> Bump:
    """The bump the manifests gate tries on the train PR head: with a digest when the
    service ships pinned by digest (the set's digest is not known before the merge)."""
    image = config.service(service).image
    pinned = enabled(config) and config.artifacts.pin_for(service) == "digest"
    return pins.bump(image, f"{tag}@{TRIAL_DIGEST}" if pinned else tag)


def waiting_since(record: TrainRecord, now: datetime) -> datetime:
    """When the train started waiting for its images: its merge."""
    merged = [e.at for e in record.history if e.event == "merged"]
    return merged[-1] if merged else (record.state_since or now)


def carried_over(records: Iterable[TrainRecord], record: TrainRecord) -> tuple[str, ...]:
    """Services an earlier train of the same line left out (or failed) and no train shipped
    since: this train carries their change too (its merge commit holds it)."""

    def when(r: TrainRecord) -> float:
        return r.created_at.timestamp() if r.created_at else 0.0

    earlier = sorted(
        (r for r in records if r.train == record.train and r.id != record.id and r.merge_sha
         and when(r) <= when(record)),
        key=lambda r: (when(r), r.id),
    )  # fmt: skip
    owed: dict[str, bool] = {}
    for r in earlier:
        try:
            recorded = of_record(r)
        except ValueError:
            continue  # a record this bot cannot read carries nothing over
        for a in recorded.artifacts if recorded else ():
            owed[a.service] = a.state in (State.LEFT_OUT, State.FAILED)
    return tuple(sorted(s for s, due in owed.items() if due))


def to_look_up(
    recorded: ArtifactSet | None, wanted: Iterable[tuple[Service, ImageRef]]
) -> tuple[tuple[Service, ImageRef], ...]:
    """The services the registry is asked about this round: not yet settled."""
    settled = {a.service for a in (recorded.artifacts if recorded else ()) if not _waits(a)}
    return tuple((s, r) for s, r in wanted if s.name not in settled)


def _waits(artifact: Artifact) -> bool:
    return artifact.state is State.WAITING


def merged_set(recorded: ArtifactSet | None, fresh: ArtifactSet) -> ArtifactSet:
    """`fresh`, with each entry the train had already settled kept as recorded."""
    kept = {a.service: a for a in (recorded.artifacts if recorded else ()) if not _waits(a)}
    rows = tuple(kept.get(a.service, a) for a in fresh.artifacts)
    return ArtifactSet(fresh.revision, rows)


def _key(artifacts: ArtifactSet | None) -> tuple[tuple[str, str, str, str], ...]:
    rows = artifacts.artifacts if artifacts else ()
    return tuple((a.service, a.state.value, a.digest, a.revision) for a in rows)


@dataclass(frozen=True)
class Settling:
    """The round's set, the record that carries it, and the actions (none: unchanged)."""

    artifacts: ArtifactSet
    record: TrainRecord
    actions: tuple[act.Action, ...]
    wake: datetime | None = None


def settle(
    config: Config, record: TrainRecord, fresh: ArtifactSet, *, check_run: int, pr_body: str,
    now: datetime,
) -> Settling:  # fmt: skip
    """The train's set after this round's look-ups (`fresh`), and what shows and records it."""
    recorded = of_record(record)
    artifacts = merged_set(recorded, fresh)
    wake = None if artifacts.settled else waiting_since(record, now) + config.artifacts.timeout
    if recorded is not None and _key(recorded) == _key(artifacts):
        return Settling(artifacts, record, (), wake)
    record = with_set(record, artifacts).with_event(EVENT, now, detail=summary(artifacts))
    before = {a.service: a.state for a in (recorded.artifacts if recorded else ())}
    effects: list[act.Action] = []
    for a in artifacts.artifacts:
        if a.state in (State.LEFT_OUT, State.FAILED) and before.get(a.service) != a.state:
            effects += _told(record, a)
    if artifacts.settled and record.train_pr and SERVICES in pr_body:
        body = with_services(pr_body, artifacts)
        if body != pr_body:
            effects.append(act.UpdatePullRequest(record.id, record.train_pr, body))
    if record.merge_sha:
        effects.append(check_run_action(record, artifacts, check_run))
    trailers = tuple(("Artifact", line) for line in trailer_lines(artifacts))
    write = act.WriteLedger(record.id, (EVENT,), record, "", trailers, {}, True)
    return Settling(artifacts, record, (*effects, write), wake)


def _told(record: TrainRecord, artifact: Artifact) -> list[act.Action]:
    if not record.train_pr:
        return []
    what = "is left out of this train" if artifact.state is State.LEFT_OUT else "cannot ship"
    body = (
        f"📦 `{artifact.service}` {what}: {untrusted.markdown_line(artifact.reason)}\n\n"
        "The rest of the train promotes; the next train carries this service's change."
    )
    key = f"artifact:{record.id}:{artifact.service}:{artifact.state.value}"
    return [act.PostComment(record.id, record.train_pr, body, key)]


def summary(artifacts: ArtifactSet) -> str:
    """``2 found, 1 waiting`` (the ledger event's detail and the check run's title)."""
    counts = [(s.value, len(artifacts.by_state(s))) for s in State]
    return ", ".join(f"{n} {name}" for name, n in counts if n) or "no service changed"


def trailer_lines(artifacts: ArtifactSet) -> list[str]:
    """One `Artifact:` trailer per service: ``web found sha256:… <revision>``."""
    return [
        " ".join(x for x in (a.service, a.state.value, a.digest, a.revision) if x)
        for a in artifacts.artifacts
    ]


def rows(artifacts: ArtifactSet) -> list[str]:
    """The set as a Markdown table (the check run's summary)."""
    out = ["| service | state | image | digest | revision | why |", "|---|---|---|---|---|---|"]
    for a in artifacts.artifacts:
        cells = (a.service, a.state.value, f"{a.repository}:{a.tag}", a.digest,
                 a.revision[:12], a.reason)  # fmt: skip
        out.append("| " + " | ".join(untrusted.cell(c) for c in cells) + " |")
    return out


def check_run_action(
    record: TrainRecord, artifacts: ArtifactSet, run_id: int
) -> act.PublishCheckRun:
    """The `release-train/artifacts` check run on the merge commit, as the set stands."""
    body: dict[str, object] = {
        "name": CHECK,
        "head_sha": record.merge_sha,
        "external_id": record.id,
        "output": {"title": f"{record.id}: {summary(artifacts)}",
                   "summary": "\n".join(rows(artifacts))},
    }  # fmt: skip
    if not artifacts.settled:
        body["status"] = "in_progress"
        conclusion = "in_progress"
    else:
        failed = artifacts.by_state(State.FAILED)
        left = artifacts.by_state(State.LEFT_OUT)
        conclusion = "failure" if failed else "neutral" if left else "success"
        body.update(status="completed", conclusion=conclusion)
    return act.PublishCheckRun(
        record.id, CHECK, conclusion, "update" if run_id else "create", body, run_id
    )


def with_services(body: str, artifacts: ArtifactSet) -> str:
    """The train PR body with its notes' Services list as the set says (what ships, its
    digest; what was left out or failed, and why)."""
    start = body.find(SERVICES)
    if start < 0:
        return body
    end = body.find("\n\n", start)
    end = len(body) if end < 0 else end
    return body[:start] + "\n".join([SERVICES, *service_lines(artifacts)]) + body[end:]


def service_lines(artifacts: ArtifactSet) -> list[str]:
    """The notes' Services list from the recorded set."""
    out = []
    for a in artifacts.artifacts:
        image = f"`{a.service}` → `{a.repository}:{a.tag}`"
        if a.ships:
            digest = f" `{a.digest}`" if a.digest else ""
            out.append(f"- {image}{digest}")
        else:
            out.append(f"- {image}: {a.state.value} ({untrusted.inline(a.reason)})")
    return out


def restamp_problems(artifacts: ArtifactSet, heads: Mapping[str, str]) -> tuple[Problem, ...]:
    """A shipping tag that now points to another digest stops promotion (both named)."""
    out = []
    for a in artifacts.artifacts:
        if not a.ships or a.service not in heads:
            continue
        why = (
            restamped(a, heads[a.service])
            if heads[a.service]
            else (
                f"{a.repository}:{a.tag} is gone from the registry (recorded {a.digest}): "
                "promotion stops; the recorded digest keeps shipping where it was bumped"
            )
        )
        if why:
            out.append(Problem(why, f"{a.repository}:{a.tag}"))
    return tuple(out)
