"""Parity with statsig-python-core 0.24.2 on Statsig's real "eval project" (dcs-v2).

fixtures/expected_core_eval_proj.json holds core's results for 60 users on every gate (82, incl.
segments and holdouts), config (9), experiment/autotune (56) and layer (12): 9,540 evaluations,
plus full initialize responses (hash ``none`` and ``djb2``) for the first 4 users: 1,168 entries.
Every one must match: value, rule id, id type, group name, secondary exposures, experiment flags.
"""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import ConfigEvaluation, GateEvaluation, LayerEvaluation
from lockgate.cores.evaluation.client_init import client_initialize_response
from tests.evaluation.support import eval_project_evaluator, expected_core, restore_omitted

pytestmark = pytest.mark.database_free

KINDS = ("gates", "configs", "experiments", "layers")
CASES = expected_core()["cases"]
GCIR_CASES = [
    (i, algo) for i, case in enumerate(CASES) if "gcir_none" in case for algo in ("none", "djb2")
]

Result = GateEvaluation | ConfigEvaluation | LayerEvaluation


def _evaluate(kind: str, user: dict[str, Any], name: str) -> Result:
    evaluator = eval_project_evaluator()
    if kind == "gates":
        return evaluator.check_gate(user, name)
    if kind == "layers":
        return evaluator.get_layer(user, name)
    return evaluator.get_config(user, name)


def _observed(result: Result, want: dict[str, Any]) -> dict[str, Any]:
    """Our result in the fixture's vocabulary, limited to the keys the fixture recorded."""
    ours: dict[str, Any] = {
        "value": restore_omitted(result.value, want["value"]),
        "ruleID": result.rule_id,
        "idType": result.id_type,
        "groupName": result.group_name,
        "secondaryExposures": [e.to_wire() for e in result.secondary_exposures],
        "isExperimentActive": getattr(result, "is_experiment_active", None),
        "allocatedExperimentName": getattr(result, "allocated_experiment_name", None),
        "$entity": getattr(result, "entity", None),
    }
    return {key: ours[key] for key in want}


@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda i: f"user{i}")
def test_evaluations__eval_project_user__match_core(index: int) -> None:
    # Given one user of the recorded core run
    case = CASES[index]
    mismatches = []
    # When every entity is evaluated for them
    for kind in KINDS:
        for name, want in case[kind].items():
            got = _observed(_evaluate(kind, case["user"], name), want)
            if got != want:
                mismatches.append((kind, name, got, want))
    # Then every field the fixture recorded agrees with core
    assert mismatches == []


def test_evaluations__eval_project__cover_all_9540_recorded_results() -> None:
    # Guards against the parametrized test silently shrinking if the fixture changes.
    total = sum(len(case[kind]) for case in CASES for kind in KINDS)
    assert (len(CASES), total) == (60, 9540)


@pytest.mark.parametrize(("index", "algorithm"), GCIR_CASES, ids=lambda v: str(v))
def test_client_initialize_response__eval_project_user__matches_core(
    index: int, algorithm: str
) -> None:
    # Given a user for whom core's initialize response was recorded
    case = CASES[index]
    want = case[f"gcir_{algorithm}"]
    # When we build the response with the same name hashing
    got = client_initialize_response(
        eval_project_evaluator(),
        case["user"],
        hash_algorithm="djb2" if algorithm == "djb2" else "none",
    )
    # Then it is identical, entry by entry and at the top level
    assert restore_omitted(got, want) == want


def test_client_initialize_response__eval_project__covers_1168_entries() -> None:
    sections = ("feature_gates", "dynamic_configs", "layer_configs")
    total = sum(len(CASES[i][f"gcir_{a}"][s]) for i, a in GCIR_CASES for s in sections)
    assert total == 1168
