from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config.model import ApprovalRule, Gates
from bot.core.gates.policy import (
    GATE,
    PolicyFacts,
    PolicySettings,
    Review,
    judge_approvals,
    latest_reviews,
    settings_from_config,
)
from bot.errors import ConfigError

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
ONE = PolicySettings(approvals=ApprovalRule(required=1))
TWO = PolicySettings(approvals=ApprovalRule(required=2))


HEAD = "e" * 40


def review(user: str, state: str = "APPROVED", minutes: int = 30, commit: str = HEAD) -> Review:
    return Review(user, state, T0 + timedelta(minutes=minutes), commit)


def facts(*reviews: Review, **kw: object) -> PolicyFacts:
    """Reviews on the head by writers (unless `writers` / `permissions` say otherwise)."""
    kw.setdefault("boarded_authors", ("dev-ann", "dev-bob"))
    kw.setdefault("branch_changed_at", T0)
    kw.setdefault("head_sha", HEAD)
    if "permissions" not in kw:
        kw.setdefault("writers", frozenset(r.user.lower() for r in reviews))
    return PolicyFacts(reviews=reviews, **kw)  # type: ignore[arg-type]


def test_enough_approvals_pass_with_a_table() -> None:
    result = GATE.evaluate(facts(review("rel-mgr")), ONE, NOW)
    assert result.conclusion == "success", result.summary
    assert "| check | state | detail |" in result.summary and "@rel-mgr" in result.summary
    assert result.details["approved_by"] == ["rel-mgr"]


def test_missing_approvals_wait_on_people() -> None:
    result = GATE.evaluate(facts(review("rel-mgr")), TWO, NOW)
    assert result.conclusion == "action_required"
    assert "1 of 2" in result.title
    assert result.recheck_after is None


def test_self_approval_by_a_boarded_author_does_not_count() -> None:
    result = GATE.evaluate(facts(review("dev-ann"), review("Dev-Bob")), ONE, NOW)
    assert result.conclusion == "action_required"
    assert result.details["approved_by"] == []
    assert ["Dev-Bob", "author of a boarded PR"] in result.details["ignored"]


def test_boarded_authors_count_only_when_the_policy_allows() -> None:
    allow = PolicySettings(approvals=ApprovalRule(required=1, boarded_authors_may_approve=True))
    result = GATE.evaluate(facts(review("dev-ann")), allow, NOW)
    assert result.conclusion == "success" and result.details["approved_by"] == ["dev-ann"]
    # still a writer's approval on the head, and never the train PR's own author
    read_only = facts(review("dev-ann"), permissions={"dev-ann": "read"})
    assert GATE.evaluate(read_only, allow, NOW).details["approved_by"] == []
    parsed = settings_from_config({"approvals": {"boarded_authors_may_approve": True}})
    assert parsed.approvals.boarded_authors_may_approve is True


def test_the_bot_never_counts() -> None:
    result = GATE.evaluate(facts(review("release-train[bot]")), ONE, NOW)
    assert result.conclusion == "action_required"
    assert result.details["ignored"] == [["release-train[bot]", "the bot"]]


def test_approval_then_push_is_stale() -> None:
    pushed = T0 + timedelta(minutes=45)
    stale = GATE.evaluate(facts(review("rel-mgr", minutes=30), branch_changed_at=pushed), ONE, NOW)
    assert stale.conclusion == "action_required"
    assert "stale" in stale.details["ignored"][0][1]
    fresh = GATE.evaluate(
        facts(
            review("rel-mgr", minutes=30), review("rel-mgr", minutes=50), branch_changed_at=pushed
        ),
        ONE,
        NOW,
    )
    assert fresh.conclusion == "success"


def test_stale_approval_counts_without_dismiss_stale() -> None:
    settings = PolicySettings(approvals=ApprovalRule(required=1, dismiss_stale=False))
    pushed = T0 + timedelta(minutes=45)
    result = GATE.evaluate(facts(review("rel-mgr"), branch_changed_at=pushed), settings, NOW)
    assert result.conclusion == "success"


def test_latest_review_state_counts_and_comment_does_not_cancel_approval() -> None:
    reviews = (
        review("a", "APPROVED", 10),
        review("a", "COMMENTED", 20),
        review("b", "APPROVED", 10),
        review("b", "DISMISSED", 20),
        review("c", "CHANGES_REQUESTED", 10),
        review("c", "APPROVED", 20),
        review("d", "COMMENTED", 10),
    )
    latest = latest_reviews(reviews)
    assert {u: r.state for u, r in latest.items()} == {
        "a": "APPROVED",
        "b": "DISMISSED",
        "c": "APPROVED",
    }
    outcome = judge_approvals(facts(*reviews), ApprovalRule(required=2), "release-train[bot]")
    assert outcome.counted == ("a", "c") and outcome.met


def test_reviews_out_of_order_are_sorted_by_time() -> None:
    reviews = (review("a", "APPROVED", 40), review("a", "CHANGES_REQUESTED", 20))
    assert latest_reviews(reviews)["a"].state == "APPROVED"


def test_standing_changes_requested_blocks_even_with_enough_approvals() -> None:
    result = GATE.evaluate(facts(review("rel-mgr"), review("sre", "CHANGES_REQUESTED")), ONE, NOW)
    assert result.conclusion == "action_required"
    assert "changes requested by @sre" in result.title


def test_team_restriction() -> None:
    settings = PolicySettings(approvals=ApprovalRule(required=1, teams=("release-managers",)))
    members = {"acme/release-managers": frozenset({"Rel-Mgr"}), "acme/devs": frozenset({"eve"})}
    outsider = GATE.evaluate(facts(review("eve"), team_members=members), settings, NOW)
    assert outsider.conclusion == "action_required"
    assert "not a member of release-managers" in outsider.details["ignored"][0][1]
    insider = GATE.evaluate(facts(review("rel-mgr"), team_members=members), settings, NOW)
    assert insider.conclusion == "success"


CODEOWNERS = """\
*                     @acme/platform
/services/checkout/   @acme/checkout @carol
/services/cart/       @dave
/deploy/production/   @acme/sre
/docs/
"""
MEMBERS = {
    "acme/platform": frozenset({"pat"}),
    "acme/checkout": frozenset({"chris", "cathy"}),
    "acme/sre": frozenset({"sam"}),
}
OWNERS_RULE = PolicySettings(approvals=ApprovalRule(required=1, codeowners=True))


def owner_facts(paths: tuple[str, ...], *reviews: Review) -> PolicyFacts:
    return facts(*reviews, codeowners_text=CODEOWNERS, changed_paths=paths, team_members=MEMBERS)


@pytest.mark.parametrize(
    ("paths", "approvers", "conclusion", "uncovered"),
    [
        # a team member of the owning team approves
        (("services/checkout/api.py",), ("cathy",), "success", []),
        # an individual owner approves
        (("services/checkout/api.py",), ("carol",), "success", []),
        # an owner of another path approves: counts toward the number, the path still waits
        (
            ("services/checkout/api.py", "services/cart/cart.go"),
            ("chris",),
            "action_required",
            ["services/cart/cart.go"],
        ),
        (("services/checkout/api.py", "services/cart/cart.go"), ("chris", "dave"), "success", []),
        # the catch-all owner covers the root files; the last matching rule wins for deploy/
        (
            ("README.md", "deploy/production/app.yaml"),
            ("pat",),
            "action_required",
            ["deploy/production/app.yaml"],
        ),
        (("README.md", "deploy/production/app.yaml"), ("pat", "sam"), "success", []),
        # docs/ has no owners: anyone's approval counts there
        (("docs/guide.md",), ("random-dev",), "success", []),
        # nobody who owns anything approved
        (("services/cart/cart.go",), ("random-dev",), "action_required", ["services/cart/cart.go"]),
    ],
)
def test_codeowners_routing(
    paths: tuple[str, ...], approvers: tuple[str, ...], conclusion: str, uncovered: list[str]
) -> None:
    result = GATE.evaluate(owner_facts(paths, *(review(a) for a in approvers)), OWNERS_RULE, NOW)
    assert result.conclusion == conclusion, result.summary
    assert result.details["uncovered_paths"] == uncovered


def test_codeowner_who_is_also_boarded_author_does_not_count() -> None:
    f = replace(owner_facts(("services/cart/cart.go",), review("dave")), boarded_authors=("dave",))
    result = GATE.evaluate(f, OWNERS_RULE, NOW)
    assert result.conclusion == "action_required"


def test_non_owner_approval_is_reported_as_not_counting() -> None:
    result = GATE.evaluate(
        owner_facts(("services/cart/cart.go",), review("dave"), review("random-dev")),
        replace(OWNERS_RULE, approvals=ApprovalRule(required=2, codeowners=True)),
        NOW,
    )
    assert result.conclusion == "action_required"
    assert ["random-dev", "not a code owner of the changed paths"] in result.details["ignored"]


def test_codeowners_required_but_missing_fails_plainly() -> None:
    result = GATE.evaluate(facts(review("rel-mgr"), changed_paths=("a.py",)), OWNERS_RULE, NOW)
    assert result.conclusion == "failure"
    assert "no CODEOWNERS file" in result.summary


def test_emergency_trains_use_the_emergency_rule() -> None:
    settings = PolicySettings(
        approvals=ApprovalRule(required=1),
        emergency_approvals=ApprovalRule(required=2, teams=("sre",)),
    )
    members = {"acme/sre": frozenset({"sam", "sue"})}
    one = GATE.evaluate(facts(review("sam"), team_members=members, emergency=True), settings, NOW)
    assert one.conclusion == "action_required" and one.details["required"] == 2
    both = GATE.evaluate(
        facts(review("sam"), review("sue"), team_members=members, emergency=True), settings, NOW
    )
    assert both.conclusion == "success"


def test_freeze_holds_the_train_until_it_ends() -> None:
    ends = NOW + timedelta(days=3)
    result = GATE.evaluate(facts(review("rel-mgr"), freeze="year-end", freeze_ends=ends), ONE, NOW)
    assert result.conclusion == "in_progress"
    assert "year-end" in result.title
    assert result.recheck_after == timedelta(days=3)


def test_emergency_ignores_freeze_and_cutover_by_default() -> None:
    settings = replace(ONE, emergency_approvals=ApprovalRule(required=1))
    f = facts(review("rel-mgr"), freeze="year-end", in_cutover=False, emergency=True)
    assert GATE.evaluate(f, settings, NOW).conclusion == "success"
    strict = replace(settings, emergency_ignores_freeze=False)
    assert GATE.evaluate(f, strict, NOW).conclusion == "in_progress"


def test_closed_cutover_window_rechecks_when_it_opens() -> None:
    opens = NOW + timedelta(hours=5)
    result = GATE.evaluate(facts(review("rel-mgr"), in_cutover=False, next_cutover=opens), ONE, NOW)
    assert result.conclusion == "in_progress"
    assert result.recheck_after == timedelta(hours=5)
    assert opens.isoformat() in result.title


def test_waiting_on_people_outranks_waiting_on_time() -> None:
    result = GATE.evaluate(facts(in_cutover=False, next_cutover=NOW + timedelta(hours=1)), ONE, NOW)
    assert result.conclusion == "action_required"
    assert result.recheck_after == timedelta(hours=1)


def test_settings_from_config_uses_typed_rules_unless_given() -> None:
    gates = Gates(approvals=ApprovalRule(required=3))
    assert settings_from_config({}, gates).approvals.required == 3
    settings = settings_from_config(
        {
            "approvals": {"required": 2, "teams": ["sre"], "codeowners": True},
            "enforce_cutover": False,
        },
        gates,
    )
    assert settings.approvals == ApprovalRule(required=2, teams=("sre",), codeowners=True)
    assert settings.enforce_cutover is False
    with pytest.raises(ConfigError, match="required"):
        settings_from_config({"approvals": {"required": -1}})
    with pytest.raises(ConfigError, match="unknown"):
        settings_from_config({"approvals": {"requires": 1}})


def test_approvals_without_write_access_do_not_count() -> None:
    roles = {"drive-by": "read", "rel-mgr": "maintain", "tri": "triage"}
    f = facts(review("drive-by"), review("Rel-Mgr"), review("tri"), permissions=roles)
    result = GATE.evaluate(f, TWO, NOW)
    assert result.details["approved_by"] == ["rel-mgr"]
    assert result.conclusion == "action_required"
    ignored = dict(map(tuple, result.details["ignored"]))
    assert ignored == {
        "drive-by": "no write access to the repository (role: read)",
        "tri": "no write access to the repository (role: triage)",
    }
    assert "does not count: no write access to the repository (role: read)" in result.summary


def test_unknown_or_empty_permission_data_fails_closed() -> None:
    """The old hole: with no writer known the check was skipped and anyone counted."""
    for kw in ({"writers": None}, {"writers": frozenset()}, {"permissions": {}}):
        result = GATE.evaluate(facts(review("drive-by"), **kw), ONE, NOW)
        assert result.conclusion == "action_required", kw
        assert result.details["approved_by"] == []
        (why,) = [why for _, why in result.details["ignored"]]
        assert why.startswith(("write access unknown", "no write access")), why


def test_an_approval_on_another_commit_than_the_head_does_not_count() -> None:
    old = "d" * 40
    result = GATE.evaluate(facts(review("rel-mgr", commit=old), review("sre")), TWO, NOW)
    assert result.details["approved_by"] == ["sre"]
    assert result.details["ignored"] == [
        ["rel-mgr", "stale: given on commit ddddddd, not on the head eeeeeee"]
    ]
    no_head = GATE.evaluate(facts(review("sre"), head_sha=""), ONE, NOW)
    assert no_head.details["ignored"] == [["sre", "the head commit is not known"]]
    no_commit = GATE.evaluate(facts(review("sre", commit="")), ONE, NOW)
    assert no_commit.conclusion == "action_required"


def test_the_train_prs_author_does_not_count() -> None:
    result = GATE.evaluate(facts(review("opener"), pr_author="Opener"), ONE, NOW)
    assert result.details["ignored"] == [["opener", "the pull request's author"]]


def test_codeowners_lines_github_skips_are_warnings_at_their_lines() -> None:
    text = CODEOWNERS + "!vendor/ @nobody\n"
    f = replace(owner_facts(("services/cart/cart.go",), review("dave")), codeowners_text=text)
    result = GATE.evaluate(f, OWNERS_RULE, NOW)
    assert result.conclusion == "success"
    (ann,) = result.annotations
    assert (ann.path, ann.start_line, ann.annotation_level) == (".github/CODEOWNERS", 6, "warning")
    assert "negated pattern" in result.summary


def test_uncovered_paths_name_their_declared_owners() -> None:
    result = GATE.evaluate(
        owner_facts(("deploy/production/app.yaml",), review("pat")), OWNERS_RULE, NOW
    )
    assert result.conclusion == "action_required"
    assert "owners: @acme/sre" in result.summary
