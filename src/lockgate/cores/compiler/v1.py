"""The dcs-v1 rendering the legacy Python SDK reads, derived from the v2 document.

Differences (`docs/compiling.md` §The v1 rendering): specs are arrays with ``name`` and
``isDeviceBased``; conditions are inline; ``user_bucket`` set targets are int arrays; a gate rule
that forces ``false`` is ``passPercentage 0`` (the legacy SDK ignores a gate rule's
``returnValue``); and a launched gate, which the legacy SDK would answer ``false`` because it
stops at ``enabled: false``, is rendered enabled with a final everyone-rule whose id is
``disabled``, so both SDKs return ``true`` with the same rule id.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

from lockgate.documents.specs import (
    ConfigSpec,
    ConfigSpecsV1,
    ConfigSpecsV2,
    SpecCondition,
    SpecRule,
)

_LAUNCHED_RULE_ID = "disabled"
_PUBLIC: dict[str, Any] = {
    "type": "public",
    "targetValue": None,
    "operator": None,
    "field": None,
    "additionalValues": {},
}


def _device_based(id_type: str | None) -> bool:
    return (id_type or "").lower() == "stableid"


def _v1_condition(condition: SpecCondition) -> dict[str, Any]:
    rendered: dict[str, Any] = copy.deepcopy(dict(condition))
    target = rendered.get("targetValue")
    if rendered.get("type") == "user_bucket" and isinstance(target, dict):
        rendered["targetValue"] = sorted(int(k) for k in target)
    rendered["isDeviceBased"] = _device_based(rendered.get("idType"))
    return rendered


def _v1_rule(
    rule: SpecRule, conditions: Mapping[str, SpecCondition], is_gate: bool
) -> dict[str, Any]:
    rendered = {k: copy.deepcopy(v) for k, v in rule.items() if k != "conditions"}
    rendered["conditions"] = [_v1_condition(conditions[cid]) for cid in rule["conditions"]]
    rendered["isDeviceBased"] = _device_based(rule.get("idType"))
    if is_gate and rule.get("returnValue") is False:
        rendered["passPercentage"] = 0
        rendered["returnValue"] = True
    return rendered


def _v1_spec(
    name: str, spec: ConfigSpec, conditions: Mapping[str, SpecCondition]
) -> dict[str, Any]:
    is_gate = spec["type"] == "feature_gate"
    rendered: dict[str, Any] = {"name": name}
    for key, value in spec.items():
        if key == "idType":
            rendered["isDeviceBased"] = _device_based(spec["idType"])
        if key != "rules":
            rendered[key] = copy.deepcopy(value)
    rendered["rules"] = [_v1_rule(r, conditions, is_gate) for r in spec["rules"]]
    if is_gate and not spec["enabled"] and spec["defaultValue"] is True:
        rendered["enabled"] = True
        rendered["rules"].append(
            {
                "name": _LAUNCHED_RULE_ID,
                "passPercentage": 100,
                "conditions": [{**_PUBLIC, "idType": spec["idType"], "isDeviceBased": False}],
                "returnValue": True,
                "id": _LAUNCHED_RULE_ID,
                "salt": "",
                "idType": spec["idType"],
                "isDeviceBased": _device_based(spec["idType"]),
            }
        )
    return rendered


def render_v1_spec(
    name: str, spec: ConfigSpec, conditions: Mapping[str, SpecCondition]
) -> dict[str, Any]:
    """One spec of a v1 array: what ``render_v1`` writes for ``name``."""
    return _v1_spec(name, spec, conditions)


def v1_layers(experiment_to_layer: Mapping[str, str]) -> dict[str, list[str]]:
    """The v1 ``layers`` map: each layer's experiments, in ``experiment_to_layer`` order."""
    layers: dict[str, list[str]] = {}
    for experiment, layer in experiment_to_layer.items():
        layers.setdefault(layer, []).append(experiment)
    return layers


# The v2 keys that v1 writes differently; the others are copied in their order, then these.
V1_REPLACED = frozenset(
    {
        "feature_gates",
        "dynamic_configs",
        "layer_configs",
        "condition_map",
        "experiment_to_layer",
        "response_format",
    }
)


def render_v1(v2: ConfigSpecsV2) -> ConfigSpecsV1:
    conditions = v2["condition_map"]
    layers = v1_layers(v2["experiment_to_layer"])
    document: dict[str, Any] = {k: copy.deepcopy(v) for k, v in v2.items() if k not in V1_REPLACED}
    document["response_format"] = "dcs-v1"
    for section in ("feature_gates", "dynamic_configs", "layer_configs"):
        document[section] = [_v1_spec(name, spec, conditions) for name, spec in v2[section].items()]
    document["layers"] = layers
    # The v2 document's other keys, copied as they are: what ConfigSpecsV1 declares.
    return cast(ConfigSpecsV1, document)
