# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape the code keeps (issue 22): short functions, module_utils by domain, no import cycles inside a domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
# A function longer than this is split along its steps; data (the finding table, the fact mappings) is a
# module-level table, not a function, so it is not counted.
MAX_FUNCTION_LINES = 60
PREFIX = "ansible_collections.ec2meta.imds.plugins."


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


SOURCES = sorted(PLUGINS.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(PLUGINS).as_posix())
def test_no_function_is_longer_than_a_screen(path):
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in _functions(path)
        if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert not long, f"split these along their steps (at most {MAX_FUNCTION_LINES} lines each): {long}"


def _imports(path: Path) -> set[str]:
    """The collection's plugin modules ``path`` imports, at the top or inside a function (a deferred import that
    hides a cycle is still a cycle); absolute imports, the only kind used."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _source(candidate) else node.module)
    return found


def _source(dotted: str) -> Path | None:
    path = PLUGINS / (dotted[len(PREFIX) :].replace(".", "/") + ".py")
    return path if path.is_file() else None


def test_the_plugins_import_no_cycles():
    graph = {}
    for path in SOURCES:
        dotted = PREFIX + path.relative_to(PLUGINS).with_suffix("").as_posix().replace("/", ".")
        graph[dotted] = {name for name in _imports(path) if _source(name)}
    assert len(graph) > 40
    assert any(graph.values())
    cycles = []

    def visit(name: str, trail: tuple) -> None:
        for target in graph.get(name, ()):
            if target in trail:
                cycles.append((*trail[trail.index(target) :], target))
            elif len(trail) < 40:
                visit(target, (*trail, target))

    for start in graph:
        visit(start, (start,))
    assert not cycles, f"import cycles: {sorted(set(cycles))[:5]}"
