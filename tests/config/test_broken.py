"""Every broken config in tests/config/broken/ fails `validate` with its expected messages.

Each `NN-name.yml` has a sidecar `NN-name.expected` holding the exact `FILE:LINE:COL: message`
lines (FILE relative to broken/, or a repository path for problems inside extended policies)
that must appear in the output. Files under broken/policies/ are helpers pulled in by extends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yml"))


def test_there_are_at_least_twenty_broken_configs() -> None:
    assert len(CASES) >= 20
    assert all(case.with_suffix(".expected").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_config_reports_positioned_message(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.chdir(BROKEN)
    code = main(["validate", case.name, "--now", "2026-11-26T00:00:00Z"])
    out = capsys.readouterr().out.splitlines()
    expected = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert code == 1
    assert expected, f"{case.name}: empty .expected file"
    for line in expected:
        assert line in out, f"{case.name}: missing {line!r}; got {out!r}"
    # Every reported line is positioned: FILE:LINE:COL: message.
    for line in out:
        file, line_no, col, _ = line.split(":", 3)
        assert file and int(line_no) >= 1 and int(col) >= 1


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_config_raises_config_error_from_load_config(case: Path) -> None:
    from bot.config.load import load_config
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(case)
    assert info.value.problems
    assert all(p.line >= 1 and p.col >= 1 and p.file for p in info.value.problems)
