"""The two-party consent rule on plain values (`bot.core.consent`)."""

from __future__ import annotations

import pytest

from bot.config.model import Config, Stage, Train
from bot.core.consent import (
    Acceptance,
    acceptance_from,
    operator_policy,
    other_repositories,
    parse_operator_pairs,
    refusals,
)

APP = "acme/app"


def config(*repos: str) -> Config:
    stages = tuple(Stage(f"s{i}", repository=r) for i, r in enumerate(repos))
    return Config(trains=(Train("web"),), stages=stages)


def test_only_other_repositories_need_consent_once_each() -> None:
    c = config("", "ACME/app", "acme/gitops", "acme/gitops", "acme/deploy")
    assert other_repositories(c, APP) == ("acme/gitops", "acme/deploy")
    assert refusals(config("", APP), APP, {}, operator_policy(())) == ()


def test_each_refused_stage_says_why() -> None:
    c = config("acme/gitops", "acme/deploy", "acme/infra", "acme/unread")
    answers = {
        "acme/gitops": Acceptance(("Acme/App",)),  # names are case-insensitive
        "acme/deploy": Acceptance(("acme/other",)),
        "acme/infra": Acceptance(problem="acme/infra:.github/release-train.yml has no x"),
    }
    found = {r.target: r.message for r in refusals(c, APP, answers, None)}
    assert set(found) == {"acme/deploy", "acme/infra", "acme/unread"}
    assert found["acme/deploy"] == (
        "stage `s1` may not write to acme/deploy: its `accept_from` lists acme/other, not acme/app"
    )
    assert "has not accepted trains from acme/app" in found["acme/infra"]
    assert found["acme/unread"].endswith("its configuration was not read")


def test_the_operator_is_asked_first() -> None:
    c = config("acme/gitops")
    consent = {"acme/gitops": Acceptance((APP,))}
    nobody = operator_policy(())
    (refused,) = refusals(c, APP, consent, nobody)
    assert "the operator does not allow trains of acme/app to write there" in refused.message
    assert refusals(c, APP, consent, operator_policy(parse_operator_pairs("acme/*->*/git*"))) == ()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"accept_from": [APP]}, ""),
        ({"version": 1}, "has no `accept_from`"),
        ({"accept_from": APP}, "must be a list of owner/name"),
        ({"accept_from": ["not a repo"]}, "must be a list of owner/name"),
        (["accept_from"], "is not a mapping"),
    ],
)
def test_accept_from_is_read_strictly(data: object, problem: str) -> None:
    found = acceptance_from(data, "acme/gitops:.github/release-train.yml")
    assert (problem in found.problem) if problem else found == Acceptance((APP,))


def test_operator_pairs_are_checked() -> None:
    assert parse_operator_pairs(" a/b->c/d,e/*->f/g ") == (("a/b", "c/d"), ("e/*", "f/g"))
    assert parse_operator_pairs("") == ()
    with pytest.raises(ValueError, match="'a/b' is not source->target"):
        parse_operator_pairs("a/b")
