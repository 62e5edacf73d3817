from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.gates.base import Annotation, GateResult
from bot.core.gates.checkrun import (
    ACTIONS,
    MAX_TEXT,
    CheckAction,
    CheckRunPlan,
    ExistingCheckRun,
    annotation_batches,
    check_run_name,
    gate_of,
    needs_update,
    plan_check_run,
    publish_action,
    render_output,
    requested_action,
    status_fields,
    truncate,
)

NOW = datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def make_annotations(n: int) -> tuple[Annotation, ...]:
    return tuple(
        Annotation(f"deploy/app-{i}.yaml", i + 1, i + 1, "failure", f"problem {i}", f"t{i}")
        for i in range(n)
    )


def gate_result(conclusion: str = "failure", n: int = 0, summary: str = "s") -> GateResult:
    return GateResult(
        "manifests",
        conclusion,  # type: ignore[arg-type]
        "Title",
        summary,
        annotations=make_annotations(n),
    )


def test_names_and_gate_lookup() -> None:
    assert check_run_name("error-budget") == "release-train/error-budget"
    assert gate_of("release-train/ci") == "ci"
    assert gate_of("build") is None and gate_of("release-train/") is None


@pytest.mark.parametrize("n", [0, 1, 49, 50, 51, 100, 101, 237])
def test_more_than_50_annotations_arrive_complete_in_batches(n: int) -> None:
    result = gate_result(n=n)
    plan = plan_check_run(result, SHA, NOW)
    bodies = [plan.first, *plan.rest]
    sizes = [len(b["output"].get("annotations", [])) for b in bodies]
    assert all(size <= 50 for size in sizes)
    assert len(bodies) == max(1, -(-n // 50))
    sent = plan.all_annotations()
    assert [(a["path"], a["start_line"], a["message"]) for a in sent] == [
        (a.path, a.start_line, a.message) for a in result.annotations
    ]
    for body in plan.rest:  # every update repeats the output title and summary
        assert body["output"]["title"] == "Title" and body["output"]["summary"] == "s"
        assert set(body) == {"output"}


def test_batches_concatenate_to_all() -> None:
    batches = annotation_batches(make_annotations(123))
    assert [len(b) for b in batches] == [50, 50, 23]
    flat = [payload for batch in batches for payload in batch]
    assert [p["message"] for p in flat] == [f"problem {i}" for i in range(123)]


def test_status_and_conclusion_mapping() -> None:
    assert status_fields(gate_result("in_progress"), NOW) == {"status": "in_progress"}
    for conclusion in ("success", "failure", "neutral", "action_required"):
        fields = status_fields(gate_result(conclusion), NOW)
        assert fields == {
            "status": "completed",
            "conclusion": conclusion,
            "completed_at": "2026-11-02T15:04:05Z",
        }


def test_plan_first_body_creates_the_run() -> None:
    plan = plan_check_run(
        gate_result("in_progress", n=3),
        SHA,
        NOW,
        details_url="https://bot.example/trains/x",
        external_id="shop-1",
    )
    first = plan.first
    assert first["name"] == "release-train/manifests" and first["head_sha"] == SHA
    assert first["status"] == "in_progress" and "conclusion" not in first
    assert len(first["actions"]) <= 3
    assert [a["identifier"] for a in first["actions"]] == ["reevaluate", "hold"]
    assert first["details_url"].endswith("/x") and first["external_id"] == "shop-1"
    assert "head_sha" not in plan.as_update()


def test_actions_respect_github_limits() -> None:
    for action in ACTIONS:
        assert len(action.label) <= 20 and len(action.description) <= 40
        assert len(action.identifier) <= 20
    with pytest.raises(ValueError, match="label"):
        CheckAction("Re-evaluate this gate now", "x", "y")
    with pytest.raises(ValueError, match="description"):
        CheckAction("Hold", "d" * 41, "hold")
    with pytest.raises(ValueError, match="identifier"):
        CheckAction("Hold", "d", "i" * 21)
    assert requested_action("hold.0123abcd") == ("hold", "0123abcd")
    assert requested_action("hold") == ("hold", "")  # from before nonces: matches no state
    assert requested_action("nuke.0123abcd") is None


def test_long_summary_and_text_are_truncated_with_a_note() -> None:
    big = "| row | value |\n" * 10_000
    output = render_output(gate_result(summary=big), text="ü" * 70_000)
    for key in ("summary", "text"):
        assert len(output[key].encode()) <= MAX_TEXT
        assert "Truncated" in output[key]
    assert output["summary"].startswith("| row | value |\n")


def test_short_text_untouched() -> None:
    assert truncate("hello") == "hello"
    exact = "x" * MAX_TEXT
    assert truncate(exact) == exact


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=3000), st.integers(min_value=200, max_value=2500))
def test_truncation_keeps_within_limit(text: str, limit: int) -> None:
    out = truncate(text, limit)
    assert len(out.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert out == text
    else:
        assert "Truncated" in out
        assert text.startswith(out[: out.index("\n\n---\n*Truncated")])


def test_annotation_payload_clips_and_normalises() -> None:
    ann = Annotation("./deploy/x.yaml", 0, 0, "warning", "m" * 70_000, "t" * 300)
    (payload,) = annotation_batches([ann])[0]
    assert payload["path"] == "deploy/x.yaml"
    assert payload["start_line"] == 1 and payload["end_line"] == 1
    assert len(payload["message"].encode()) <= 65_535
    assert len(payload["title"]) <= 255


def _existing(plan: CheckRunPlan, **changes: object) -> ExistingCheckRun:
    first = plan.first
    base = ExistingCheckRun(
        id=1,
        name=first["name"],
        head_sha=first["head_sha"],
        status=first["status"],
        conclusion=first.get("conclusion"),
        title=first["output"]["title"],
        summary=first["output"]["summary"],
        annotations_count=len(plan.all_annotations()),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_publishing_twice_does_nothing_the_second_time() -> None:
    plan = plan_check_run(gate_result("failure", n=3), SHA, NOW)
    assert publish_action(None, plan) == "create"
    assert publish_action(_existing(plan), plan) == "skip"
    assert not needs_update(_existing(plan), plan)


def test_changes_update_or_recreate() -> None:
    plain = plan_check_run(gate_result("success"), SHA, NOW)
    was_pending = _existing(plain, status="in_progress", conclusion=None)
    assert publish_action(was_pending, plain) == "update"
    annotated = plan_check_run(gate_result("failure", n=2), SHA, NOW)
    # GitHub appends annotations on update, so a changed annotated result is a new run
    assert publish_action(_existing(annotated, title="old"), annotated) == "create"
    assert publish_action(_existing(plain, annotations_count=4, title="old"), plain) == "create"
    assert publish_action(_existing(plain, head_sha="f" * 40), plain) == "create"
