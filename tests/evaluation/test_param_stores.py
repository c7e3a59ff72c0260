"""Parameter stores in the evaluator: each reference kind resolves through the entity it reads,
the SDKs' fallback rule, and the hashed form in client initialize responses."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.client_init import client_initialize_response
from lockgate.cores.evaluation.param_stores import ParameterEvaluation, value_or_fallback
from lockgate.cores.evaluation.results import Reason
from tests.evaluation.support import load_json

pytestmark = pytest.mark.database_free


def _spec(value: Any, *, passes: bool = True) -> dict[str, Any]:
    return {
        "type": "feature_gate" if isinstance(value, bool) else "dynamic_config",
        "salt": "s",
        "enabled": True,
        "defaultValue": value if not passes else ({} if not isinstance(value, bool) else False),
        "rules": [
            {
                "name": "r",
                "passPercentage": 100 if passes else 0,
                "conditions": ["c"],
                "returnValue": value,
                "id": "rule_r",
                "salt": "s",
                "idType": "userID",
            }
        ],
        "idType": "userID",
        "entity": "feature_gate" if isinstance(value, bool) else "dynamic_config",
    }


PARAMETERS = {
    "stat": {"name": "stat", "ref_type": "static", "param_type": "number", "value": 7},
    "gated": {
        "name": "gated",
        "ref_type": "gate",
        "param_type": "string",
        "gate_name": "on_gate",
        "pass_value": "yes",
        "fail_value": "no",
    },
    "ghost_gate": {
        "name": "ghost_gate",
        "ref_type": "gate",
        "param_type": "string",
        "gate_name": "missing",
        "pass_value": "yes",
        "fail_value": "no",
    },
    "color": {
        "name": "color",
        "ref_type": "dynamic_config",
        "param_type": "string",
        "config_name": "cfg",
        "param_name": "color",
    },
    "exp_color": {
        "name": "exp_color",
        "ref_type": "experiment",
        "param_type": "string",
        "experiment_name": "cfg",
        "param_name": "color",
    },
    "absent": {
        "name": "absent",
        "ref_type": "dynamic_config",
        "param_type": "string",
        "config_name": "cfg",
        "param_name": "nope",
    },
    "size": {
        "name": "size",
        "ref_type": "layer",
        "param_type": "number",
        "layer_name": "lay",
        "param_name": "size",
    },
    "odd": {"name": "odd", "ref_type": "segment", "param_type": "string"},
}
DOCUMENT: dict[str, Any] = {
    "has_updates": True,
    "time": 1,
    "feature_gates": {"on_gate": _spec(True)},
    "dynamic_configs": {"cfg": _spec({"color": "blue"})},
    "layer_configs": {"lay": _spec({"size": 3})},
    "condition_map": {"c": {"type": "public", "idType": "userID"}},
    "experiment_to_layer": {},
    "param_stores": {"store": {"parameters": PARAMETERS, "targetAppIDs": [], "version": 2}},
}


@pytest.mark.parametrize(
    ("parameter", "value", "source"),
    [
        ("stat", 7, None),
        ("gated", "yes", "on_gate"),
        ("ghost_gate", "no", "missing"),
        ("color", "blue", "cfg"),
        ("exp_color", "blue", "cfg"),
        ("absent", None, "cfg"),
        ("size", 3, "lay"),
    ],
)
def test_get_parameter__each_reference_kind__reads_its_entity(
    parameter: str, value: Any, source: str | None
) -> None:
    result = Evaluator(DOCUMENT).get_parameter({"userID": "u"}, "store", parameter)
    assert result.reason is Reason.RECOGNIZED and result.value == value
    assert (result.source.name if result.source else None) == source


@pytest.mark.parametrize(
    ("store", "parameter", "reason"),
    [
        ("nostore", "stat", Reason.UNRECOGNIZED),
        ("store", "nothing", Reason.UNRECOGNIZED),
        ("store", "odd", Reason.UNSUPPORTED),
    ],
)
def test_get_parameter__unknown_store_parameter_or_kind__no_value(
    store: str, parameter: str, reason: Reason
) -> None:
    result = Evaluator(DOCUMENT).get_parameter({"userID": "u"}, store, parameter)
    assert result.reason is reason and result.value is None
    assert value_or_fallback(result, "fb") == "fb"


def _resolved(value: Any, param_type: str) -> ParameterEvaluation:
    return ParameterEvaluation("s", "p", Reason.RECOGNIZED, "static", param_type, value)


@pytest.mark.parametrize(
    ("value", "param_type", "fallback", "expected"),
    [
        (3, "number", 0, 3),
        (3, "number", "0", "0"),  # the fallback's type is not the declared one
        ("3", "number", 0, 0),  # the value's type is not the declared one
        (True, "boolean", False, True),
        (1, "boolean", False, False),
        (True, "number", 0, 0),  # booleans are not numbers
        ([1], "array", [], [1]),
        ({"a": 1}, "array", [], []),
        ({"a": 1}, "object", {}, {"a": 1}),
        ("x", "string", None, "x"),  # no fallback, no type check
    ],
)
def test_value_or_fallback__type_rules(
    value: Any, param_type: str, fallback: Any, expected: Any
) -> None:
    assert value_or_fallback(_resolved(value, param_type), fallback) == expected


def test_client_initialize__param_stores__hashed_names_as_statsig_serves_them() -> None:
    # Given Statsig's demo project payload and the initialize response its server gave
    dcs = load_json("demo_proj_dcs.json")
    statsig_initialize = load_json("initialize.json")
    # When Lockgate renders the stores for a user with djb2 names
    response = client_initialize_response(Evaluator(dcs), {"userID": "a-user"})
    # Then they are Statsig's: store and entity names hashed, the rest plain. (The two files
    # were captured at different versions of the store: compare the parameters both hold.)
    ours, theirs = response["param_stores"], statsig_initialize["param_stores"]
    assert set(ours) == set(theirs) == {"2146298833"}
    shared = set(ours["2146298833"]) & set(theirs["2146298833"])
    assert len(shared) == 6
    for name in shared:
        assert ours["2146298833"][name] == theirs["2146298833"][name]


def test_client_initialize__param_stores__none_hash_keeps_names() -> None:
    response = client_initialize_response(
        Evaluator(DOCUMENT), {"userID": "u"}, hash_algorithm="none"
    )
    assert response["param_stores"] == {"store": PARAMETERS}
