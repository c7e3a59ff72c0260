"""Shared loaders for the evaluator tests: fixture files and an evaluator on the eval project."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.hashing import id_list_hash
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


_DOCUMENT_DEFAULTS: dict[str, Any] = {
    "has_updates": True,
    "time": 1700000000000,
    "feature_gates": {},
    "dynamic_configs": {},
    "layer_configs": {},
    "condition_map": {},
    "experiment_to_layer": {},
}


def case_evaluator(suite: dict[str, Any]) -> Evaluator:
    """The evaluator a case file's ``spec`` and ``options`` describe (cases/*.json)."""
    options = suite.get("options", {})
    now = options.get("now_ms")
    id_lists = {
        name: {id_list_hash(unit_id) for unit_id in ids}
        for name, ids in options.get("id_lists", {}).items()
    }
    return Evaluator(
        {**_DOCUMENT_DEFAULTS, **suite["spec"]},
        environment=options.get("environment"),
        id_lists=id_lists,
        now_ms=(lambda: int(now)) if now is not None else None,
        app_id=options.get("app_id"),
    )
