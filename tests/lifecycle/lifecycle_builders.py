"""Plain-value builders for the lifecycle unit tests (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.config.model import (
    Config,
    Cutover,
    CutoverWindow,
    Freeze,
    Gates,
    Service,
    Stage,
    Train,
)
from bot.core.world import CheckRun, PullRequest, Review, World

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # a Tuesday; departures at 14:00 UTC
BASE_SHA = "b" * 40
APPROVED_AT = T0.replace(hour=14, minute=30)  # after the 14:00 departure
# the gates whose facts the bot does not gather yet report neutral; let them pass
LENIENT = Gates(ci={"required": ["ci"]}, allow_neutral=("security", "manifests", "error_budget"))


def config(**overrides: object) -> Config:
    train = Train(
        name="web",
        cadence="0 14 * * 1-5",
        deadlines=(("departed", timedelta(hours=48)),),
    )
    values: dict[str, object] = {
        "trains": (train,),
        "services": (Service("web", "ghcr.io/acme/web"),),
        "stages": (Stage("staging"), Stage("production", soak=timedelta(hours=1))),
        "cutover": Cutover(windows=(CutoverWindow(tuple(range(5)), time(9), time(17)),)),
        "gates": LENIENT,
    }
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


def pr(
    number: int,
    *,
    labels: tuple[str, ...] = ("train:next",),
    author: str = "dev",
    draft: bool = False,
    state: str = "open",
    head_ref: str = "",
    title: str = "",
    base: str = "main",
    body: str = "",
) -> PullRequest:
    return PullRequest(
        number=number,
        title=title or f"Change {number}",
        author=author,
        state=state,
        draft=draft,
        base=base,
        head_ref=head_ref or f"feature-{number}",
        head_sha=f"{number:040x}",
        labels=labels,
        body=body,
    )


def approved(number: int, by: str = "rev", role: str = "write") -> tuple[Review, ...]:
    """An approval of PR `number` on its head, by someone whose role the adapter read."""
    return (Review(by, "APPROVED", f"{number:040x}", APPROVED_AT, permission=role),)


def green(number: int) -> tuple[CheckRun, ...]:
    return (CheckRun("ci", "completed", "success"),)


def world(*prs: PullRequest, **kw: object) -> World:
    values: dict[str, object] = {
        "branches": {"main": BASE_SHA},
        "pulls": {p.number: p for p in prs},
        "reviews": {p.number: approved(p.number) for p in prs},
        "checks": {p.head_sha: green(p.number) for p in prs},
    }
    values.update(kw)
    return World(**values)  # type: ignore[arg-type]


FREEZE = Freeze("march", T0.date(), (T0 + timedelta(days=1)).date(), "quarter end")
