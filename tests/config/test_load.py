"""Loading: defaults and extends merged with positions into the right file, the typed model,
semantic checks and warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config.load import load_config, load_config_text, validate_text
from bot.config.model import Config
from bot.errors import ConfigError, Problem

ROOT = Path(__file__).resolve().parents[2]
SMALL = "version: 1\ntrains:\n  - name: daily\n"


def _reader(files: dict[str, str]):  # type: ignore[no-untyped-def]
    return files.get


def _errors(text: str, files: dict[str, str] | None = None) -> list[Problem]:
    return [
        p
        for p in validate_text(text, "cfg.yml", read_file=_reader(files or {}))
        if p.severity == "error"
    ]


def test_minimal_config_gets_defaults() -> None:
    config = load_config_text(SMALL, "cfg.yml")
    assert isinstance(config, Config)
    [train] = config.trains
    assert train.name == "daily" and train.label == "train:next"
    assert config.cutover.timezone == "UTC"
    assert config.incident.labels == ("incident", "release-train")
    assert config.prometheus.timeout == timedelta(seconds=10)
    assert config.gates.approvals.required == 1
    assert config.gates.emergency_approvals.required == 2
    assert config.ledger_branch == "release-train/ledger"


def test_examples_load_into_the_model() -> None:
    config = load_config(ROOT / "examples" / "multi-region.yml")
    assert [s.name for s in config.stages] == ["staging", "canary", "production"]
    production = config.stages[2]
    assert [w.name for w in production.waves] == ["eu-west", "us-east", "ap-south"]
    assert production.waves[2].soak == timedelta(hours=1)
    assert production.mode == "pull_request" and production.repository == "acme/gitops-production"
    assert config.train("daily").deadline("departed") == timedelta(hours=48)
    assert config.cutover.windows[0].days == (0, 1, 2, 3)
    assert config.cutover.windows[0].start == time(9, 0)
    year_end = config.freezes[1]
    assert year_end.yearly and (year_end.start.month, year_end.start.day) == (12, 20)
    assert config.freezes[0].start == date(2026, 11, 26)
    availability = config.slo("availability")
    assert availability.burn_rates[0].factor == 14.4
    assert availability.burn_rates[0].long == timedelta(hours=1)
    assert config.slo("canary-errors").compare is not None
    assert config.prometheus.headers == (("X-Scope-OrgID", "acme"),)
    # builtin:strict sits between the defaults and the file: CODEOWNERS from strict, the
    # file's own required count on top.
    assert config.gates.approvals.codeowners is True
    assert config.gates.approvals.required == 2
    assert config.gates.security["when_unavailable"] == "failure"


def test_example_gate_settings_are_accepted_by_the_gates() -> None:
    from bot.core.gates import ci, error_budget, policy, security

    config = load_config(ROOT / "examples" / "multi-region.yml")
    assert ci.settings_from_config(config.gates.ci).timeout == timedelta(hours=3)
    assert security.settings_from_config(config.gates.security).when_unavailable == "failure"
    assert policy.settings_from_config(config.gates.policy, config.gates).approvals.required == 2
    assert error_budget.settings_from_config(config.gates.error_budget).min_remaining == 0.25


def test_lists_from_the_repo_file_replace_and_mappings_merge() -> None:
    policy = "incident:\n  labels: [a, b]\n  assignees: [x]\ncutover:\n  timezone: Europe/Berlin\n"
    text = SMALL + "extends: shared/policy.yml\nincident:\n  labels: [mine]\n"
    config = load_config_text(text, "cfg.yml", read_file=_reader({"shared/policy.yml": policy}))
    assert config.incident.labels == ("mine",)
    assert config.incident.assignees == ("x",)
    assert config.cutover.timezone == "Europe/Berlin"


def test_problem_in_extended_policy_points_into_that_file() -> None:
    policy = "# shared\ncutover:\n  timezone: Mars/Olympus\n"
    [problem] = _errors(SMALL + "extends: p.yml\n", {"p.yml": policy})
    assert (problem.file, problem.line, problem.col) == ("p.yml", 3, 13)
    assert "Mars/Olympus" in problem.message


def test_problem_in_merged_mapping_points_at_the_file_that_wrote_the_value() -> None:
    policy = "gates:\n  ci:\n    timeout: 1h\n    recheck: nope\n"
    text = SMALL + "extends: p.yml\ngates:\n  ci:\n    timeout: soon\n"
    problems = _errors(text, {"p.yml": policy})
    where = {(p.file, p.line) for p in problems}
    assert where == {("cfg.yml", 7), ("p.yml", 4)}


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("https://example.com/p.yml", "URL"),
        ("/etc/p.yml", "absolute"),
        ("../other/p.yml", ".."),
        ("missing.yml", "not found"),
        ("builtin:nope", "not found"),
        ("builtin:../x", "not a shipped policy"),
    ],
)
def test_bad_extends(target: str, words: str) -> None:
    [problem] = _errors(SMALL + f"extends: '{target}'\n")
    assert words in problem.message
    assert (problem.file, problem.line, problem.col) == ("cfg.yml", 4, 10)


def test_extends_cycle_and_chain() -> None:
    files = {"a.yml": "extends: b.yml\n", "b.yml": "extends: a.yml\n"}
    [problem] = _errors(SMALL + "extends: a.yml\n", files)
    assert "cycle" in problem.message and problem.file == "b.yml"
    files = {
        "a.yml": "extends: b.yml\nincident: {assignees: [x]}\n",
        "b.yml": "ledger: {branch: l}\n",
    }
    config = load_config_text(SMALL + "extends: a.yml\n", "cfg.yml", read_file=_reader(files))
    assert config.ledger_branch == "l" and config.incident.assignees == ("x",)


def test_self_extends_is_a_cycle_through_repo_path() -> None:
    text = SMALL + "extends: .github/release-train.yml\n"
    files = {".github/release-train.yml": text}
    problems = validate_text(
        text, "x", read_file=_reader(files), repo_path=".github/release-train.yml"
    )
    assert [p.message for p in problems if "cycle" in p.message]


def test_load_config_text_raises_all_errors_sorted() -> None:
    text = (
        "version: 1\n"
        "trains:\n"
        "  - name: daily\n"
        "    cadence: nope\n"
        "    services: [ghost]\n"
        "stages:\n"
        "  - name: s\n"
        "    soak: 1x\n"
        "    manifests: [/abs]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "cfg.yml")
    lines = [p.line for p in info.value.problems]
    assert lines == [4, 5, 8, 9]


def test_semantic_errors_are_all_reported_together() -> None:
    text = (
        "version: 1\n"
        "trains:\n"
        "  - name: daily\n"
        "    cadence: 0 8 * *\n"
        "    services: [ghost]\n"
        "stages:\n"
        "  - name: s\n"
        "    manifests: [/abs, a/../../b]\n"
        "  - name: s\n"
    )
    problems = _errors(text)
    assert [p.line for p in problems] == [4, 5, 8, 8, 9]


def test_bytes_and_str_give_the_same_answer() -> None:
    text = SMALL + "bogus: 1\n"
    assert validate_text(text, "f") == validate_text(text.encode(), "f")


def test_slo_kinds() -> None:
    base = SMALL + "slos:\n  - name: s\n"
    assert _errors(base + "    error_ratio: x\n") == []
    assert _errors(base + "    good: g\n    total: t\n") == []
    assert _errors(base + "    latency: q\n    threshold: 0.2\n") == []
    assert "exactly one" in _errors(base + "    objective: 99\n")[0].message
    assert "no total" in _errors(base + "    good: g\n")[0].message
    assert "no threshold" in _errors(base + "    latency: q\n")[0].message


def test_references_resolve_including_gates() -> None:
    text = SMALL + "gates:\n  error_budget:\n    slos: [gone]\n    per_slo: {other: 0.1}\n"
    problems = _errors(text)
    assert [(p.line, "unknown SLO" in p.message) for p in problems] == [(6, True), (7, True)]


def test_sarif_source_needs_a_path() -> None:
    [problem] = _errors(SMALL + "gates:\n  security:\n    source: sarif\n")
    assert "sarif_path" in problem.message


def test_yearly_freeze_wrapping_the_new_year_is_fine_but_dated_one_must_not() -> None:
    yearly = SMALL + "freezes:\n  - {name: ny, yearly: true, from: '12-20', to: '01-04'}\n"
    assert _errors(yearly) == []
    undated = SMALL + "freezes:\n  - {name: ny, from: '12-20', to: '12-24'}\n"
    assert "needs a year" in _errors(undated)[0].message


def test_freeze_covering_every_departure_is_a_warning() -> None:
    text = (
        SMALL
        + "freezes:\n"
        + "  - name: long\n"
        + "    from: 2026-01-01\n"
        + "    to: 2026-06-30\n"
    )
    now = datetime(2026, 2, 1, tzinfo=UTC)
    problems = validate_text(text, "cfg.yml", now=now)
    assert [(p.severity, p.line) for p in problems] == [("warning", 5)]
    assert "cancels every departure of train 'daily'" in problems[0].message
    # The same file validated in July: the freeze is over, no warning.
    assert validate_text(text, "cfg.yml", now=datetime(2026, 7, 1, tzinfo=UTC)) == []
    # Warnings do not stop loading.
    assert load_config_text(text, "cfg.yml").freezes[0].name == "long"


def test_several_freezes_together_covering_every_departure_warn_at_the_cadence() -> None:
    text = (
        "version: 1\ntrains:\n  - name: weekly\n    cadence: '0 9 * * 2'\n"
        "freezes:\n"
        "  - {name: a, from: 2026-03-01, to: 2026-04-15}\n"
        "  - {name: b, from: 2026-04-16, to: 2026-07-01}\n"
    )
    problems = validate_text(text, "cfg.yml", now=datetime(2026, 3, 1, tzinfo=UTC))
    assert [(p.severity, p.line, p.col) for p in problems] == [("warning", 4, 14)]
    assert "freezes a, b" in problems[0].message


def test_a_gap_between_freezes_means_no_warning() -> None:
    text = (
        "version: 1\ntrains:\n  - name: weekly\n    cadence: '0 9 * * 2'\n"
        "freezes:\n"
        "  - {name: a, from: 2026-03-01, to: 2026-04-10}\n"
        "  - {name: b, from: 2026-04-16, to: 2026-07-01}\n"
    )
    assert validate_text(text, "cfg.yml", now=datetime(2026, 3, 1, tzinfo=UTC)) == []


def test_load_config_errors_for_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_load_config_resolves_extends_inside_repo_root(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "p.yml").write_text("chatops: {release_team: rm}\n")
    cfg = tmp_path / ".github" / "release-train.yml"
    cfg.write_text(SMALL + "extends: shared/p.yml\n")
    assert load_config(cfg, repo_root=tmp_path).chatops.release_team == "rm"
    # A symlink leaving the repository is not followed.
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yml"
    outside.write_text("chatops: {release_team: evil}\n")
    (tmp_path / "shared" / "link.yml").symlink_to(outside)
    cfg.write_text(SMALL + "extends: shared/link.yml\n")
    with pytest.raises(ConfigError, match="not found"):
        load_config(cfg, repo_root=tmp_path)


def test_tag_must_make_an_image_tag_and_branch_a_git_branch() -> None:
    text = SMALL + "    release_branch: 'release {train}'\nservices:\n"
    text += "  - {name: web, image: ghcr.io/a/web, tag: 'v/{sha}'}\n"
    problems = _errors(text)
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (4, "release_branch"),
        (6, "tag"),
    ]


def test_release_branch_without_train_is_a_warning() -> None:
    problems = validate_text(SMALL + "    release_branch: release/next\n", "cfg.yml")
    assert [(p.severity, p.line) for p in problems] == [("warning", 4)]


def test_labels_pick_one_train_per_base() -> None:
    two = SMALL + "  - name: other\n"
    [error] = _errors(two + "    emergency_label: x\n")
    assert "label 'train:next' is also the label of train 'daily'" in error.message
    assert (error.line, error.col) == (4, 5)  # the second train's name: its label is default
    other_base = two + "    base: develop\n"
    assert validate_text(other_base, "cfg.yml") == []
    shared_emergency = two + "    label: other\n"
    [warning] = validate_text(shared_emergency, "cfg.yml")
    assert warning.severity == "warning" and "emergency label" in warning.message
