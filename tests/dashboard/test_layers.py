"""The dashboard's layers (docs/dashboard.md, Code map): each imports only the layers before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
# Each layer and the dashboard layers it may import (besides eventlake and assets).
MAY_IMPORT = {
    "data": {"data"},
    "shapes": {"data", "shapes"},
    "shell": {"data", "shapes", "shell"},
    "views": {"data", "shapes", "shell", "views"},
}


def dashboard_layers(path: Path) -> set[str]:
    """Returns the dashboard layers a module imports (`dashboard.<layer>...`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "dashboard":
                found.add(parts[1] if len(parts) > 1 else "dashboard")
    return found


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_before_it(layer: str) -> None:
    modules = sorted((DASHBOARD / layer).rglob("*.py"))
    assert modules, f"dashboard/{layer}/ has no modules"
    wrong = {
        str(p.relative_to(DASHBOARD)): sorted(dashboard_layers(p) - MAY_IMPORT[layer])
        for p in modules
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_dashboard_root_holds_only_the_entry_and_the_layers() -> None:
    files = {p.name for p in DASHBOARD.glob("*.py")}
    assert files == {"__init__.py", "app.py"}
    folders = {p.name for p in DASHBOARD.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(MAY_IMPORT)
