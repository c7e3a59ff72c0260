"""The compiler maps stored console entities to dcs-v2 exactly as `docs/compiling.md` says."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.conditions import condition_id, dcs_condition
from lockgate.cores.compiler.snapshot import IdListInfo, KeyScope, ProjectSnapshot
from lockgate.cores.compiler.v1 import render_v1
from lockgate.cores.evaluation.evaluator import Evaluator

pytestmark = pytest.mark.database_free


def _condition(
    kind: str, operator: str | None = None, target: Any = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "operator": operator,
        "targetValue": target,
        "field": extra.get("field"),
        "customID": extra.get("customID"),
    }


def _rule(
    rule_id: str, conditions: list[dict[str, Any]], pct: float = 100, **extra: Any
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "baseID": rule_id,
        "name": rule_id,
        "salt": f"salt-{rule_id}",
        "passPercentage": pct,
        "conditions": conditions,
        "environments": extra.get("environments"),
        **({"returnValue": extra["returnValue"]} if "returnValue" in extra else {}),
    }


def _gate(gate_id: str, rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": gate_id,
        "name": gate_id,
        "idType": "userID",
        "status": "In Progress",
        "isEnabled": True,
        "rules": rules,
        "version": 1,
        **extra,
    }


def _snapshot(**kinds: Any) -> ProjectSnapshot:
    return ProjectSnapshot(project_id="p", company_id="c", time_ms=1_700_000_000_000, **kinds)


@pytest.mark.parametrize(
    ("console", "expected"),
    [
        (
            _condition("user_id", "any", [12345, "ab"]),
            {
                "type": "user_field",
                "targetValue": ["12345", "ab"],
                "operator": "any",
                "field": "userID",
                "additionalValues": {},
            },
        ),
        (
            _condition("custom_field", "gt", 8.0, field="level"),
            {
                "type": "user_field",
                "targetValue": 8,
                "operator": "gt",
                "field": "level",
                "additionalValues": {"custom_field": "level"},
            },
        ),
        (
            _condition("unit_id", "any", ["1"], customID="companyID"),
            {
                "type": "unit_id",
                "targetValue": ["1"],
                "operator": "any",
                "field": "companyID",
                "additionalValues": {"custom_id": "companyID"},
                "idType": "companyID",
            },
        ),
        (
            _condition("email", "regex", "@.*mail"),
            {
                "type": "user_field",
                "targetValue": "@.*mail",
                "operator": "str_matches",
                "field": "email",
                "additionalValues": {},
            },
        ),
        (
            _condition("email", "is_null"),
            {
                "type": "user_field",
                "targetValue": None,
                "operator": "eq",
                "field": "email",
                "additionalValues": {},
            },
        ),
        (
            _condition("ip_address", "any", ["1.0.0.0"]),
            {
                "type": "user_field",
                "targetValue": ["1.0.0.0"],
                "operator": "any",
                "field": "ip",
                "additionalValues": {},
            },
        ),
        (
            _condition("country", "any", ["US"]),
            {
                "type": "ip_based",
                "targetValue": ["US"],
                "operator": "any",
                "field": "country",
                "additionalValues": {},
            },
        ),
        (
            _condition("browser_version", "version_gt", "1.2.3"),
            {
                "type": "ua_based",
                "targetValue": "1.2.3",
                "operator": "version_gt",
                "field": "browser_version",
                "additionalValues": {},
            },
        ),
        (
            _condition("environment_tier", None, ["staging"]),
            {
                "type": "environment_field",
                "targetValue": ["staging"],
                "operator": "any",
                "field": "tier",
                "additionalValues": {},
            },
        ),
        (
            _condition("time", "after", 1650927600000),
            {
                "type": "current_time",
                "targetValue": 1650927600000,
                "operator": "after",
                "field": None,
                "additionalValues": {},
            },
        ),
        (
            _condition("passes_segment", None, "best"),
            {
                "type": "pass_gate",
                "targetValue": "segment:best",
                "operator": None,
                "field": None,
                "additionalValues": {},
            },
        ),
        (
            _condition("fails_gate", None, "other"),
            {
                "type": "fail_gate",
                "targetValue": "other",
                "operator": None,
                "field": None,
                "additionalValues": {},
            },
        ),
        (
            _condition("public"),
            {
                "type": "public",
                "targetValue": None,
                "operator": None,
                "field": None,
                "additionalValues": {},
            },
        ),
    ],
)
def test_dcs_condition__console_type__statsig_encoding(
    console: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert dcs_condition(console, "userID") == {"idType": "userID", **expected}


def test_condition_id__everyone__statsig_djb2_id() -> None:
    # docs/compiling.md §Condition ids: Statsig's own id for this condition.
    everyone = dcs_condition(_condition("public"), "userID")
    assert condition_id(everyone) == "1828919350"


def test_compile__rule_with_environments__leading_tier_condition() -> None:
    gate = _gate("g", [_rule("r", [_condition("public")], environments=["staging"])])
    doc = compile_v2(_snapshot(gates=[gate]))
    first = doc["condition_map"][doc["feature_gates"]["g"]["rules"][0]["conditions"][0]]
    assert first["type"] == "environment_field" and first["targetValue"] == ["staging"]


def test_compile__key_scoped_to_environment__drops_other_rules() -> None:
    gate = _gate(
        "g",
        [
            _rule("prod", [_condition("public")], environments=["production"]),
            _rule("everywhere", [_condition("public")]),
        ],
    )
    doc = compile_v2(_snapshot(gates=[gate]), KeyScope(environments=("staging",)))
    assert [r["id"] for r in doc["feature_gates"]["g"]["rules"]] == ["everywhere"]
    assert doc["default_environment"] == "staging"


def test_compile__gate_overrides__pass_then_fail_rules_first() -> None:
    gate = _gate(
        "g",
        [_rule("r", [_condition("public")], pct=0)],
        overrides={"passingUserIDs": ["a"], "failingUserIDs": ["b"], "environmentOverrides": []},
    )
    doc = compile_v2(_snapshot(gates=[gate]))
    rules = doc["feature_gates"]["g"]["rules"]
    assert [(r["id"], r["passPercentage"]) for r in rules] == [
        ("pass:all:id_override", 100),
        ("fail:all:id_override", 0),
        ("r", 0),
    ]
    evaluator = Evaluator(doc)
    assert evaluator.check_gate({"userID": "a"}, "g").value is True
    assert evaluator.check_gate({"userID": "b"}, "g").rule_id == "fail:all:id_override"


@pytest.mark.parametrize(
    ("status", "enabled", "default", "rule_count"),
    [("In Progress", True, False, 1), ("Disabled", False, False, 0), ("Launched", False, True, 0)],
)
def test_compile__gate_status__enabled_default_and_rules(
    status: str, enabled: bool, default: bool, rule_count: int
) -> None:
    gate = _gate("g", [_rule("r", [_condition("public")])], status=status)
    spec = compile_v2(_snapshot(gates=[gate]))["feature_gates"]["g"]
    assert (spec["enabled"], spec["defaultValue"], len(spec["rules"])) == (
        enabled,
        default,
        rule_count,
    )


def test_render_v1__launched_gate__legacy_encoding_returns_true() -> None:
    gate = _gate("g", [], status="Launched")
    v1 = render_v1(compile_v2(_snapshot(gates=[gate])))
    (spec,) = v1["feature_gates"]
    assert spec["name"] == "g" and spec["enabled"] is True
    assert spec["rules"][-1]["id"] == "disabled" and spec["rules"][-1]["passPercentage"] == 100


def test_render_v1__force_false_gate_rule__pass_percentage_zero() -> None:
    v2 = compile_v2(_snapshot(gates=[_gate("g", [])]))
    v2["feature_gates"]["g"]["rules"] = [
        {
            "name": "h",
            "id": "h",
            "passPercentage": 100,
            "returnValue": False,
            "conditions": [],
            "salt": "",
            "idType": "userID",
        }
    ]
    (spec,) = render_v1(v2)["feature_gates"]
    assert spec["rules"][0]["passPercentage"] == 0 and spec["rules"][0]["returnValue"] is True


def test_compile__small_id_list__inlined_sorted() -> None:
    segment = {"id": "vips", "type": "id_list", "idType": "userID", "isEnabled": True}
    info = IdListInfo("vips", 3, 1, 0, inline_ids=("b", "c", "a"))
    doc = compile_v2(_snapshot(segments=[segment], id_lists={"vips": info}))
    rule = doc["feature_gates"]["segment:vips"]["rules"][0]
    condition = doc["condition_map"][rule["conditions"][0]]
    assert rule["id"] == "id_list" and condition["targetValue"] == ["a", "b", "c"]
    assert doc["id_lists"] == {}


def test_compile__large_id_list__served_as_file() -> None:
    segment = {"id": "big", "type": "id_list", "idType": "companyID", "isEnabled": True}
    info = IdListInfo("big", 5000, 2, 0, inline_ids=None)
    doc = compile_v2(_snapshot(segments=[segment], id_lists={"big": info}))
    rule = doc["feature_gates"]["segment:big"]["rules"][0]
    condition = doc["condition_map"][rule["conditions"][0]]
    assert condition["operator"] == "in_segment_list" and condition["targetValue"] == "big"
    assert "field" not in condition and doc["id_lists"] == {"big": True}


def test_compile__disabled_config__serves_default_with_no_rules() -> None:
    config = {
        "id": "c",
        "name": "c",
        "idType": "userID",
        "isEnabled": False,
        "status": "Disabled",
        "defaultValue": {"a": 1},
        "rules": [_rule("r", [_condition("public")], returnValue={"a": 2})],
    }
    spec = compile_v2(_snapshot(configs=[config]))["dynamic_configs"]["c"]
    assert spec["enabled"] is False and spec["rules"] == [] and spec["defaultValue"] == {"a": 1}
    result = Evaluator(compile_v2(_snapshot(configs=[config]))).get_config({"userID": "u"}, "c")
    assert dict(result.value) == {"a": 1} and result.rule_id == "disabled"


def test_compile__target_app_key__sees_only_tagged_entities() -> None:
    tagged = _gate("tagged", [], targetApps=["web"])
    doc = compile_v2(_snapshot(gates=[tagged, _gate("plain", [])]), KeyScope(target_app="web"))
    assert list(doc["feature_gates"]) == ["tagged"] and doc["app_id"] == "web"
