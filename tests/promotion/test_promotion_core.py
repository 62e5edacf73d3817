"""The pure promotion core on plain values: steps, carried services, tags, per-step edits,
the soak state machine, the revert plan, holds and the stage table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.model import Config, Service, Stage, Train, Wave
from bot.core import holds as hd
from bot.core import promotion as pm
from bot.core import promotion_table
from bot.core.revert import EvidenceRow, evidence_table, incident_body, revert_steps
from bot.errors import ConfigError

T0 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
M = timedelta(minutes=1)

CONFIG = Config(
    trains=(Train("web"),),
    services=(
        Service("web", "ghcr.io/acme/web", paths=("src/web/*",)),
        Service("api", "ghcr.io/acme/api", paths=("src/api/*",), tag="{train}-{short_sha}"),
        Service("cli", "ghcr.io/acme/cli"),  # no paths: rides every train
    ),
    stages=(
        Stage("staging", manifests=("staging/*",), soak=10 * M),
        Stage(
            "production",
            slos=("availability",),
            waves=(Wave("eu", ("prod/eu/*",), 60 * M), Wave("us", ("prod/us/*",), 60 * M)),
        ),
    ),
)
PLAN = pm.plan_steps(CONFIG)

WORKLOAD = """\
spec:
  containers:
    - name: web
      image: ghcr.io/acme/web:1.0   # keep me
    - name: api
      image: 'ghcr.io/acme/api:2.0'
"""


def test_steps_are_stages_and_waves_in_order() -> None:
    assert [(s.name, s.stage, s.soak) for s in PLAN] == [
        ("staging", "staging", 10 * M),
        ("eu", "production", 60 * M),
        ("us", "production", 60 * M),
    ]
    assert PLAN[1].slos == ("availability",)
    assert pm.configured(CONFIG)
    assert not pm.configured(Config(trains=(Train("web"),), stages=(Stage("staging"),)))


def test_services_ride_when_their_paths_changed() -> None:
    train = CONFIG.trains[0]
    assert pm.services_for(CONFIG, train, ["src/web/app.py"]) == ("web", "cli")
    assert pm.services_for(CONFIG, train, ["README.md"]) == ("cli",)
    assert pm.services_for(CONFIG, train, None) == ("web", "api", "cli")


def test_tags_render_the_template_and_skip_held_services() -> None:
    sha = "0123456789abcdef"
    tags = pm.target_tags(CONFIG, ("web", "api"), sha, "web-2026-03-04", T0, held={"web"})
    assert tags == {"api": "web-2026-03-04-0123456"}
    assert pm.render_tag("{date}.{sha}", sha, "t", T0) == "2026-03-04.0123456789abcdef"


def test_a_glob_matching_nothing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="matches no file"):
        pm.step_files(CONFIG, PLAN[0], ["prod/eu/x.yaml"], ["web"])


def test_one_pass_per_file_one_line_per_service() -> None:
    owners = pm.step_files(CONFIG, PLAN[0], ["staging/app.yaml", "other.yaml"], ["web", "api"])
    assert owners == {"staging/app.yaml": ("web", "api")}
    edit = pm.edit_step(
        CONFIG, {"staging/app.yaml": WORKLOAD}, owners, {"web": "1.1", "api": "2.1"}
    )
    new = edit.files["staging/app.yaml"]
    changed = [
        (a, b) for a, b in zip(WORKLOAD.splitlines(), new.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        (
            "      image: ghcr.io/acme/web:1.0   # keep me",
            "      image: ghcr.io/acme/web:1.1   # keep me",
        ),
        ("      image: 'ghcr.io/acme/api:2.0'", "      image: 'ghcr.io/acme/api:2.1'"),
    ]
    assert [b.trailer() for b in edit.bumps] == ["web 1.0 -> 1.1", "api 2.0 -> 2.1"]
    again = pm.edit_step(CONFIG, {"staging/app.yaml": new}, owners, {"web": "1.1", "api": "2.1"})
    assert again.files == {}  # already at the target: no commit


SKAFFOLD = """apiVersion: skaffold/v4beta6
kind: Config
build:
  artifacts:
    - image: ghcr.io/acme/web:1.0
"""


def test_an_image_only_in_a_file_that_is_not_deployable_says_where_it_was_left() -> None:
    owners = {"staging/skaffold.yaml": ("web",)}
    with pytest.raises(ConfigError) as caught:
        pm.edit_step(CONFIG, {"staging/skaffold.yaml": SKAFFOLD}, owners, {"web": "1.1"})
    message = caught.value.problems[0].message
    assert message.startswith("image ghcr.io/acme/web (web) is in none of the stage's manifests")
    assert "found but not edited: staging/skaffold.yaml:5:" in message
    assert "yaml_paths" in message
    # named outright in the config, the same file is edited whatever its kind
    named = replace(CONFIG, services=(replace(CONFIG.services[0], manifests=("skaffold.yaml",)),
                                      *CONFIG.services[1:]))  # fmt: skip
    edit = pm.edit_step(named, {"skaffold.yaml": SKAFFOLD}, {"skaffold.yaml": ("web",)},
                        {"web": "1.1"})  # fmt: skip
    assert edit.files["skaffold.yaml"] == SKAFFOLD.replace("web:1.0", "web:1.1")


def test_an_image_gone_or_a_broken_manifest_names_the_path() -> None:
    owners = {"staging/app.yaml": ("web", "cli")}
    with pytest.raises(ConfigError, match=r"ghcr\.io/acme/cli"):
        pm.edit_step(CONFIG, {"staging/app.yaml": WORKLOAD}, owners, {"web": "1.1", "cli": "9"})
    with pytest.raises(ConfigError) as caught:
        pm.edit_step(CONFIG, {"staging/app.yaml": "a: [b\n"}, owners, {"web": "1.1"})
    assert caught.value.problems[0].file == "staging/app.yaml"


def _state(**steps: pm.StepState) -> pm.Promotion:
    names = [s.name for s in PLAN]
    return pm.Promotion({"web": "1.1"}, tuple(steps.get(n, pm.StepState(n)) for n in names))


def soaking(name: str, started: datetime) -> pm.StepState:
    return pm.StepState(
        name, pm.SOAKING, "c" * 40, started, bumps=(pm.BumpLine("web", "1.0", "1.1", ("f",)),)
    )


def passed(name: str) -> pm.StepState:
    return pm.StepState(
        name, pm.PASSED, "d" * 40, T0, bumps=(pm.BumpLine("web", "1.0", "1.1", ("f",)),)
    )


def test_soak_then_verdict_then_next_step_then_complete() -> None:
    assert pm.next_move(PLAN, _state(), T0).kind == "start"
    promotion = _state(staging=soaking("staging", T0))
    wait = pm.next_move(PLAN, promotion, T0 + 5 * M)
    assert (wait.kind, wait.until) == ("wait", T0 + 10 * M)
    assert pm.next_move(PLAN, promotion, T0 + 10 * M).kind == "pass"
    assert pm.next_move(PLAN, promotion, T0 + M, skip_requested=True).kind == "pass"
    after = _state(staging=passed("staging"))
    assert pm.next_move(PLAN, after, T0).step == "eu"
    done = _state(staging=passed("staging"), eu=passed("eu"), us=passed("us"))
    assert pm.next_move(PLAN, done, T0).kind == "complete"


def test_unsure_never_promotes_and_fail_reverts() -> None:
    promotion = _state(staging=passed("staging"), eu=soaking("eu", T0))
    late = T0 + 5 * 60 * M
    assert pm.next_move(PLAN, promotion, late, slo_action="hold").kind == "hold"
    assert (
        pm.next_move(PLAN, promotion, late, slo_action="hold", skip_requested=True).kind == "hold"
    )
    assert pm.next_move(PLAN, promotion, T0, slo_action="revert").kind == "revert"
    assert pm.next_move(PLAN, promotion, T0, rollback_requested=True).kind == "revert"
    failed = pm.Promotion(error="staging: broken")
    assert pm.next_move(PLAN, failed, T0).kind == "failed"


def test_revert_plan_is_newest_first_and_empty_without_bumps() -> None:
    promotion = _state(staging=passed("staging"), eu=soaking("eu", T0))
    plan = revert_steps(promotion)
    assert [(r.step, r.reverts, r.tags) for r in plan] == [
        ("eu", "c" * 40, {"web": "1.0"}),
        ("staging", "d" * 40, {"web": "1.0"}),
    ]
    assert revert_steps(_state()) == ()


def test_promotion_round_trips_through_json() -> None:
    promotion = _state(staging=passed("staging"), eu=soaking("eu", T0))
    assert pm.Promotion.from_json(promotion.to_json()) == promotion


def test_stage_table_is_stable_and_replaces_its_region() -> None:
    promotion = _state(staging=passed("staging"), eu=soaking("eu", T0))
    table = promotion_table.stage_table(PLAN, promotion, ["api"])
    assert "| eu | cccccccccccc | 2026-03-04 14:00 UTC | 2026-03-04 15:00 UTC | soaking |" in table
    assert "Held services (not bumped by any train): api" in table
    body = promotion_table.with_table("notes\n", table)
    assert promotion_table.with_table(body, table) == body
    assert promotion_table.with_table(body, "x").count(promotion_table.TABLE_BEGIN) == 1


def test_holds_round_trip_and_release() -> None:
    holds = hd.hold(hd.Holds(), ["web", "api"], "web-1", "breach", T0)
    holds = hd.hold(holds, ["web"], "web-2", "again", T0)  # the first hold stays
    assert hd.decode(hd.encode(holds)) == holds
    assert holds.services() == {"web", "api"} and len(holds.of_train("web-1")) == 2
    released = hd.release(holds, "web-1", "rm-dave", T0 + M)
    assert released.services() == frozenset()
    assert [e[1] for e in released.history] == ["held", "held", "released", "released"]


def test_incident_body_has_the_evidence_table_and_links() -> None:
    rows = [
        EvidenceRow(
            "availability", "canary", "web", "fail", "availability 0.05 > 0.0144 (1h/5m)", "up"
        )
    ]
    body = incident_body(
        "web-1", 7, "canary", "SLO breach", rows, [("canary", "abc")], ["web"], "http://p:9090"
    )
    assert "Train PR: #7" in body and "- canary: abc" in body and "`web`" in body
    assert "| availability | canary | web | fail | availability 0.05 > 0.0144 (1h/5m) |" in body
    assert "http://p:9090/graph?g0.expr=up" in evidence_table(rows, "http://p:9090")


@given(
    old=st.from_regex(r"[0-9][0-9a-z.]{0,8}", fullmatch=True),
    new=st.from_regex(r"[0-9][0-9a-z.]{0,8}", fullmatch=True),
)
def test_a_revert_restores_the_bytes_of_a_promotion(old: str, new: str) -> None:
    text = WORKLOAD.replace("web:1.0", f"web:{old}")
    owners = {"staging/app.yaml": ("web",)}
    forward = pm.edit_step(CONFIG, {"staging/app.yaml": text}, owners, {"web": new})
    promoted = forward.files.get("staging/app.yaml", text)
    back = pm.reverse_tags(forward.bumps)
    if not back:
        assert promoted == text
        return
    restored = pm.edit_step(CONFIG, {"staging/app.yaml": promoted}, owners, back)
    assert restored.files["staging/app.yaml"] == text


_STATUS = st.sampled_from([pm.PENDING, pm.SOAKING, pm.PASSED])


@given(
    statuses=st.lists(_STATUS, min_size=3, max_size=3),
    action=st.sampled_from(["ok", "hold", "abort", "revert"]),
    minutes=st.integers(0, 600),
    skip=st.booleans(),
)
def test_the_soak_never_promotes_past_an_unsure_or_failing_verdict(
    statuses: list[str], action: str, minutes: int, skip: bool
) -> None:
    steps = tuple(
        pm.StepState(s.name, status, "c" * 40, T0 if status != pm.PENDING else None)
        for s, status in zip(PLAN, statuses, strict=True)
    )
    move = pm.next_move(
        PLAN,
        pm.Promotion({"web": "1"}, steps),
        T0 + minutes * M,
        slo_action=action,
        skip_requested=skip,
    )
    current = next((s for s in steps if s.status != pm.PASSED), None)
    if current is None:
        assert move.kind == "complete"
    elif current.status == pm.PENDING:
        assert (move.kind, move.step) == ("start", current.name)  # steps run in order
    elif action != "ok":
        assert move.kind == action and move.kind != "pass"
    else:
        soak = next(p.soak for p in PLAN if p.name == current.name)
        assert (move.kind == "pass") == (skip or minutes * M >= soak)
