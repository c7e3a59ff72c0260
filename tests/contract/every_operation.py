"""The check that every implemented Console operation had a validated 2xx somewhere in one run
of the whole suite. A run in one process checks at its end (tests/conftest.py). `make test` runs
the SQLite suite in two processes: each writes the operations it validated to a file
(``--validated-operations=FILE``), and ``python -m tests.contract.every_operation FILE...``
checks their union."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from lockgate.app import create_app
from lockgate.faces.console.router import served_operations
from lockgate.kit.settings import Settings
from tests.contract.validator import operations, unvalidated


@cache  # building the app's OpenAPI takes seconds
def implemented_operations() -> frozenset[tuple[str, str]]:
    """Spec operations the app serves."""
    served = served_operations(create_app(Settings(database_url="sqlite://")))
    return frozenset((op.method, op.path) for op in operations() if (op.method, op.path) in served)


def missing_operations(validated: Iterable[tuple[str, str]]) -> str | None:
    """What to print when an implemented operation is missing from ``validated``, else None."""
    missing = unvalidated(implemented_operations(), validated)
    if not missing:
        return None
    lines = "\n".join(f"  {method} {path}" for method, path in missing)
    return f"Console operations implemented but never validated by a test:\n{lines}"


def write_validated(path: Path, validated: Iterable[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sorted(validated)))


def read_validated(paths: Iterable[Path]) -> set[tuple[str, str]]:
    """The union of the operations the files name (a missing file fails: its part did not end)."""
    return {
        (method, op_path)
        for path in paths
        for method, op_path in json.loads(path.read_text(encoding="utf-8"))
    }


def main(argv: Sequence[str]) -> int:
    if not argv:
        print("usage: python -m tests.contract.every_operation FILE...", file=sys.stderr)
        return 2
    message = missing_operations(read_validated(Path(arg) for arg in argv))
    if message is not None:
        print(message)
        return 1
    print(f"Every implemented Console operation was validated ({len(argv)} parts of the suite).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
