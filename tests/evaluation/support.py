"""Shared loaders for the evaluator tests: fixture files and an evaluator on the eval project."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.id_lists import parse_id_list

FIXTURES = Path(__file__).parent / "fixtures"
CASES = Path(__file__).parent / "cases"
OMITTED_KEY = "$omitted_large_value_sha256"


@cache
def load_json(name: str) -> Any:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def expected_core() -> dict[str, Any]:
    """statsig-python-core 0.24.2 results on eval_proj_dcs.json (see fixtures/README.md)."""
    data: dict[str, Any] = load_json("expected_core_eval_proj.json")
    return data


@cache
def eval_project_evaluator() -> Evaluator:
    """The evaluator configured exactly like the core run that produced the expectations."""
    ids = parse_id_list((FIXTURES / "company_id_list_plus_123.txt").read_text(encoding="utf-8"))
    eval_time_ms = int(expected_core()["eval_time_ms"])
    return Evaluator(
        load_json("eval_proj_dcs.json"),
        id_lists={"company_id_list": ids},
        now_ms=lambda: eval_time_ms,
    )


def restore_omitted(got: Any, want: Any) -> Any:
    """Replace values the fixture stored as a sha256 by that marker when ours hash the same."""
    if isinstance(want, dict) and isinstance(got, dict):
        if OMITTED_KEY in want:
            canonical = json.dumps(got, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            return want if digest == want[OMITTED_KEY] else got
        return {k: restore_omitted(v, want[k]) if k in want else v for k, v in got.items()}
    return got
