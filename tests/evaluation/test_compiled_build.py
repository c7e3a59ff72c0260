"""The evaluator's modules are the ones ``LOCKGATE_EVALUATOR`` asks for: the Python source in the
suite, the mypyc build in `make test`'s compiled run (docs/sdk.md §Compiled evaluator)."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lockgate.cores import evaluation

pytestmark = pytest.mark.database_free

PACKAGE = Path(evaluation.__file__).resolve().parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("module", MODULES)
def test_evaluation_module__imported__from_the_build_asked_for(module: str) -> None:
    # Given the build the environment asks for
    wanted = os.environ["LOCKGATE_EVALUATOR"]
    # When the module is imported
    loaded = importlib.import_module(f"lockgate.cores.evaluation.{module}")
    # Then it is the source or the compiled extension, beside the source or in the build
    assert wanted == evaluation.BUILD
    path = Path(str(loaded.__file__))
    if wanted == "pure":
        assert path == PACKAGE / f"{module}.py"
    else:
        # An extension module from the build (mypyc names its file under the directory of the
        # library the modules share, so only the start and the name are checked)
        assert isinstance(loaded.__loader__, importlib.machinery.ExtensionFileLoader)
        assert path.is_relative_to(evaluation.COMPILED_DIR)
        assert path.name.startswith(f"{module}.")


def test_source_digest__one_module_changed__differs(tmp_path: Path) -> None:
    # Given a copy of the package's source
    copy = tmp_path / "evaluation"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = evaluation.source_digest(copy)
    assert before == evaluation.source_digest(PACKAGE)
    # When one module changes by one character
    user = copy / "user.py"
    user.write_text(user.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    # Then the digest a build is checked against differs: a stale build is not used
    assert evaluation.source_digest(copy) != before


@pytest.mark.parametrize("wanted", ["fast", ""])
def test_evaluator_switch__unknown_value__import_fails(wanted: str) -> None:
    # Given LOCKGATE_EVALUATOR set to a value it does not know
    env = {**os.environ, "LOCKGATE_EVALUATOR": wanted}
    # When a process imports the evaluator
    run = subprocess.run(
        [sys.executable, "-c", "import lockgate.cores.evaluation"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then the import fails, naming the values it takes
    assert run.returncode != 0
    assert "expected auto, compiled or pure" in run.stderr
