"""Runs every JSON case file in ``cases/``: behaviour specified as data.

Each file has a dcs-v2 ``spec`` (required top-level keys may be left out), optional evaluator
``options`` and a list of ``tests``: ``{name, check: gate|config|layer, entity, user, expect}``,
where ``expect`` lists only the result fields that matter for the case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.evaluation.support import CASES, case_evaluator

pytestmark = pytest.mark.database_free


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for case in suite["tests"]:
            params.append(pytest.param(suite, case, id=f"{path.stem}: {case['name']}"))
    return params


def _as_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_as_json(item) for item in value]
    if hasattr(value, "to_wire"):
        return value.to_wire()
    if isinstance(value, str):
        return str(value)  # StrEnum reasons compare as their plain value
    return value


@pytest.mark.parametrize(("suite", "case"), _load_cases())
def test_case_file__case__matches_expectation(suite: dict[str, Any], case: dict[str, Any]) -> None:
    # Given the suite's spec and options
    evaluator = case_evaluator(suite)
    check: dict[str, Callable[[dict[str, Any], str], object]] = {
        "gate": evaluator.check_gate,
        "config": evaluator.get_config,
        "layer": evaluator.get_layer,
    }
    # When the case's entity is evaluated for its user
    result = check[case["check"]](case["user"], case["entity"])
    # Then the listed fields have the expected values
    observed = {key: _as_json(getattr(result, key)) for key in case["expect"]}
    assert observed == case["expect"]


def test_case_files__exist() -> None:
    assert len(list(Path(CASES).glob("*.json"))) >= 5
