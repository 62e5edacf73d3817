"""The shape of `bot/`: small modules, and first-level packages that import each other
in one direction only (issue #17 item 4; the README's architecture map).

Every import counts: module level, inside functions, and under ``TYPE_CHECKING``; a
package cycle hidden behind a lazy import is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
MAX_LINES = 500


def _modules() -> Iterator[Path]:
    yield from sorted(BOT.rglob("*.py"))


def _unit(path: Path) -> str:
    """The first-level package (or top-level module) of `bot/` a file belongs to."""
    return path.relative_to(BOT).parts[0].removesuffix(".py")


def _imported(path: Path, package: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import in the file, wherever it is in it.
    `package`: the file's package as parts (default: where it lies under bot/)."""
    package = package or ["bot", *path.relative_to(BOT).parts[:-1]]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module, node.lineno
            if module == "bot":  # `from bot import cli`: the names are units
                for alias in node.names:
                    yield f"bot.{alias.name}", node.lineno


def unit_graph() -> dict[str, dict[str, str]]:
    """unit -> {imported unit: first "file:line" that imports it}."""
    graph: dict[str, dict[str, str]] = {}
    units = {_unit(path) for path in _modules()}
    for path in _modules():
        source = _unit(path)
        edges = graph.setdefault(source, {})
        for module, line in _imported(path):
            parts = module.split(".")
            if parts[0] != "bot" or len(parts) < 2 or parts[1] == source or parts[1] not in units:
                continue
            edges.setdefault(parts[1], f"{path.relative_to(ROOT)}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_in_bot_is_over_500_lines() -> None:
    long = []
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert long == [], f"split by what each part owns (limit {MAX_LINES}): " + "; ".join(long)


def test_no_import_cycle_between_first_level_packages() -> None:
    graph = unit_graph()
    problems = []
    for component in cycles(graph):
        edges = [
            f"{a} -> {b} ({graph[a][b]})" for a in component for b in component if b in graph[a]
        ]
        problems.append(" , ".join(edges))
    assert problems == [], "package import cycles: " + " | ".join(problems)


# The layers of README.md's architecture map, lowest first: a unit imports only units of
# lower layers. (Acyclic by construction; this also says which way a new edge must go.)
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "__init__ errors resources sandbox",
        "formats",
        "config",
        "core",
        "adapters",
        "shell",
        "insights",
        "transports demo",
        "commands",
        "cli",
        "__main__",
    )
)


def test_packages_import_only_lower_layers() -> None:
    rank = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
    graph = unit_graph()
    unplaced = sorted(set(graph) - set(rank))
    assert unplaced == [], f"place {unplaced} in LAYERS and in README's architecture map"
    upward = [
        f"{a} -> {b} ({where})"
        for a, edges in sorted(graph.items())
        for b, where in sorted(edges.items())
        if rank[b] >= rank[a]
    ]
    assert upward == [], "imports against the layering: " + "; ".join(upward)


# Values with one home: the configuration's path, the promotion check run's name.
DEFINED_ONCE = {
    ".github/release-train.yml": "bot/config/repo.py",
    "release-train/promotion": "bot/core/promotion_check.py",
}


def test_shared_names_are_defined_once() -> None:
    """Each value is a string literal in exactly one module; the rest import it (text that
    merely mentions it, in a docstring or a message, is not a definition)."""
    where: dict[str, list[str]] = {value: [] for value in DEFINED_ONCE}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in where:
                where[str(node.value)].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    for value, home in DEFINED_ONCE.items():
        assert [w.split(":")[0] for w in where[value]] == [home], (value, where[value])


def test_the_core_opens_no_file() -> None:
    """The pure core reads shipped files only through `bot.resources` (issue #17 item 4)."""
    readers = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}
    found = []
    for path in sorted((BOT / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in readers:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}()")
    assert found == [], "file I/O in core: " + "; ".join(found)


def test_the_cycle_finder_sees_a_cycle_and_only_a_cycle() -> None:
    """The check itself: a lazy import that closes a loop is found; a chain is not."""
    assert cycles({"a": {"b": "x"}, "b": {"c": "y"}, "c": {"a": "z"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b": "x"}, "b": {"c": "y"}, "c": {}}) == []


def test_lazy_relative_and_type_checking_imports_are_counted(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.shell import read\n"
        "def f():\n    from bot.core import calendar\n"
        "def g():\n    from ..demo import run\n",
        encoding="utf-8",
    )
    found = set(_imported(module, ["bot", "x"]))
    assert {("bot.shell", 3), ("bot.core", 5), ("bot.demo", 7)} <= found


def test_the_architecture_map_in_the_readme_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    units = {p.name for p in BOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(u for u in units if f"{u}/" not in readme)
    assert missing == [], f"README's architecture map lacks {missing}"
