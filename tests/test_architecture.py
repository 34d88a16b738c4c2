"""The data flows one way (STYLE): each folder imports only the parts it may depend on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"eventlake", "ingest", "assets", "orchestration", "dashboard"}
ALLOWED = {
    "eventlake": {"eventlake"},
    "ingest": {"eventlake", "ingest"},
    "assets": {"eventlake", "assets"},
    "orchestration": {"eventlake", "assets", "orchestration"},
    "dashboard": {"eventlake", "assets", "dashboard"},
}
# The CLI entry is the composition root: it loads each part's `commands` module by name.
EXEMPT = {ROOT / "eventlake" / "cli.py"}


def imported_packages(path: Path) -> set[str]:
    """Returns the top-level packages of ours that a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_data_flow(package: str) -> None:
    modules = [p for p in (ROOT / package).rglob("*.py") if p not in EXEMPT]
    assert modules, f"{package}/ has no modules"
    wrong = {
        str(p.relative_to(ROOT)): sorted(imported_packages(p) - ALLOWED[package]) for p in modules
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_no_table_path_literals_outside_the_catalog() -> None:
    offenders = []
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "catalog.py":
                continue
            tree = ast.parse(path.read_text())
            docstrings = {id(n.body[0].value) for n in ast.walk(tree) if _has_docstring(n)}
            for node in ast.walk(tree):
                if id(node) in docstrings:
                    continue
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and node.value.startswith(("bronze/", "silver/", "gold/")):
                    offenders.append(f"{path.relative_to(ROOT)}: {node.value!r}")
    assert offenders == []


def _has_docstring(node: ast.AST) -> bool:
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    if not isinstance(node, scopes) or not node.body:
        return False
    first = node.body[0]
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
