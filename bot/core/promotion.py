"""Promotion, pure: which stage or wave comes next, the bumps it makes, and how it soaks.

A train's promotion lives in its ledger record under ``extra["promotion"]`` as plain JSON
(`Promotion.to_json` / `Promotion.from_json`), so older bots keep it untouched. The shell
(`bot.shell.promote`) reads manifests and Prometheus, asks these functions what to do, and
performs it.

A *step* is one commit and one soak: a stage without waves, or one wave of a stage.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.config.model import Config, Service, Train
from bot.core import pins
from bot.core.ledger import TrainRecord, parse_commit_message
from bot.core.manifests import plan_many
from bot.core.slo.streak import Streak
from bot.errors import ConfigError, Problem

PENDING = "pending"
SOAKING = "soaking"
PASSED = "passed"
FAILED = "failed"
REVERTED = "reverted"

KEY = "promotion"


@dataclass(frozen=True)
class StepPlan:
    """One commit and one soak, from the config: a stage, or one wave of it."""

    name: str  # the environment: the stage's name, or the wave's
    stage: str
    manifests: tuple[str, ...]
    soak: timedelta
    slos: tuple[str, ...] = ()


@dataclass(frozen=True)
class BumpLine:
    """One service's tag change in one step: ``<service> <old> -> <new>`` over `files`."""

    service: str
    old: str
    new: str
    files: tuple[str, ...] = ()

    def trailer(self) -> str:
        return f"{self.service} {self.old or '(none)'} -> {self.new}"


@dataclass(frozen=True)
class StepState:
    name: str
    status: str = PENDING
    commit: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    bumps: tuple[BumpLine, ...] = ()
    verdict: str = ""
    evidence: tuple[str, ...] = ()
    unsure_since: datetime | None = None
    failures: tuple[Streak, ...] = ()  # failing SLO checks in a row (bot.core.slo.streak)
    deployment: int = 0
    skipped_by: str = ""
    revert_commit: str = ""
    skip_reason: str = ""  # the why of `/train promote <why>`
    bumped: datetime | None = None  # the bump landed; `started` waits for Argo CD's health


@dataclass(frozen=True)
class Promotion:
    """The promotion of one train: target tags and the state of every step."""

    tags: Mapping[str, str] = field(default_factory=dict)  # service -> target tag
    steps: tuple[StepState, ...] = ()
    error: str = ""  # a step that could not be planned: path and reason
    incident: int = 0
    rolled_back: bool = False

    def current(self) -> StepState | None:
        """The first step not yet passed (None: every step passed)."""
        return next((s for s in self.steps if s.status != PASSED), None)

    def with_step(self, step: StepState) -> Promotion:
        return replace(self, steps=tuple(step if s.name == step.name else s for s in self.steps))

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": dict(self.tags),
            "steps": [_step_json(s) for s in self.steps],
            "error": self.error,
            "incident": self.incident,
            "rolled_back": self.rolled_back,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Promotion:
        raw = raw or {}
        return cls(
            tags=dict(raw.get("tags") or {}),
            steps=tuple(_step_from(s) for s in raw.get("steps") or ()),
            error=str(raw.get("error") or ""),
            incident=int(raw.get("incident") or 0),
            rolled_back=bool(raw.get("rolled_back")),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _step_json(step: StepState) -> dict[str, Any]:
    return {
        "name": step.name,
        "status": step.status,
        "commit": step.commit,
        "started": _iso(step.started),
        "finished": _iso(step.finished),
        "bumps": [[b.service, b.old, b.new, list(b.files)] for b in step.bumps],
        "verdict": step.verdict,
        "evidence": list(step.evidence),
        "unsure_since": _iso(step.unsure_since),
        "failures": [f.to_json() for f in step.failures],
        "deployment": step.deployment,
        "skipped_by": step.skipped_by,
        "revert_commit": step.revert_commit,
        "skip_reason": step.skip_reason,
        "bumped": _iso(step.bumped),
    }


def _step_from(raw: Mapping[str, Any]) -> StepState:
    return StepState(
        name=str(raw["name"]),
        status=str(raw.get("status") or PENDING),
        commit=str(raw.get("commit") or ""),
        started=_dt(raw.get("started")),
        finished=_dt(raw.get("finished")),
        bumps=tuple(BumpLine(b[0], b[1], b[2], tuple(b[3])) for b in raw.get("bumps") or ()),
        verdict=str(raw.get("verdict") or ""),
        evidence=tuple(raw.get("evidence") or ()),
        unsure_since=_dt(raw.get("unsure_since")),
        failures=tuple(Streak.from_json(f) for f in raw.get("failures") or ()),
        deployment=int(raw.get("deployment") or 0),
        skipped_by=str(raw.get("skipped_by") or ""),
        revert_commit=str(raw.get("revert_commit") or ""),
        skip_reason=str(raw.get("skip_reason") or ""),
        bumped=_dt(raw.get("bumped")),
    )


def load(record: TrainRecord) -> Promotion:
    return Promotion.from_json(record.extra.get(KEY))


def store(record: TrainRecord, promotion: Promotion) -> TrainRecord:
    return replace(record, extra={**record.extra, KEY: promotion.to_json()})


# -- what to promote ---------------------------------------------------------------------


def plan_steps(config: Config) -> tuple[StepPlan, ...]:
    """Every step in order: each stage, or each of its waves."""
    steps: list[StepPlan] = []
    for stage in config.stages:
        if not stage.waves:
            steps.append(StepPlan(stage.name, stage.name, stage.manifests, stage.soak, stage.slos))
        for wave in stage.waves:
            steps.append(StepPlan(wave.name, stage.name, wave.manifests, wave.soak, stage.slos))
    return tuple(steps)


def configured(config: Config) -> bool:
    """Promotion runs when stages exist and some stage, wave or service names manifests;
    otherwise a merged train stays `merged` (nothing could be bumped)."""
    named = any(s.manifests or any(w.manifests for w in s.waves) for s in config.stages)
    return bool(config.stages) and (named or any(s.manifests for s in config.services))


def train_services(config: Config, train: Train) -> tuple[Service, ...]:
    names = set(train.services)
    return tuple(s for s in config.services if not names or s.name in names)


def services_for(config: Config, train: Train, changed: Iterable[str] | None) -> tuple[str, ...]:
    """The services a train carries: those whose `paths` a boarded PR touched (a service
    with no paths rides every train; `changed` None means "not known": every service)."""
    paths = None if changed is None else tuple(changed)
    out = []
    for service in train_services(config, train):
        touched = paths is None or not service.paths
        touched = touched or any(
            fnmatch.fnmatchcase(p, g) for p in paths or () for g in service.paths
        )
        if touched:
            out.append(service.name)
    return tuple(out)


def render_tag(template: str, sha: str, train_id: str, day: datetime) -> str:
    return template.format(
        sha=sha, short_sha=sha[:7], train=train_id, date=day.strftime("%Y-%m-%d")
    )


def target_tags(
    config: Config,
    services: Sequence[str],
    merge_sha: str,
    train_id: str,
    day: datetime,
    held: Iterable[str] = (),
) -> dict[str, str]:
    """Service -> the tag it is promoted to; held services are left out."""
    skip = set(held)
    return {
        name: render_tag(config.service(name).tag, merge_sha, train_id, day)
        for name in services
        if name not in skip
    }


def step_files(
    config: Config, step: StepPlan, tree: Iterable[str], services: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Manifest path -> the services that may live in it, for one step. A glob that
    matches no file is a `ConfigError` (the stage fails, nothing is written)."""
    paths = sorted(tree)
    problems: list[Problem] = []
    in_step: set[str] = set()
    globs = step.manifests or tuple(g for name in services for g in config.service(name).manifests)
    for glob in globs:
        found = [p for p in paths if fnmatch.fnmatchcase(p, glob)]
        if not found:
            problems.append(Problem(f"stage {step.name}: glob {glob!r} matches no file", glob))
        in_step.update(found)
    if problems:
        raise ConfigError(problems)
    files: dict[str, list[str]] = {}
    for name in services:
        service = config.service(name)
        mine = [
            p
            for p in sorted(in_step)
            if not service.manifests or any(fnmatch.fnmatchcase(p, g) for g in service.manifests)
        ]
        for path in mine:
            files.setdefault(path, []).append(name)
    return {p: tuple(s) for p, s in files.items()}


@dataclass(frozen=True)
class StepEdit:
    """The edits of one step: new file texts (changed files only) and one line per service."""

    files: dict[str, str]
    bumps: tuple[BumpLine, ...]


def named_files(config: Config) -> frozenset[str]:
    """Paths the configuration names outright (a `manifests` entry without wildcards):
    the bumps edit them whatever kind of YAML they hold; files a glob finds are edited only
    where they are deployable (`bot.core.manifests.deployable`)."""
    entries = [g for s in config.services for g in s.manifests]
    for stage in config.stages:
        entries += [*stage.manifests, *(g for w in stage.waves for g in w.manifests)]
    return frozenset(g for g in entries if not any(ch in g for ch in "*?["))


def _not_edited(places: Sequence[str]) -> str:
    """Where the image was found but left alone (a non-deployable file, a block scalar)."""
    if not places:
        return ""
    return (
        "; found but not edited: "
        + "; ".join(places[:3])
        + " (name the value with the service's yaml_paths to bump it there)"
    )


def edit_step(
    config: Config,
    texts: Mapping[str, str],
    owners: Mapping[str, Sequence[str]],
    tags: Mapping[str, str],
) -> StepEdit:
    """Apply each service's tag (`tags`) to the files it may live in (`owners`), one pass
    per file. An unparsable file, or a service whose image is in none of its files, is a
    `ConfigError` naming the path and the reason."""
    changed: dict[str, str] = {}
    old: dict[str, str] = {}
    where: dict[str, list[str]] = {}
    left: dict[str, list[str]] = {}  # places that name a service's image but are not edited
    named = named_files(config)  # any kind of YAML is edited in a file the config names
    for path, names in sorted(owners.items()):
        wanted = [n for n in names if n in tags]
        if not wanted:
            continue
        services = [config.service(n) for n in wanted]
        bumps = [pins.bump(s.image, tags[s.name]) for s in services]  # tag[@digest]
        extra = {s.image: s.yaml_paths for s in services if s.yaml_paths}
        result = plan_many(
            texts[path], bumps, filename=path, yaml_paths=extra, any_kind=path in named
        )
        if result.text != texts[path]:
            changed[path] = result.text
        for service in services:
            sites = [m for m in result.matched if _same(m.repository, service.image)]
            if sites:
                where.setdefault(service.name, []).append(path)
                old.setdefault(service.name, pins.site_value(sites[0].tag, sites[0].digest,
                                                             tags[service.name]))  # fmt: skip
            left.setdefault(service.name, []).extend(
                u.describe() for u in result.unedited if _names(u.text, service.image)
            )
    # a service none of the step's files may hold (no globs for it) is not bumped here
    missing = [n for n in tags if n not in where and any(n in o for o in owners.values())]
    if missing:
        problems = [
            Problem(
                f"image {config.service(n).image} ({n}) is in none of the stage's manifests"
                + _not_edited(left.get(n, []))
            )
            for n in dict.fromkeys(missing)
        ]
        raise ConfigError(problems)
    lines = tuple(BumpLine(n, old.get(n, ""), tags[n], tuple(where[n])) for n in tags if n in where)
    return StepEdit(changed, lines)


def _same(repository: str, image: str) -> bool:
    from bot.core.manifests import same_repository

    return same_repository(repository, image)


def _names(reference: str, image: str) -> bool:
    from bot.core.manifests.image import parse_image

    return _same(parse_image(reference).repository, image)


def reverse_tags(bumps: Iterable[BumpLine]) -> dict[str, str]:
    """Service -> the tag it had before the step (services that had none are left out)."""
    return {b.service: b.old for b in bumps if b.old and b.old != b.new}


def landed_step(
    commits: Iterable[tuple[str, str]], train_id: str, step: str, bumps: Sequence[BumpLine]
) -> tuple[str, tuple[BumpLine, ...]] | None:
    """Adopt a bump that landed but was never recorded (the bot died between its ref update
    and its ledger write): in `commits` (sha, message; newest first), the newest commit of
    `train_id` for `step` (its `Train-Id` and `Stage` trailers). When it is that step's
    promote commit: its sha, and `bumps` (read from files already at the tags, so
    `tag -> tag`) with the tags it replaced, from its `Bump:` trailers, so a revert restores
    them. None when there is none, or the newest is a revert (the bump was undone)."""
    for sha, message in commits:
        _, _, trailers = parse_commit_message(message)
        if (("Train-Id", train_id) not in trailers) or (("Stage", step) not in trailers):
            continue
        if not message.startswith(f"promote {train_id} to {step}"):
            return None
        made = dict(_bump_trailer(v) for k, v in trailers if k == "Bump" and " -> " in v)
        return sha, tuple(
            replace(b, old=made[b.service][0])
            if b.old == b.new and made.get(b.service, ("", ""))[1] == b.new
            else b
            for b in bumps
        )
    return None


def _bump_trailer(value: str) -> tuple[str, tuple[str, str]]:
    """``web 1.0.0 -> 1.1.0`` (`BumpLine.trailer`) -> ("web", ("1.0.0", "1.1.0"))."""
    service, _, change = value.strip().partition(" ")
    old, _, new = change.partition(" -> ")
    return service, ("" if old.strip() == "(none)" else old.strip(), new.strip())


# -- messages ----------------------------------------------------------------------------


def promote_message(train_id: str, step: StepPlan, bumps: Sequence[BumpLine]) -> str:
    lines = [f"promote {train_id} to {step.name}", ""]
    lines += [f"Train-Id: {train_id}", f"Stage: {step.name}"]
    lines.append(f"Services: {' '.join(b.service for b in bumps)}")
    lines += [f"Bump: {b.trailer()}" for b in bumps]
    return "\n".join(lines) + "\n"


def revert_message(
    train_id: str, step: str, reverts: str, evidence: Sequence[str], actor: str = ""
) -> str:
    lines = [f"revert {train_id} {step}", ""]
    lines += [f"Train-Id: {train_id}", f"Stage: {step}", f"Reverts: {reverts}"]
    lines += [f"Evidence: {e}" for e in evidence]
    if actor:
        lines.append(f"Actor: {actor}")
    return "\n".join(lines) + "\n"


# -- the soak ----------------------------------------------------------------------------


EVIDENCE = "evidence"  # a held stage waits for enough data to judge (exit code 3)
PROMETHEUS = "prometheus"  # a held stage waits for Prometheus to answer (exit code 4)


class MoveKind(StrEnum):
    """A train's next promotion move (see `Move`)."""

    START = "start"  # commit step `step` (bump its manifests, open its deployment)
    WAIT = "wait"  # soaking; look again at `until`
    PASS = "pass"  # the step passed: complete it (the next one starts in the same pass)
    COMPLETE = "complete"  # every step passed, or nothing to promote
    REVERT = "revert"  # an SLO breach or `/train rollback`: revert every bump
    HOLD = "hold"  # unsure SLOs: never promote
    ABORT = "abort"  # unsure past `inconclusive_after` and `on_inconclusive: abort`
    FAILED = "failed"  # rolled back or planning failed earlier: nothing to do


@dataclass(frozen=True)
class Move:
    """What to do now for a train's promotion, decided from the record and the SLO
    verdicts read at `now` (`next_move`); `bot.shell.promote` carries it out."""

    kind: MoveKind
    step: str = ""
    until: datetime | None = None
    reason: str = ""
    waits_on: str = ""  # a hold: EVIDENCE (no verdict yet) or PROMETHEUS (no answer)

    def describe(self) -> str:
        text = f"{self.kind.value} {self.step}".rstrip()
        return f"{text} ({self.reason})" if self.reason else text


def next_move(
    plan: Sequence[StepPlan],
    promotion: Promotion,
    now: datetime,
    *,
    slo_action: str = "ok",
    skip_requested: bool = False,
    rollback_requested: bool = False,
    health: Move | None = None,  # a syncing step's move (bot.core.promotion_health)
) -> Move:
    """The state machine of one train's promotion. `slo_action` is
    `bot.core.slo.stage_action` for the soaking step (``ok`` when it has no SLOs)."""
    if promotion.rolled_back:
        return Move(MoveKind.FAILED, reason="rolled back")
    if rollback_requested:
        return Move(MoveKind.REVERT, reason="rollback requested")
    if promotion.error:
        return Move(MoveKind.FAILED, reason=promotion.error)
    states = {s.name: s for s in promotion.steps}
    for step in plan:
        state = states.get(step.name, StepState(step.name))
        if state.status == PASSED:
            continue
        if state.status == PENDING:
            return Move(MoveKind.START, step.name)
        if health is not None and state.started is None:
            return health
        if slo_action == "revert":
            return Move(MoveKind.REVERT, step.name, reason="SLO breach")
        if slo_action in ("hold", "abort"):
            return Move(MoveKind(slo_action), step.name, reason="SLO verdict unsure")
        if slo_action == "failing":
            return Move(MoveKind.HOLD, step.name, reason="SLO failing, under failure_limit")
        soaked = state.started is not None and now >= state.started + step.soak
        if soaked or skip_requested:
            return Move(MoveKind.PASS, step.name)
        return Move(MoveKind.WAIT, step.name, until=(state.started or now) + step.soak)
    return Move(MoveKind.COMPLETE)


def soak_left(step: StepPlan, state: StepState, now: datetime) -> timedelta:
    if state.started is None or state.status != SOAKING:
        return timedelta(0)
    return max(timedelta(0), state.started + step.soak - now)
