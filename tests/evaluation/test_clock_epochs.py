"""Clock epochs: between two of a document's time boundaries, every ``current_time`` condition
gives the same outcome, which is what lets an initialize answer be reused (docs/sdk.md
§Serving speed)."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.evaluator import DAY_MS
from tests.evaluation.support import case_evaluator

pytestmark = pytest.mark.database_free

LAUNCH_MS = 1_700_000_000_123


def _evaluator(operator: str, target: Any) -> Evaluator:
    gate = {
        "type": "feature_gate",
        "salt": "s",
        "enabled": True,
        "defaultValue": False,
        "rules": [
            {
                "name": "timed",
                "passPercentage": 100,
                "conditions": ["c_time"],
                "returnValue": True,
                "id": "timed",
                "salt": "timed",
                "idType": "userID",
            }
        ],
        "idType": "userID",
        "entity": "feature_gate",
    }
    condition = {
        "type": "current_time",
        "idType": "userID",
        "operator": operator,
        "targetValue": target,
    }
    suite = {"spec": {"feature_gates": {"timed": gate}, "condition_map": {"c_time": condition}}}
    return case_evaluator(suite)


def _instants() -> list[int]:
    day = LAUNCH_MS // DAY_MS * DAY_MS
    around = [LAUNCH_MS, day, day + DAY_MS]
    return sorted({at + delta for at in around for delta in (-2, -1, 0, 1, 2)})


@pytest.mark.parametrize("operator", ["before", "after", "on"])
@pytest.mark.parametrize("target", [LAUNCH_MS, LAUNCH_MS // 1000, str(LAUNCH_MS)])
def test_clock_epoch__same_epoch__same_outcome(operator: str, target: Any) -> None:
    # Given a gate passing before, after or on the launch instant
    evaluator = _evaluator(operator, target)
    assert evaluator.reads_clock
    outcomes: dict[int | None, set[bool]] = {}
    # When it is evaluated at instants around every boundary, with its clock stopped there
    for now in _instants():
        epoch = evaluator.clock_epoch(now)
        assert epoch is not None
        value = evaluator.pinned(now).check_gate({"userID": "u"}, "timed").value
        outcomes.setdefault(epoch, set()).add(value)
    # Then each epoch holds one outcome, and the outcome did change somewhere
    assert all(len(values) == 1 for values in outcomes.values())
    assert {value for values in outcomes.values() for value in values} == {True, False}


def test_clock_epoch__unbounded_operator__none() -> None:
    evaluator = _evaluator("gt", LAUNCH_MS)
    assert evaluator.reads_clock
    assert evaluator.clock_epoch(LAUNCH_MS) is None


def test_clock_epoch__no_clock_condition__always_zero() -> None:
    evaluator = case_evaluator({"spec": {"feature_gates": {}, "condition_map": {}}})
    assert not evaluator.reads_clock
    assert evaluator.clock_epoch(0) == evaluator.clock_epoch(LAUNCH_MS) == 0


def test_pinned__stopped_clock__original_unchanged() -> None:
    evaluator = _evaluator("after", LAUNCH_MS)
    assert evaluator.pinned(LAUNCH_MS + 1).check_gate({"userID": "u"}, "timed").value
    assert not evaluator.pinned(LAUNCH_MS).check_gate({"userID": "u"}, "timed").value
    assert evaluator.now_ms() > LAUNCH_MS  # the evaluator's own clock still runs
