"""Loading dcs-v2 documents: what rejects the document, what only drops one spec."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator, Reason, SpecFormatError, SpecStore, StatsigUser

pytestmark = pytest.mark.database_free

MINIMAL: dict[str, Any] = {
    "has_updates": True,
    "time": 1700000000000,
    "response_format": "dcs-v2",
    "feature_gates": {
        "test_gate": {
            "type": "feature_gate",
            "salt": "gate-salt-1",
            "enabled": True,
            "defaultValue": False,
            "idType": "userID",
            "entity": "feature_gate",
            "rules": [
                {
                    "name": "rule_email",
                    "id": "rule_email",
                    "salt": "rule-salt-1",
                    "passPercentage": 100,
                    "returnValue": True,
                    "idType": "userID",
                    "groupName": "emails",
                    "conditions": ["1001"],
                }
            ],
        }
    },
    "dynamic_configs": {},
    "layer_configs": {},
    "experiment_to_layer": {},
    "condition_map": {
        "1001": {
            "type": "user_field",
            "targetValue": ["@example.com"],
            "operator": "str_contains_any",
            "field": "email",
            "additionalValues": {},
            "idType": "userID",
        }
    },
}


def test_minimal_document__matching_user__passes() -> None:
    evaluator = Evaluator(MINIMAL)
    assert evaluator.check_gate(StatsigUser(user_id="u1", email="a@example.com"), "test_gate").value
    other = evaluator.check_gate({"userID": "u1", "email": "b@other.com"}, "test_gate")
    assert (other.value, other.rule_id) == (False, "default")


@pytest.mark.parametrize(
    "key",
    [
        "has_updates",
        "time",
        "feature_gates",
        "dynamic_configs",
        "layer_configs",
        "condition_map",
        "experiment_to_layer",
    ],
)
def test_from_v2__missing_top_level_field__rejects_document(key: str) -> None:
    doc = {k: v for k, v in MINIMAL.items() if k != key}
    with pytest.raises(SpecFormatError, match=key):
        SpecStore.from_v2(doc)


@pytest.mark.parametrize("time", [1.7e12, "1700000000000", -1, True])
def test_from_v2__time_not_integer_ms__rejects_document(time: object) -> None:
    with pytest.raises(SpecFormatError):
        SpecStore.from_v2({**MINIMAL, "time": time})


@pytest.mark.parametrize("key", ["type", "idType"])
def test_from_v2__condition_missing_required__rejects_document(key: str) -> None:
    doc = copy.deepcopy(MINIMAL)
    del doc["condition_map"]["1001"][key]
    with pytest.raises(SpecFormatError):
        SpecStore.from_v2(doc)


@pytest.mark.parametrize(
    "key", ["type", "salt", "defaultValue", "enabled", "rules", "idType", "entity"]
)
def test_from_v2__spec_missing_required__drops_only_that_spec(key: str) -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["feature_gates"]["other"] = copy.deepcopy(doc["feature_gates"]["test_gate"])
    del doc["feature_gates"]["test_gate"][key]
    store = SpecStore.from_v2(doc)
    assert set(store.feature_gates) == {"other"}
    assert Evaluator(store).check_gate({"userID": "u"}, "test_gate").reason is Reason.UNRECOGNIZED


@pytest.mark.parametrize(
    "key", ["name", "passPercentage", "returnValue", "id", "conditions", "idType"]
)
def test_from_v2__rule_missing_required__drops_spec(key: str) -> None:
    doc = copy.deepcopy(MINIMAL)
    del doc["feature_gates"]["test_gate"]["rules"][0][key]
    assert "test_gate" not in SpecStore.from_v2(doc).feature_gates


def test_statsig_user__wire_round_trip__keeps_fields_and_strips_private() -> None:
    wire = {
        "userID": "u",
        "email": "e@x.io",
        "userAgent": "ua",
        "appVersion": "1.0",
        "custom": {"level": 3},
        "customIDs": {"stableID": "s"},
        "privateAttributes": {"secret": 1},
        "statsigEnvironment": {"tier": "staging"},
    }
    user = StatsigUser.from_wire(wire)
    assert user.private_attributes == {"secret": 1}
    assert user.to_wire() == {k: v for k, v in wire.items() if k != "privateAttributes"}
    assert user.to_wire(include_private=True) == wire


def test_statsig_user__no_user_id__wire_form_has_empty_user_id() -> None:
    # Core echoes `userID: ""` for users identified only by custom ids.
    assert StatsigUser.from_wire({"customIDs": {"companyID": "1"}}).to_wire() == {
        "userID": "",
        "customIDs": {"companyID": "1"},
    }


def test_get_config__caller_mutates_value__spec_unchanged() -> None:
    # Given a config whose default value is a dict
    doc = copy.deepcopy(MINIMAL)
    doc["dynamic_configs"]["cfg"] = {
        "type": "dynamic_config",
        "salt": "s",
        "enabled": True,
        "defaultValue": {"a": [1]},
        "rules": [],
        "idType": "userID",
        "entity": "dynamic_config",
    }
    evaluator = Evaluator(doc)
    # When a caller mutates the returned value
    first = evaluator.get_config({"userID": "u"}, "cfg").value["a"]
    assert isinstance(first, list)
    first.append(2)
    # Then the next evaluation still sees the spec's value
    assert evaluator.get_config({"userID": "u"}, "cfg").value == {"a": [1]}
