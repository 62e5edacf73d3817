"""`release-train validate` through `bot.cli.main`, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = "version: 1\ntrains:\n  - name: daily\n"
FROZEN = GOOD + "freezes:\n  - {name: long, from: 2026-01-01, to: 2026-12-31}\n"


@pytest.fixture(autouse=True)
def _not_in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def _write(tmp_path: Path, text: str | bytes, name: str = "cfg.yml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["single-service.yml", "multi-region.yml"])
def test_examples_are_valid(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "examples" / name)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "valid" in captured.err


@pytest.mark.parametrize("name", ["default.yml", "strict.yml"])
def test_policies_are_valid_as_policies(name: str) -> None:
    assert main(["validate", "--policy", str(ROOT / "policies" / name)]) == 0


def test_default_file_is_dot_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    assert ".github/release-train.yml: no such file" in capsys.readouterr().out
    _write(tmp_path, GOOD, ".github/release-train.yml")
    assert main(["validate"]) == 0


def test_errors_print_positioned_lines_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, GOOD + "    cadence: '61 * * * *'\nbogus: 1\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:4:14: cadence '61 * * * *' is not a valid cron expression",
        f"{path}:5:1: unknown key 'bogus'; expected one of: version, extends, trains, "
        "cutover, freezes, services, stages, slos, gates, prometheus, artifacts, release, culprit, "
        "incident, chatops, ledger, accept_from",
    ]


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, FROZEN)
    assert main(["validate", str(path), "--now", "2026-03-01T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert f"{path}:5:12: warning: freeze 'long' cancels every departure" in out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD + "stages:\n  - name: s\n    soak: forever\n")
    assert main(["validate", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["errors"] == 1
    [problem] = report["problems"]
    assert (problem["line"], problem["col"], problem["severity"]) == (6, 11, "error")


def test_github_actions_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = _write(tmp_path, FROZEN + "chatops: {release_team: 5}\n")
    assert main(["validate", str(path), "--now", "2026-03-01"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        f"::error file={path},line=6,col=25::chatops.release_team: expected a string, "
        "got a number (5)" in out
    )


def test_github_actions_warning_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = _write(tmp_path, FROZEN)
    assert main(["validate", str(path), "--now", "2026-03-01"]) == 0
    assert any(
        line.startswith(f"::warning file={path},line=5,col=12::")
        for line in capsys.readouterr().out.splitlines()
    )


def test_directory_and_missing_file_are_plain_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "gone.yml")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_unreadable_bytes_are_a_positioned_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, b"version: 1\n\x00\xff\xfe")
    assert main(["validate", str(path)]) == 1
    assert f"{path}:2:" in capsys.readouterr().out


def test_bad_now_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["validate", str(_write(tmp_path, GOOD)), "--now", "yesterday"]) == 2


def test_bad_repo_root_is_a_usage_error(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["validate", str(path), "--repo-root", str(tmp_path / "nope")]) == 2


def test_no_traceback_from_the_console_script(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xff" * 10)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{path}:1:1: file is not UTF-8" in result.stdout


def test_merged_shows_the_effective_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shared").mkdir()
    _write(tmp_path, "incident: {assignees: [oncall]}\n", "shared/p.yml")
    path = _write(tmp_path, GOOD + "extends: shared/p.yml\n")
    code = main(["validate", "--json", "--merged", "--repo-root", str(tmp_path), str(path)])
    assert code == 0
    merged = json.loads(capsys.readouterr().out)["merged"]
    assert list(merged)[:2] == ["version", "trains"]
    assert merged["incident"] == {"labels": ["incident", "release-train"], "assignees": ["oncall"]}
    assert merged["cutover"] == {"timezone": "UTC"}
    assert "extends" not in merged


def test_file_over_one_mebibyte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD + "#" * (1024 * 1024) + "\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: file is ") and "the limit is 1048576 (1 MiB)" in out


def test_low_min_requests_and_an_uncounted_error_ratio_are_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slos = (
        "slos:\n"
        "  - name: ratio\n"
        "    error_ratio: sum(rate(e[{window}])) / sum(rate(t[{window}]))\n"
        "  - name: counted\n"
        "    good: sum(increase(g[{window}]))\n"
        "    total: sum(increase(t[{window}]))\n"
        "    min_requests: 3\n"
    )
    path = _write(tmp_path, GOOD + slos)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:6:5: warning: SLO 'ratio' has no requests query: the judge cannot tell too "
        "little traffic from a breach; add requests (a count over {window}, e.g. "
        "sum(increase(...)))",
        f"{path}:10:19: warning: SLO 'counted': min_requests 3 is below 70, the fewest requests "
        "at which one bad request cannot breach its fastest burn rule; leave it out to use "
        "that minimum",
    ]
