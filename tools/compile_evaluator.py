"""Compile the evaluator (``src/lockgate/cores/evaluation``) with mypyc into ``build/compiled``,
which ``lockgate.cores.evaluation`` prefers to its source while the build is fresh
(docs/sdk.md §Compiled evaluator).

    python -m tools.compile_evaluator           # build; exit 1 if it cannot (no C compiler)
    python -m tools.compile_evaluator --check   # exit 0 when the build is fresh, 1 if not

The build goes next to the source tree, not into it: modules compiled beside their source would
shadow it, and the test suite measures the source's coverage.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from lockgate.cores import evaluation

SOURCE = Path(evaluation.__file__).resolve().parent
SRC = SOURCE.parents[2]
# mypyc names the library the compiled modules share after this group, inside the package.
GROUP = "lockgate.cores.evaluation.compiled"


def build(out: Path) -> None:
    """Compile every module of the package but ``__init__.py`` into ``out``, then write the
    digest of the source compiled, last, so that a failed build is never taken for fresh."""
    # Imported here: mypyc and setuptools are needed by this build only.
    from mypyc.build import mypycify
    from setuptools import setup

    modules = sorted(
        str(path.relative_to(SRC)) for path in SOURCE.glob("*.py") if path.name != "__init__.py"
    )
    package = out / "lockgate" / "cores" / "evaluation"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        extensions = mypycify(
            modules, opt_level="3", group_name=GROUP, target_dir=str(Path(tmp) / "c")
        )
        setup(
            name="lockgate-compiled-evaluator",
            ext_modules=extensions,
            script_args=[
                *("--quiet", "build_ext", "--build-lib", str(out)),
                *("--build-temp", str(Path(tmp) / "t"), "--parallel", str(os.cpu_count() or 1)),
            ],
        )
    (package / evaluation.DIGEST_FILE).write_text(evaluation.source_digest() + "\n")


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        return 0 if evaluation.compiled_package() is not None else 1
    # mypyc resolves the modules by their paths under src/, which must be the current directory.
    here = Path.cwd()
    try:
        os.chdir(SRC)
        build(evaluation.COMPILED_DIR)
    except (Exception, SystemExit) as error:
        print(f"compile_evaluator: no compiled evaluator ({error}); the Python one serves")
        return 1
    finally:
        os.chdir(here)
    print(f"compile_evaluator: built {evaluation.COMPILED_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
