"""A rule's conditions once it has failed: those that may record a secondary exposure or make
the evaluation unsupported are still evaluated (as core does), the others are skipped."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.conditions import records_nothing
from lockgate.cores.evaluation.results import Reason, SecondaryExposure
from lockgate.cores.evaluation.spec import Condition

pytestmark = pytest.mark.database_free

FAILING = {"type": "user_field", "field": "email", "operator": "any", "targetValue": ["x@y"]}


def _document(conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def gate(condition_ids: list[str]) -> dict[str, Any]:
        rules = []
        if condition_ids:
            rules.append(
                {
                    "name": "r",
                    "id": "r",
                    "salt": "r",
                    "passPercentage": 100,
                    "conditions": condition_ids,
                    "returnValue": True,
                    "idType": "userID",
                }
            )
        return {
            "type": "feature_gate",
            "salt": "s",
            "enabled": True,
            "defaultValue": False,
            "rules": rules,
            "idType": "userID",
            "entity": "feature_gate",
        }

    return {
        "has_updates": True,
        "time": 1,
        "feature_gates": {"target": gate([]), "checked": gate(["failing", *conditions])},
        "dynamic_configs": {},
        "layer_configs": {},
        "condition_map": {
            cid: {"idType": "userID", **body}
            for cid, body in {"failing": FAILING, **conditions}.items()
        },
        "experiment_to_layer": {},
    }


@pytest.mark.parametrize("kind", ["pass_gate", "fail_gate"])
def test_rule__failed_before_a_gate_condition__gate_still_exposed(kind: str) -> None:
    # Given a rule whose first condition fails and whose second checks another gate
    evaluator = Evaluator(_document({"nested": {"type": kind, "targetValue": "target"}}))
    # When the rule's gate is checked, alone and within an initialize session
    result = evaluator.check_gate({"userID": "u"}, "checked")
    _, _, session_exposures = evaluator.session({"userID": "u"}).gate("checked")
    # Then the nested gate left its exposure though the rule had already failed
    want = (SecondaryExposure("target", "false", "default"),)
    assert (result.value, result.secondary_exposures) == (False, want)
    assert session_exposures == want


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "user_field", "field": "email", "operator": "no_such_operator"},
        {"type": "no_such_type", "operator": "any", "targetValue": ["a"]},
        {"type": "user_field", "field": "email", "operator": None},
    ],
)
def test_rule__failed_before_an_unsupported_condition__unsupported(
    condition: dict[str, Any],
) -> None:
    # Given a rule whose first condition fails and whose second cannot be evaluated
    evaluator = Evaluator(_document({"unknown": condition}))
    # When its gate is checked
    result = evaluator.check_gate({"userID": "u"}, "checked")
    # Then the evaluation is unsupported, as when every condition is evaluated
    assert result.reason == Reason.UNSUPPORTED


def test_rule__failed_before_a_plain_condition__gate_fails_without_exposure() -> None:
    # Given a rule whose first condition fails and whose second would pass
    public = {"type": "public"}
    evaluator = Evaluator(_document({"public": public}))
    # When its gate is checked
    result = evaluator.check_gate({"userID": "u"}, "checked")
    # Then it fails to its default
    assert (result.value, result.rule_id, result.secondary_exposures) == (False, "default", ())


@pytest.mark.parametrize(
    ("condition_type", "operator", "skippable"),
    [
        ("public", None, True),
        ("user_field", "any", True),
        ("ua_based", "version_gt", True),
        ("current_time", "after", True),
        ("user_bucket", "lt", True),
        ("unit_id", "in_segment_list", True),
        ("pass_gate", None, False),
        ("fail_gate", "any", False),
        ("experiment_group", "any", False),
        ("user_field", "no_such_operator", False),
        ("user_field", None, False),
        ("no_such_type", "any", False),
    ],
)
def test_records_nothing__condition_kinds__only_plain_known_ones(
    condition_type: str, operator: str | None, skippable: bool
) -> None:
    condition = Condition(
        type=condition_type,
        operator=operator,
        field="email",
        target_value=["a"],
        id_type="userID",
        additional_values={},
    )
    assert records_nothing(condition) is skippable
