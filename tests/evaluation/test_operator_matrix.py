"""The 931-row operator matrix recorded from statsig-python-core 0.24.2 (its ``core_*`` column).

Each row is one gate with one ``user_field`` condition on custom field ``f``; the legacy SDK
differs on 24 rows, we follow core on all of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.operators import OPERATORS
from tests.evaluation.support import load_json

pytestmark = pytest.mark.database_free

ROWS: list[dict[str, Any]] = load_json("operator_matrix.json")["rows"]


def _gate_document(operator: str, target: Any) -> dict[str, Any]:
    return {
        "has_updates": True,
        "time": 1,
        "dynamic_configs": {},
        "layer_configs": {},
        "experiment_to_layer": {},
        "feature_gates": {
            "g": {
                "type": "feature_gate",
                "salt": "s",
                "enabled": True,
                "defaultValue": False,
                "idType": "userID",
                "entity": "feature_gate",
                "rules": [
                    {
                        "name": "rule0",
                        "id": "rule0",
                        "passPercentage": 100,
                        "returnValue": True,
                        "idType": "userID",
                        "conditions": ["c"],
                    }
                ],
            }
        },
        "condition_map": {
            "c": {
                "type": "user_field",
                "field": "f",
                "operator": operator,
                "targetValue": target,
                "idType": "userID",
                "additionalValues": {},
            }
        },
    }


def _row_id(row: dict[str, Any]) -> str:
    value = "<absent>" if row["user_custom_f_absent"] else repr(row["user_custom_f"])
    return f"{row['operator']}:{row['targetValue']!r}:{value}"


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_operator__matrix_row__matches_core(row: dict[str, Any]) -> None:
    # Given a gate whose only condition applies the row's operator and target to custom.f
    evaluator = Evaluator(_gate_document(row["operator"], row["targetValue"]))
    user: dict[str, Any] = {"userID": "u"}
    if not row["user_custom_f_absent"]:
        user["custom"] = {"f": row["user_custom_f"]}
    # When the gate is checked
    result = evaluator.check_gate(user, "g")
    # Then value and matched/default rule agree with core
    assert result.value is row["core_value"]
    assert (result.rule_id == "default") is (row["core_rule_id"] == "default")


def test_operator_matrix__has_931_rows() -> None:
    assert len(ROWS) == 931


def test_operators__table__has_exactly_cores_vocabulary() -> None:
    # docs/sdk.md §Operators; anything else must fail closed (see cases/unsupported.json).
    assert set(OPERATORS) == {
        *("any", "none", "any_case_sensitive", "none_case_sensitive"),
        *("str_starts_with_any", "str_ends_with_any", "str_contains_any", "str_contains_none"),
        *("str_matches", "gt", "gte", "lt", "lte", "eq", "neq", "before", "after", "on"),
        *("version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq"),
        *("in_segment_list", "not_in_segment_list"),
        *("array_contains_any", "array_contains_none", "array_contains_all"),
        "not_array_contains_all",
    }
