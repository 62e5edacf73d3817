"""The typed configuration model: what `.github/release-train.yml` means once loaded.

Every value here is already validated and defaulted (see `bot.config.load`); durations are
`timedelta`, times are `datetime.time`, and references between sections resolve.
These frozen dataclasses are the contract between the loader and the pure core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta


@dataclass(frozen=True)
class NoteCategory:
    """A heading in the release notes and the PR labels that put a PR under it."""

    title: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class BoardingRules:
    """What a boarded PR needs at departure, or it misses the train."""

    require_approval: bool = True
    require_checks: bool = True
    allow_drafts: bool = False


# How long a train may stay in each non-terminal state unless `trains[].deadlines` says
# otherwise (the schema's defaults). `merged` and `promoting` count only where promotion is
# configured; without it a merged train rests in `merged`.
DEFAULT_DEADLINES: tuple[tuple[str, timedelta], ...] = (
    ("boarding", timedelta(weeks=5)),
    ("departed", timedelta(days=7)),
    ("merged", timedelta(days=2)),
    ("promoting", timedelta(days=14)),
)


@dataclass(frozen=True)
class Train:
    """One train line: its label, cadence and the services it carries."""

    name: str
    label: str = "train:next"
    emergency_label: str = "train:emergency"
    cadence: str = "0 14 * * 1-5"  # cron, UTC
    base: str = "main"
    release_branch: str = "release/{train}"
    services: tuple[str, ...] = ()  # empty: every service
    boarding: BoardingRules = field(default_factory=BoardingRules)
    # state name -> how long a train may stay in it (e.g. "departed": 48h)
    deadlines: tuple[tuple[str, timedelta], ...] = ()
    notes: tuple[NoteCategory, ...] = ()

    def deadline(self, state: str) -> timedelta | None:
        """The longest time a train may stay in `state` (None: terminal or unknown)."""
        return {**dict(DEFAULT_DEADLINES), **dict(self.deadlines)}.get(state)


@dataclass(frozen=True)
class CutoverWindow:
    """Weekdays (0 = Monday) and a time range, in the cutover time zone; end may wrap midnight."""

    days: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True)
class Cutover:
    timezone: str = "UTC"
    windows: tuple[CutoverWindow, ...] = ()  # empty: any time


@dataclass(frozen=True)
class Freeze:
    """No departures and no merges from `start` to `end` inclusive.

    A yearly freeze repeats every year; its `start`/`end` carry the month and day
    (the year in them is meaningless) and may wrap the new year.
    """

    name: str
    start: date
    end: date
    reason: str = ""
    yearly: bool = False

    def covers(self, day: date) -> bool:
        """Whether the freeze is in force on `day` (inclusive; a yearly one by month and day)."""
        if not self.yearly:
            return self.start <= day <= self.end
        md = (day.month, day.day)
        start, end = (self.start.month, self.start.day), (self.end.month, self.end.day)
        if start <= end:
            return start <= md <= end
        return md >= start or md <= end  # wraps the new year


@dataclass(frozen=True)
class Service:
    """A deployable: its image, the source paths that belong to it, how its tag is made."""

    name: str
    image: str  # repository, e.g. ghcr.io/acme/checkout
    paths: tuple[str, ...] = ()  # globs of source paths; a PR touching one carries the service
    tag: str = "{short_sha}"  # template: {sha} {short_sha} {train} {date}
    manifests: tuple[str, ...] = ()  # globs of manifests that mention the image (all stages)
    yaml_paths: tuple[str, ...] = ()  # extra YAML paths to bump, e.g. spec.x[name=app].image


@dataclass(frozen=True)
class Wave:
    name: str
    manifests: tuple[str, ...]
    soak: timedelta


@dataclass(frozen=True)
class ArgoCD:
    """Argo CD health for a stage (`bot.core.argocd_health`): where its API is (an operator
    source by name, or a URL that gets no credentials) and which Applications to wait for."""

    source: str = ""
    server: str = ""
    applications: tuple[str, ...] = ()
    selector: str = ""  # a Kubernetes label selector, instead of `applications`
    project: str = ""  # lets Argo CD answer 404 (not 403) for a missing Application
    refresh: bool = False  # ?refresh=normal on every read
    insecure: bool = False  # skip TLS verification of `server`
    health_timeout: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Stage:
    """One step of promotion. With waves, each wave is its own commit and soak."""

    name: str
    manifests: tuple[str, ...] = ()
    soak: timedelta = timedelta(minutes=30)
    slos: tuple[str, ...] = ()
    waves: tuple[Wave, ...] = ()
    mode: str = "commit"  # "commit" (Git Data API) or "pull_request"
    repository: str = ""  # "owner/name" of a separate GitOps repository; "" = this one
    branch: str = ""  # branch the bumps go to; "" = the train's base (or the repo default)
    argocd: ArgoCD | None = None  # wait for Argo CD Synced + Healthy before the soak
    reviewers: tuple[str, ...] = ()  # asked to review its pull request when a rule needs one


@dataclass(frozen=True)
class BurnRate:
    """Both windows must burn at least `factor` times the allowed error rate."""

    long: timedelta
    short: timedelta
    factor: float


@dataclass(frozen=True)
class Comparison:
    """Canary-versus-baseline rank test (Mann–Whitney U) over per-step samples."""

    canary: str  # PromQL
    baseline: str  # PromQL
    tolerance: float = 0.1  # relative; canary may be this much worse
    confidence: float = 0.95
    min_samples: int = 20
    step: timedelta = timedelta(minutes=1)
    worse: str = "higher"  # "higher" (error ratios, latency) or "lower" (success, throughput)


@dataclass(frozen=True)
class SLO:
    """A service-level objective, judged per stage (and service) against Prometheus.

    Exactly one of: `error_ratio` (PromQL giving bad/total), `good` + `total`, or
    `latency` (PromQL giving a quantile in seconds, compared with `threshold`).
    Templates may use {stage}, {service} and {window}.
    """

    name: str
    objective: float = 99.9  # percent
    window: timedelta = timedelta(days=30)
    error_ratio: str = ""
    good: str = ""
    total: str = ""
    latency: str = ""
    threshold: float = 0.0  # seconds, for latency SLOs
    # latency as a burn rate: the histogram's bucket series; good/total are derived from
    # it (`bot.config.slo_histogram`): requests slower than `threshold` are bad
    histogram: str = ""
    requests: str = ""  # PromQL for request count over {window}, for min_requests
    min_requests: int | None = None  # None: derived from the objective (config.slo_defaults)
    by: tuple[str, ...] = ()  # labels that tell the queries' series apart; () = one series
    # recording rules per window: PromQL asked instead of the primary query, never cut
    rules: tuple[tuple[timedelta, str], ...] = ()
    burn_rates: tuple[BurnRate, ...] = ()
    compare: Comparison | None = None
    inconclusive_after: timedelta | None = None
    on_inconclusive: str = "hold"  # "hold", "abort" or "revert" once inconclusive_after passes
    mode: str = "enforce"  # "observe": judged and shown, never holds, aborts or reverts
    initial_delay: timedelta = timedelta(0)  # warm-up after the bump: not judged before it
    failure_limit: int = 1  # failing checks in a row before a revert
    interval: timedelta = timedelta(minutes=1)  # checks closer than this count once


@dataclass(frozen=True)
class Prometheus:
    """Where SLO queries go: an operator source by name, or a URL (credentials never come
    from the repository: `bot.config.outbound`)."""

    source: str = ""
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout: timedelta = timedelta(seconds=10)
    verify_tls: bool = True


@dataclass(frozen=True)
class Artifacts:
    """How a train finds the images it ships (`bot.core.artifacts`)."""

    timeout: timedelta = timedelta(hours=2)  # then a service still without an image leaves
    pin: str = "digest"  # what bumps write by default: "digest" (repo:tag@sha256:...) or "tag"
    pins: tuple[tuple[str, str], ...] = ()  # service -> "digest" | "tag"
    built_by: str = ""  # a check run on the landing commit that vouches for unlabelled images
    platform: str = "linux/amd64"  # the manifest an index is read through
    enabled: bool = False  # an `artifacts:` block: promotion ships the resolved set

    def pin_for(self, service: str) -> str:
        return dict(self.pins).get(service, self.pin)


@dataclass(frozen=True)
class Release:
    """A train's GitHub Release (`bot.core.release`): its tag, and the changelog file the
    release branch adds the notes to ("" for none)."""

    tag: str = "train/{id}"
    changelog: str = ""


@dataclass(frozen=True)
class Culprit:
    """Culprit isolation for a failing CI check on the train PR (`bot.core.bisect`)."""

    bisect: bool = True
    max_rounds: int = 10
    parallel: int = 1  # candidates per round
    rerun_flaky: int = 1  # re-runs of the failing check before bisecting
    ci: tuple[str, ...] = ()  # empty: the CI gate's required checks
    timeout: timedelta = timedelta(hours=1)  # per round, for CI to report on the candidates


@dataclass(frozen=True)
class ApprovalRule:
    required: int = 1
    teams: tuple[str, ...] = ()
    codeowners: bool = False
    dismiss_stale: bool = True
    boarded_authors_may_approve: bool = False


@dataclass(frozen=True)
class Gates:
    """Gate settings; each gate's own schema lives in `schemas/gates/<gate>.schema.json`."""

    ci: dict[str, object] = field(default_factory=dict)
    security: dict[str, object] = field(default_factory=dict)
    manifests: dict[str, object] = field(default_factory=dict)
    policy: dict[str, object] = field(default_factory=dict)
    error_budget: dict[str, object] = field(default_factory=dict)
    flags: dict[str, object] = field(default_factory=dict)
    migrations: dict[str, object] = field(default_factory=dict)
    allow_neutral: tuple[str, ...] = ()
    approvals: ApprovalRule = field(default_factory=ApprovalRule)
    emergency_approvals: ApprovalRule = field(default_factory=lambda: ApprovalRule(required=2))


@dataclass(frozen=True)
class Incident:
    labels: tuple[str, ...] = ("incident", "release-train")
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatOps:
    release_team: str = ""  # org team slug whose members may depart/hold/abort/promote/rollback


@dataclass(frozen=True)
class Config:
    trains: tuple[Train, ...]
    services: tuple[Service, ...] = ()
    stages: tuple[Stage, ...] = ()
    slos: tuple[SLO, ...] = ()
    cutover: Cutover = field(default_factory=Cutover)
    freezes: tuple[Freeze, ...] = ()
    gates: Gates = field(default_factory=Gates)
    prometheus: Prometheus = field(default_factory=Prometheus)
    artifacts: Artifacts = field(default_factory=Artifacts)
    release: Release = field(default_factory=Release)
    culprit: Culprit = field(default_factory=Culprit)
    incident: Incident = field(default_factory=Incident)
    chatops: ChatOps = field(default_factory=ChatOps)
    ledger_branch: str = "release-train/ledger"
    # repositories (owner/name) whose trains may write here through a stage's `repository:`
    accept_from: tuple[str, ...] = ()

    def train(self, name: str) -> Train:
        return next(t for t in self.trains if t.name == name)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def slo(self, name: str) -> SLO:
        return next(s for s in self.slos if s.name == name)
