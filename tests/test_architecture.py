"""The data flows one way (STYLE): each folder imports only the parts it may depend on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {
    "eventlake",
    "kafka_io",
    "telemetry",
    "operations",
    "ingest",
    "assets",
    "orchestration",
    "dashboard",
    "api",
    "cli",
}
EVERYWHERE = {"telemetry"}  # tracing: any part may record spans
ALLOWED = {
    "eventlake": {"eventlake"},
    "telemetry": {"telemetry"},
    # the Kafka side: client config, true end offsets, the producer library
    "kafka_io": {"eventlake", "kafka_io", *EVERYWHERE},
    "operations": {"eventlake", "operations", *EVERYWHERE},
    "ingest": {"eventlake", "kafka_io", "ingest", *EVERYWHERE},
    "assets": {"eventlake", "assets", *EVERYWHERE},
    "orchestration": {"eventlake", "operations", "assets", "orchestration", *EVERYWHERE},
    # the Pipeline page's lag reads Kafka's ends; its event-to-gold latency is
    # operations/freshness.py
    "dashboard": {"eventlake", "kafka_io", "assets", "operations", "dashboard", *EVERYWHERE},
    # the HTTP API answers with the dashboard's own query functions (dashboard/data), and its
    # capture endpoint produces with the producer library
    "api": {"eventlake", "kafka_io", "assets", "dashboard", "api", *EVERYWHERE},
    # the command line is the composition root: it may use every part
    "cli": OURS,
}
# The one module of the product that talks to Delta Lake directly.
LAKE_IO = ROOT / "eventlake" / "lake.py"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_data_flow(package: str) -> None:
    modules = list((ROOT / package).rglob("*.py"))
    assert modules, f"{package}/ has no modules"
    wrong = {
        str(p.relative_to(ROOT)): sorted(imported_packages(p) - ALLOWED[package]) for p in modules
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_only_the_lake_module_imports_deltalake() -> None:
    modules = [p for pkg in (*OURS, "bench") for p in (ROOT / pkg).rglob("*.py")]
    importers = sorted(
        str(p.relative_to(ROOT))
        for p in modules
        if p != LAKE_IO and "deltalake" in _imported_top_levels(p)
    )
    assert importers == []


def _imported_top_levels(path: Path) -> set[str]:
    """Returns every top-level package a module imports (ours or not)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_packages(path: Path) -> set[str]:
    """Returns the top-level packages of ours that a module imports."""
    return _imported_top_levels(path) & OURS


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
