"""`release-train flags`: the flag-debt report over real files, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

NOW = "2026-11-02T12:00:00Z"
LIST = """\
flags:
  - name: old-banner
    owner: web
    expires: 2026-10-01
  - name: soon
    owner: web
    expires: 2026-11-20
  - name: orphan
    expires: 2027-06-01
  - name: fine
    owner: web
    expires: 2027-06-01
"""


def test_debt_is_listed_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flags.yml"
    path.write_text(LIST)
    rc = main(["flags", "--now", NOW, "--within", "30d", "--json", str(path)])
    assert rc == 1
    data = json.loads(capsys.readouterr().out)
    assert data["flags"] == 4
    assert [(d["name"], d["reasons"]) for d in data["debt"]] == [
        ("old-banner", ["expired"]),
        ("soon", ["expiring"]),
        ("orphan", ["no owner"]),
    ]
    assert main(["flags", "--now", NOW, "--within", "7d", str(path)]) == 1
    text = capsys.readouterr().out
    assert "soon" not in text and "old-banner" in text and "2 of 4 flag(s) carry debt" in text


def test_no_debt_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app.flagd.json"
    meta = {"owner": "web", "expires": "2027-01-01"}
    body = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
    path.write_text(json.dumps({"flags": {"f": {**body, "metadata": meta}}}))
    assert main(["flags", "--now", NOW, str(path)]) == 0
    assert "no flag debt (1 flag(s) checked)" in capsys.readouterr().out


def test_files_come_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    config = (root / "examples" / "multi-region.yml").read_text()
    assert "\ngates:\n" in config
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "release-train.yml").write_text(
        config.replace("\ngates:\n", "\ngates:\n  flags:\n    files: ['flags/*.yml']\n", 1)
    )
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "web.yml").write_text(LIST)
    monkeypatch.chdir(tmp_path)
    assert main(["flags", "--now", NOW, "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["debt"]) == 3


def test_a_bad_file_is_reported_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.flagd.json"
    path.write_text('{\n  "flags": {\n    "x": {"state": "MAYBE"}\n  }\n}\n')
    assert main(["flags", "--now", NOW, str(path)]) == 1
    assert f"{path}:3:" in capsys.readouterr().err
    assert main(["flags", "--within", "soon", str(path)]) == 2


def test_validate_reports_flag_files_and_globs_matching_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    config = (root / "examples" / "multi-region.yml").read_text()
    files = "['flags/*.flagd.json', 'nowhere/*.yml']"
    (tmp_path / ".github").mkdir()
    path = tmp_path / ".github" / "release-train.yml"
    path.write_text(config.replace("\ngates:\n", f"\ngates:\n  flags:\n    files: {files}\n", 1))
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "a.flagd.json").write_text(
        '{\n  "flags": {\n    "x": {"state": 1}\n  }\n}\n'
    )
    rc = main(["validate", "--repo-root", str(tmp_path), str(path)])
    out = capsys.readouterr()
    assert rc == 1
    text = out.out + out.err
    assert "flags/a.flagd.json:3:" in text and "flagd schema" in text
    assert "warning: gates.flags.files: 'nowhere/*.yml' matches no file" in text
