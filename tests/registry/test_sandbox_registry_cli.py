"""What a user tries: `release-train sandbox` serves a registry too; push an image to it
the way CI would and ask `release-train artifacts` about it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from oci_images import Pusher

from bot.cli import main

SHA = "abcdef0123456789abcdef0123456789abcdef01"


def test_push_to_the_sandbox_registry_and_resolve_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--json", "--data", str(tmp_path / "d")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            lines.append(line)
        info = json.loads("".join(lines))
        host = info["registry"]
        pusher = Pusher(info["base_url"])
        digest = pusher.image("acme/checkout", SHA[:7], revision=SHA)
        pusher.close()
        config = tmp_path / "cfg.yml"
        config.write_text(
            "version: 1\ntrains:\n  - name: daily\nservices:\n"
            f"  - {{name: checkout, image: '{host}/acme/checkout'}}\n"
        )
        code = main(["artifacts", "--config", str(config), "--revision", SHA])
        out = capsys.readouterr().out
    finally:
        proc.terminate()
        proc.wait(10)
    assert code == 0, out
    assert f"checkout: found  {host}/acme/checkout:{SHA[:7]}" in out
    assert f"digest {digest}  revision {SHA}" in out
