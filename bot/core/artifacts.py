"""The train's artifact set (pure): per service the train changes, the image it ships —
repository, tag, digest, source revision — and whether it may ship.

The shell asks the registry (`bot.adapters.registry`) and passes what it saw in as
`Observation` values, with `now`; this module decides each service's state:

- **found**: the tag resolves and the image says it was built from the commit that lands
  (its `org.opencontainers.image.revision`), or from a commit with the same tree
  (`same_tree`, worked out by the shell), or the configured `built_by` check run passed
  on that commit;
- **waiting**: no image yet (or the registry did not answer) and `artifacts.timeout`
  has not passed since the train started waiting;
- **failed**: the image was built from another commit (both named), or says nothing
  about its source and no `built_by` check vouches for it;
- **left-out**: still no image at the timeout: the service leaves this train, the next
  train carries its change.

A registry that fails keeps the service waiting (never left out for it): the next tick
retries, and the train's own deadlines bound the wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from bot.config.imageref import ImageRef, parse_image
from bot.config.model import Artifacts, Config, Service, Train
from bot.core.ledger import TrainRecord
from bot.core.promotion import render_tag, services_for


class State(Enum):
    FOUND = "found"
    WAITING = "waiting"
    FAILED = "failed"
    LEFT_OUT = "left-out"


@dataclass(frozen=True)
class Observation:
    """What the registry (and CI) said about one service's image, read at the edge."""

    digest: str = ""  # "" when the tag was not found
    revision: str = ""  # the image's org.opencontainers.image.revision ("" when none)
    missing: str = ""  # why not found (the registry's words)
    error: str = ""  # the registry failed (unreachable, 5xx, refused credentials)
    built_by: bool | None = None  # the `built_by` check run on the commit: passed? None: unknown


@dataclass(frozen=True)
class Artifact:
    service: str
    repository: str  # e.g. ghcr.io/acme/checkout (as configured)
    tag: str
    state: State
    digest: str = ""
    revision: str = ""
    reason: str = ""
    pin: str = "digest"  # "digest" or "tag": what a bump writes

    @property
    def image(self) -> str:
        """What a bump writes: `repo:tag@sha256:…` when pinned by digest, else `repo:tag`."""
        text = f"{self.repository}:{self.tag}"
        return f"{text}@{self.digest}" if self.pin == "digest" and self.digest else text

    @property
    def ships(self) -> bool:
        return self.state is State.FOUND


@dataclass(frozen=True)
class ArtifactSet:
    revision: str  # the commit that lands
    artifacts: tuple[Artifact, ...]

    def by_state(self, state: State) -> tuple[Artifact, ...]:
        return tuple(a for a in self.artifacts if a.state is state)

    @property
    def settled(self) -> bool:
        """Nothing is waiting any more: promotion may go on with the ones found."""
        return not self.by_state(State.WAITING)

    @property
    def shipping(self) -> tuple[str, ...]:
        return tuple(a.service for a in self.artifacts if a.ships)


def wanted(
    config: Config, train: Train, changed: Iterable[str] | None, revision: str, train_id: str,
    day: datetime,
) -> tuple[tuple[Service, ImageRef], ...]:  # fmt: skip
    """(service, the image reference to look up) for each service the train changes."""
    names = set(services_for(config, train, changed))
    out = []
    for service in config.services:
        if service.name in names:
            tag = render_tag(service.tag, revision, train_id, day)
            out.append((service, parse_image(f"{service.image}:{tag}")))
    return tuple(out)


def _short(sha: str) -> str:
    return sha[:12]


def decide_one(
    service: Service, ref: ImageRef, seen: Observation | None, settings: Artifacts, *,
    revision: str, same_tree: frozenset[str], waiting_since: datetime, now: datetime,
) -> Artifact:  # fmt: skip
    """One service's artifact from what was observed (None: not looked up yet)."""
    base = Artifact(service.name, service.image, ref.tag, State.WAITING,
                    pin=settings.pin_for(service.name))  # fmt: skip
    seen = seen or Observation(missing="not looked up yet")
    if seen.digest:
        found = Artifact(base.service, base.repository, base.tag, State.FOUND, seen.digest,
                         seen.revision, pin=base.pin)  # fmt: skip
        return _check_source(found, seen, settings, revision, same_tree)
    deadline = waiting_since + settings.timeout
    if seen.error:
        return _with(base, State.WAITING, f"the registry failed: {seen.error}; retrying")
    if now >= deadline:
        why = f"no image {ref} after {_duration(settings.timeout)} ({seen.missing or 'missing'})"
        return _with(base, State.LEFT_OUT, why + "; the next train carries this change")
    left = deadline - now
    return _with(base, State.WAITING, f"waiting for {ref} ({seen.missing or 'not found'}); "
                 f"left out in {_duration(left)} unless it appears")  # fmt: skip


def _check_source(
    found: Artifact, seen: Observation, settings: Artifacts, revision: str,
    same_tree: frozenset[str],
) -> Artifact:  # fmt: skip
    if seen.revision and (seen.revision == revision or seen.revision in same_tree):
        return found
    if settings.built_by and seen.built_by:
        return _with(found, State.FOUND, f"built by the check run {settings.built_by!r}")
    image = f"{found.repository}:{found.tag}"
    if seen.revision:
        why = f"{image} was built from {_short(seen.revision)}, but the train lands "
        return _with(found, State.FAILED, why + _short(revision))
    check = f" and the check run {settings.built_by!r} did not pass" if settings.built_by else ""
    return _with(found, State.FAILED, f"{image} has no "
                 f"org.opencontainers.image.revision label or annotation{check}: cannot tell "
                 f"that it was built from {_short(revision)}")  # fmt: skip


def _with(artifact: Artifact, state: State, reason: str) -> Artifact:
    return Artifact(artifact.service, artifact.repository, artifact.tag, state, artifact.digest,
                    artifact.revision, reason, artifact.pin)  # fmt: skip


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours}h{minutes}m"
    return f"{hours}h" if hours else f"{max(minutes, 1) if seconds else 0}m"


def decide(
    config: Config, wanted_refs: Iterable[tuple[Service, ImageRef]],
    observations: Mapping[str, Observation], *, revision: str, waiting_since: datetime,
    now: datetime, same_tree: Iterable[str] = (),
) -> ArtifactSet:  # fmt: skip
    """The train's artifact set from `observations` (by service name)."""
    trees = frozenset(same_tree)
    found = []
    for service, ref in wanted_refs:
        seen = observations.get(service.name)
        found.append(decide_one(service, ref, seen, config.artifacts, revision=revision,
                                same_tree=trees, waiting_since=waiting_since, now=now))  # fmt: skip
    return ArtifactSet(revision, tuple(found))


def restamped(recorded: Artifact, digest_now: str) -> str:
    """Why promotion must stop because the tag moved since it was recorded ("" when not)."""
    if not recorded.digest or digest_now == recorded.digest:
        return ""
    return (
        f"{recorded.repository}:{recorded.tag} now points to {digest_now}, not the recorded "
        f"{recorded.digest}: the tag was pushed again; the recorded digest keeps shipping"
    )


_FIELDS = ("service", "repository", "tag", "digest", "revision", "reason", "pin")


def to_json(artifacts: ArtifactSet) -> dict[str, object]:
    """The artifact set as the ledger records it (`from_json` reads it back)."""
    rows = [{**{k: getattr(a, k) for k in _FIELDS}, "state": a.state.value}
            for a in artifacts.artifacts]  # fmt: skip
    return {"revision": artifacts.revision, "artifacts": rows}


def from_json(data: object) -> ArtifactSet:
    """An artifact set from its ledger form; ValueError names what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("artifacts"), list):
        raise ValueError("artifacts: expected {revision, artifacts: [...]}")
    out = []
    for i, row in enumerate(data["artifacts"]):
        if not isinstance(row, dict) or not all(isinstance(row.get(k, ""), str) for k in _FIELDS):
            raise ValueError(f"artifacts[{i}]: expected a mapping of strings")
        try:
            state = State(row.get("state"))
        except ValueError:
            raise ValueError(f"artifacts[{i}].state: {row.get('state')!r} is not a state") from None
        out.append(Artifact(row.get("service", ""), row.get("repository", ""), row.get("tag", ""),
                            state, row.get("digest", ""), row.get("revision", ""),
                            row.get("reason", ""), row.get("pin", "digest")))  # fmt: skip
    return ArtifactSet(str(data.get("revision", "")), tuple(out))


RECORD_KEY = "artifacts"  # where a train's ledger record keeps its artifact set (`extra`)


def of_record(record: TrainRecord) -> ArtifactSet | None:
    """The artifact set the train recorded (None before it decided one). A malformed record
    raises ValueError naming what is wrong."""
    data = record.extra.get(RECORD_KEY)
    return None if data is None else from_json(data)


def with_set(record: TrainRecord, artifacts: ArtifactSet) -> TrainRecord:
    """`record` with `artifacts` as its recorded set."""
    return replace(record, extra={**record.extra, RECORD_KEY: to_json(artifacts)})
