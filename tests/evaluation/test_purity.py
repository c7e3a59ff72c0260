"""The evaluator stays pure: no web framework, ORM, validation or HTTP library imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lockgate.cores.evaluation

pytestmark = pytest.mark.database_free

FORBIDDEN = {"fastapi", "sqlalchemy", "pydantic", "httpx", "starlette"}
PACKAGE_DIR = Path(lockgate.cores.evaluation.__file__).parent
MODULES = sorted(PACKAGE_DIR.glob("*.py"))


def _imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_evaluation_module__imports__exclude_frameworks(module: Path) -> None:
    assert _imported_roots(module.read_text(encoding="utf-8")) & FORBIDDEN == set()


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_evaluation_module__lockgate_imports__stay_inside_package(module: Path) -> None:
    # The evaluator must not reach into server/storage packages either; the typed documents it
    # reads and writes (plain TypedDicts) are the one exception.
    tree = ast.parse(module.read_text(encoding="utf-8"))
    internal = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lockgate")
    }
    allowed = ("lockgate.cores.evaluation", "lockgate.documents.specs", "lockgate.documents.values")
    assert all(name.startswith(allowed) for name in internal)


def test_evaluation_package__has_modules() -> None:
    assert len(MODULES) >= 5
