"""The package's import graph: no cycle anywhere (function-level and TYPE_CHECKING imports count), and
sync.py knows the targets only through their target modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support import REPO

PACKAGE = REPO / "rinsync"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every rinsync module ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name.split(".")[0] == "rinsync"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "rinsync":
                continue
            for alias in node.names:  # `from . import exitcodes` names a module
                out.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first == last), or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(edges):
        if state.get(root):
            continue
        stack = [(root, iter(sorted(edges[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    return None


def test_the_walker_sees_function_level_imports_and_finds_a_planted_cycle():
    edges = graph()
    assert "rinsync.litellm.entries" in edges["rinsync.decision"]  # imported inside Decision.entry
    assert "rinsync.exitcodes" in edges["rinsync.sync"]  # `from . import exitcodes`
    planted = {k: set(v) for k, v in edges.items()}
    planted["rinsync.litellm.entries"].add("rinsync.decision")
    assert find_cycle(planted) is not None


def test_the_package_has_no_import_cycle():
    assert find_cycle(graph()) is None, f"import cycle: {' -> '.join(find_cycle(graph()))}"


def test_engine_and_selection_do_not_import_each_other():
    edges = graph()
    assert "rinsync.engine" not in edges["rinsync.selection"]
    assert {"rinsync.decision"} <= edges["rinsync.engine"] & edges["rinsync.selection"]
@pytest.mark.parametrize("module", ["rinsync.sync"])
def test_sync_reaches_targets_only_through_their_target_modules(module):
    reached = {m for m in graph()[module] if m.startswith(("rinsync.litellm", "rinsync.openwebui"))}
    assert reached <= {"rinsync.litellm.target", "rinsync.openwebui.target"}, sorted(reached)
