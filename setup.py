"""Packaging hook: ship the top-level `schemas/` and `policies/` inside the wheel.

They live at the top of the repository (where editors and reviewers look for them) and are
copied to `bot/_data/` in the built package; `bot.resources` finds either location.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        for name in ("schemas", "policies"):
            src = HERE / name
            if src.is_dir():
                dst = Path(self.build_lib) / "bot" / "_data" / name
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)


setup(cmdclass={"build_py": BuildWithData})
