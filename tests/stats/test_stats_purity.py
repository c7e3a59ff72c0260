"""lockgate.cores.stats stays a pure library: numpy, scipy and the standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import lockgate.cores.stats

pytestmark = pytest.mark.database_free

PACKAGE = Path(lockgate.cores.stats.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = {"fastapi", "sqlalchemy", "pydantic", "httpx"}
ALLOWED_THIRD_PARTY = {"numpy", "scipy"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_stats_module__imports__no_web_or_database_libraries(path: Path) -> None:
    imported = _imported_roots(path)
    tops = {name.split(".")[0] for name in imported}
    assert not tops & FORBIDDEN
    # The one Lockgate module outside the package: the Pulse result documents (TypedDicts).
    foreign = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names | ALLOWED_THIRD_PARTY
        and not name.startswith(("lockgate.cores.stats", "lockgate.documents.pulse"))
    }
    assert not foreign


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_stats_module__shape__docstring_and_under_400_lines(path: Path) -> None:
    source = path.read_text()
    assert ast.get_docstring(ast.parse(source))
    assert len(source.splitlines()) < 400
    # No I/O: nothing in the package opens files or reads the environment.
    assert "open(" not in source
    assert "os.environ" not in source
