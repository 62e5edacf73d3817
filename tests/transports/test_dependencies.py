"""Every third-party distribution `bot/` imports is declared in pyproject.toml's
`dependencies` (not only reached through another package's requirements)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_top_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, over every module in bot/."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
        assert match is not None, requirement
        names.add(_normalise(match.group(0)))
    return names


def test_every_imported_distribution_is_declared() -> None:
    owners = packages_distributions()
    declared = _declared()
    missing = []
    for module, where in sorted(_imported_top_modules().items()):
        if module in sys.stdlib_module_names or module in ("bot", "__future__"):
            continue
        dists = {_normalise(d) for d in owners.get(module, ())}
        assert dists, f"{where} imports {module}, which no installed distribution provides"
        if not dists & declared:
            missing.append(f"{module} ({', '.join(sorted(dists))}) imported by {where}")
    assert missing == [], "undeclared in pyproject.toml dependencies: " + "; ".join(missing)


TOOLS = {"pytest", "pytest-timeout", "ruff", "mypy"}  # run, not imported


def test_every_declared_dev_dependency_is_used() -> None:
    """A dev dependency is a tool, a type stub, or imported by the tests or benchmarks."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    owners = packages_distributions()
    imported: set[str] = set()
    for folder in ("tests", "bench", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            imported |= set(re.findall(r"^\s*(?:from|import) ([A-Za-z_][A-Za-z0-9_]*)", text, re.M))
    used = {_normalise(d) for module in imported for d in owners.get(module, ())}
    unused = []
    for requirement in project["optional-dependencies"]["dev"]:
        match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
        assert match is not None, requirement
        name = _normalise(match.group(0))
        if name not in TOOLS and not name.startswith("types-") and name not in used:
            unused.append(name)
    assert unused == [], f"declared for development but never used: {unused}"
