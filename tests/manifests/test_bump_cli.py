"""`release-train bump` through `bot.cli.main`, on real files in a temporary directory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

from .support import TRICKY, read

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout   # the checkout service
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/checkout:1.4.1
"""
KUSTOMIZATION = "images:\n- name: ghcr.io/acme/checkout\n  newTag: '1.4.1'\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    deployment = tmp_path / "deployment.yaml"
    kustomization = tmp_path / "kustomization.yaml"
    deployment.write_text(DEPLOYMENT)
    kustomization.write_text(KUSTOMIZATION)
    return deployment, kustomization


def test_writes_files_in_place(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, kustomization = files
    code = main(
        [
            "bump",
            "--image",
            "ghcr.io/acme/checkout",
            "--tag",
            "1.5.0",
            str(deployment),
            str(kustomization),
        ]
    )
    assert code == 0
    assert deployment.read_text() == DEPLOYMENT.replace("1.4.1", "1.5.0")
    assert kustomization.read_text() == KUSTOMIZATION.replace("1.4.1", "1.5.0")
    out = capsys.readouterr().out
    assert "1.4.1 -> ghcr.io/acme/checkout:1.5.0" in out and "1.4.1 -> 1.5.0" in out
    assert not list(deployment.parent.glob(".*"))  # no temporary files left behind


def test_diff_writes_nothing(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    deployment, _ = files
    code = main(
        ["bump", "--image", "ghcr.io/acme/checkout", "--tag", "1.10", "--diff", str(deployment)]
    )
    assert code == 0
    assert deployment.read_text() == DEPLOYMENT
    out = capsys.readouterr().out
    assert "-          image: ghcr.io/acme/checkout:1.4.1\n" in out
    assert "+          image: ghcr.io/acme/checkout:1.10\n" in out
    changed = [line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in "---+++"]
    assert len(changed) == 2  # one line out, one line in


def test_json_lists_the_edits(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, kustomization = files
    code = main(
        [
            "bump",
            "--image",
            "ghcr.io/acme/checkout",
            "--digest",
            "sha256:" + "a" * 64,
            "--json",
            str(kustomization),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["written"] == [str(kustomization)]
    assert [(e["kind"], e["inserted"], e["line"]) for e in report["edits"]] == [
        ("kustomize", True, 4)
    ]
    assert kustomization.read_text().endswith("  digest: sha256:" + "a" * 64 + "\n")


def test_stdin_to_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = read(TRICKY / "crlf-statefulset.yaml")
    monkeypatch.setattr("sys.stdin", io.StringIO(text, newline=""))
    code = main(["bump", "--image", "registry.acme.io:5000/db/postgres", "--tag", "16.3", "-"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == text.replace("postgres:16.2", "postgres:16.3")
    assert "16.2 -> registry.acme.io:5000/db/postgres:16.3" in captured.err


def test_crlf_file_keeps_its_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(read(TRICKY / "crlf-statefulset.yaml").encode())
    assert (
        main(
            [
                "bump",
                "--image",
                "quay.io/prometheuscommunity/postgres-exporter",
                "--tag",
                "v0.16.0",
                str(path),
            ]
        )
        == 0
    )
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == 12
    assert b"postgres-exporter:v0.16.0\r\n" in data


def test_image_in_none_of_the_files(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, _ = files
    assert main(["bump", "--image", "ghcr.io/acme/nothere", "--tag", "1", str(deployment)]) == 1
    assert "occurs in none of the files" in capsys.readouterr().err
    assert deployment.read_text() == DEPLOYMENT


def test_already_current_is_fine(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, _ = files
    assert (
        main(["bump", "--image", "ghcr.io/acme/checkout", "--tag", "1.4.1", str(deployment)]) == 0
    )
    assert "already up to date" in capsys.readouterr().out


def test_a_broken_file_is_reported_and_the_others_are_bumped(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, _ = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  containers: [\n    {image: ghcr.io/acme/checkout:1\n")
    argv = ["bump", "--image", "ghcr.io/acme/checkout", "--tag", "2", str(deployment), str(broken)]
    assert main(argv) == 1
    assert deployment.read_text() == DEPLOYMENT.replace("checkout:1.4.1", "checkout:2")
    assert broken.read_text() == "spec:\n  containers: [\n    {image: ghcr.io/acme/checkout:1\n"
    assert f"{broken}:4:1: YAML does not parse" in capsys.readouterr().err


def test_all_or_nothing_writes_nothing_when_a_file_is_broken(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, _ = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec:\n  containers: [\n    {image: ghcr.io/acme/checkout:1\n")
    argv = ["bump", "--all-or-nothing", "--image", "ghcr.io/acme/checkout", "--tag", "2"]
    assert main([*argv, str(deployment), str(broken)]) == 1
    assert deployment.read_text() == DEPLOYMENT  # nothing written, not even the good file
    err = capsys.readouterr().err
    assert f"{broken}:4:1: YAML does not parse" in err and "nothing written" in err


def test_a_broken_file_that_does_not_name_the_image_is_not_parsed(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment, _ = files
    service = tmp_path / "service.yaml"  # tab indentation: not YAML, and not about the image
    service.write_text("kind: Service\napiVersion: v1\nspec:\n\tports:\n  - port: 80\n")
    argv = ["bump", "--image", "ghcr.io/acme/checkout", "--tag", "2", str(deployment), str(service)]
    assert main(argv) == 0
    assert deployment.read_text() == DEPLOYMENT.replace("checkout:1.4.1", "checkout:2")
    assert "service.yaml" not in capsys.readouterr().err


def test_an_image_in_a_block_scalar_is_a_positioned_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cm.yaml"
    text = "kind: ConfigMap\napiVersion: v1\ndata:\n  values.yaml: |\n    image: a/b:1\n"
    path.write_text(text)
    assert main(["bump", "--image", "a/b", "--tag", "2", str(path)]) == 1
    err = capsys.readouterr().err
    assert f'{path}:5:12: warning: data["values.yaml"]: a/b:1 not edited: inside a block' in err
    assert "occurs in none of the files in a form that can be edited" in err
    assert path.read_text() == text


def test_refused_alias_is_positioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text(read(TRICKY / "refused-alias.yaml"))
    assert main(["bump", "--image", "ghcr.io/acme/pinned", "--tag", "2", str(path)]) == 1
    assert f"{path}:10:14: spec.containers[name=c].image: the value is an alias" in (
        capsys.readouterr().err
    )


def test_yaml_path_option(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text("app:\n  version: 1.0.0\n")
    assert (
        main(
            ["bump", "--image", "x/app", "--tag", "1.1.0", "--yaml-path", "app.version", str(path)]
        )
        == 0
    )
    assert path.read_text() == "app:\n  version: 1.1.0\n"


def test_new_name(files: tuple[Path, Path]) -> None:
    _, kustomization = files
    assert (
        main(
            [
                "bump",
                "--image",
                "ghcr.io/acme/checkout",
                "--tag",
                "2.0.0",
                "--name",
                "registry.acme.io/checkout",
                str(kustomization),
            ]
        )
        == 0
    )
    assert kustomization.read_text() == (
        "images:\n- name: ghcr.io/acme/checkout\n  newTag: '2.0.0'\n"
        "  newName: registry.acme.io/checkout\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["bump", "--image", "a/b", "x.yaml"],
        ["bump", "--image", "a/b", "--tag", "bad tag", "x.yaml"],
        ["bump", "--image", "a/b", "--tag", "1", "-", "-"],
    ],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "release-train: bump:" in capsys.readouterr().err


def test_missing_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bump", "--image", "a/b", "--tag", "1", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_stdin_bytes_round_trip_in_a_real_process() -> None:
    data = read(TRICKY / "crlf-statefulset.yaml").encode()
    argv = [sys.executable, "-m", "bot", "bump", "--image", "registry.acme.io:5000/db/postgres",
            "--tag", "16.3", "-"]  # fmt: skip
    done = subprocess.run(argv, input=data, capture_output=True, check=True)
    assert done.stdout == data.replace(b"postgres:16.2", b"postgres:16.3")
