"""Pure evaluator of Statsig dcs-v2 config specs, matching statsig-python-core's results.

Its modules run as the Python source here, or as the same source compiled by mypyc when a build
of it is at hand (docs/sdk.md §Compiled evaluator): ``LOCKGATE_EVALUATOR`` chooses, read once at
import, since the modules are what it chooses between.
"""

import hashlib
import os
from pathlib import Path
from typing import Final

# The compiled build: `make run` and `make test` write it here (tools/compile_evaluator.py).
COMPILED_DIR: Final = Path(__file__).resolve().parents[4] / "build" / "compiled"
# The modules compiled: every module of the package but this one.
_HERE: Final = Path(__file__).resolve().parent
DIGEST_FILE: Final = "SOURCE_DIGEST"


def source_digest(package: Path = _HERE) -> str:
    """The digest of the modules' source a build must have been compiled from."""
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        if path.name != "__init__.py":
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def compiled_package() -> Path | None:
    """The compiled modules' directory when it was built from the source here, else None."""
    built = COMPILED_DIR / "lockgate" / "cores" / "evaluation"
    try:
        fresh = (built / DIGEST_FILE).read_text().strip() == source_digest()
    except OSError:
        return None
    return built if fresh else None


def _choose() -> str:
    """``compiled`` or ``pure``: what ``LOCKGATE_EVALUATOR`` asks for (``auto``, the default,
    takes the compiled build when a fresh one exists); ``compiled`` without one fails."""
    wanted = os.environ.get("LOCKGATE_EVALUATOR", "auto")
    if wanted not in ("auto", "compiled", "pure"):
        raise ImportError(f"LOCKGATE_EVALUATOR={wanted!r}: expected auto, compiled or pure")
    if wanted == "pure":
        return "pure"
    built = compiled_package()
    if built is None:
        if wanted == "compiled":
            raise ImportError(
                f"LOCKGATE_EVALUATOR=compiled but {COMPILED_DIR} holds no build of this source"
                " (python -m tools.compile_evaluator)"
            )
        return "pure"
    # The compiled modules (and the library they share) are found first; the source stays on
    # the path for this file alone.
    __path__.insert(0, str(built))
    return "compiled"


BUILD: Final = _choose()

from lockgate.cores.evaluation.evaluator import Evaluator  # noqa: E402
from lockgate.cores.evaluation.results import (  # noqa: E402
    ConfigEvaluation,
    GateEvaluation,
    LayerEvaluation,
    Reason,
    SecondaryExposure,
)
from lockgate.cores.evaluation.spec import SpecFormatError, SpecStore  # noqa: E402
from lockgate.cores.evaluation.user import StatsigUser  # noqa: E402

__all__ = [
    "BUILD",
    "ConfigEvaluation",
    "Evaluator",
    "GateEvaluation",
    "LayerEvaluation",
    "Reason",
    "SecondaryExposure",
    "SpecFormatError",
    "SpecStore",
    "StatsigUser",
]
