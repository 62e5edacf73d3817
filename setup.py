"""Packaging hook: ship `schemas/`, `policies/` and the sandbox demo repository in the wheel.

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
        # The sandbox's demo repository, dotfiles (.github/) and source files included.
        demo = HERE / "bot" / "sandbox" / "demo"
        if demo.is_dir():
            dst = Path(self.build_lib) / "bot" / "sandbox" / "demo"
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(demo, dst)


setup(cmdclass={"build_py": BuildWithData})
