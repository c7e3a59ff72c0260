"""Importing a pure core loads no framework, database or server package, directly or through
a library it uses (docs/architecture.md). The import-linter contract reads the import
statements; this runs them, in a fresh interpreter so the suite's own imports do not count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lockgate

pytestmark = pytest.mark.database_free

SOURCE_ROOT = Path(lockgate.__file__).resolve().parent.parent
FORBIDDEN = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "uvicorn",
    "psycopg",
    "lockgate.kit",
    "lockgate.storage",
    "lockgate.domains",
    "lockgate.faces",
)
# Run by a fresh interpreter: import a package and every module in it, then print which of
# the forbidden packages came along.
PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
    importlib.import_module(module.name)
loaded = set(sys.modules)
print(json.dumps([f for f in sys.argv[2:] if any(m == f or m.startswith(f + ".") for m in loaded)]))
"""


def _loaded_forbidden(module: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, module, *FORBIDDEN],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    loaded: list[str] = json.loads(completed.stdout)
    return loaded


@pytest.mark.parametrize(
    "core", ["lockgate.cores.compiler", "lockgate.cores.evaluation", "lockgate.cores.stats"]
)
def test_core_import__fresh_interpreter__loads_no_framework_or_server_package(core: str) -> None:
    assert _loaded_forbidden(core) == []


def test_probe__server_package__reports_what_it_loads() -> None:
    # The probe itself can fail: importing the app brings in the frameworks it must detect.
    loaded = _loaded_forbidden("lockgate.app")
    assert {"fastapi", "starlette", "sqlalchemy", "pydantic"} <= set(loaded)
