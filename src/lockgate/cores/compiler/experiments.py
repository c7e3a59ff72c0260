"""Compiling experiments into the canonical spec (`docs/compiling.md` §Experiments).

Each experiment becomes a ``dynamic_configs`` spec with ``entity: "experiment"``; its rules are,
in order: id overrides, conditional overrides (its own and those set on its layer), the layer's
holdouts, its own holdouts, then the part its status decides (``prestart``; or
``layerAssignment``, targeting and one ``user_bucket`` rule per group; or ``launchedGroup``; or
``abandoned``). Inline targeting rules become a ``segment:inline_targeting:<id>`` gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockgate.cores.compiler.allocation import LAYER_BUCKETS, thresholds
from lockgate.cores.compiler.base import (
    Compiler,
    entity_spec,
    unit_ids_condition,
    user_ids_condition,
)
from lockgate.cores.compiler.conditions import SEGMENT_PREFIX, environment_condition
from lockgate.cores.compiler.holdouts import reference_rules
from lockgate.cores.compiler.parameters import defaults, used_names
from lockgate.documents.specs import ConfigSpec, SpecCondition, SpecRule
from lockgate.documents.stored import StoredExperiment, StoredLayer
from lockgate.documents.values import JsonObject, JsonValue

INLINE_PREFIX = "segment:inline_targeting:"


def public_condition(id_type: str, additional: dict[str, str] | None = None) -> SpecCondition:
    return {
        "type": "public",
        "targetValue": None,
        "operator": None,
        "field": None,
        "additionalValues": additional if additional is not None else {},
        "idType": id_type,
    }


def bucket_condition(target: JsonValue, operator: str, salt: str, id_type: str) -> SpecCondition:
    return {
        "type": "user_bucket",
        "targetValue": target,
        "operator": operator,
        "field": None,
        "additionalValues": {"salt": salt},
        "idType": id_type,
    }


def gate_condition(kind: str, target: str, id_type: str) -> SpecCondition:
    return {
        "type": kind,
        "targetValue": target,
        "operator": None,
        "field": None,
        "additionalValues": {},
        "idType": id_type,
    }


def unit_condition(ids: list[str], unit_type: str, id_type: str) -> SpecCondition:
    """User ids match ``user_field userID``; other unit types a ``unit_id`` without ``field``."""
    if unit_type.lower() == "userid":
        return user_ids_condition(ids, id_type)
    return unit_ids_condition(ids, unit_type)


def with_group_name(rule: SpecRule, group_name: str) -> SpecRule:
    """``groupName`` goes right after ``name`` (Statsig's key order)."""
    return {"name": rule["name"], "groupName": group_name, **rule}


def compiled_status(experiment: Mapping[str, Any]) -> str:
    status = str(experiment["status"])
    if status == "archived":
        return str(experiment.get("statusBeforeArchive") or "setup")
    return status


class ExperimentValues:
    """What each rule of one experiment returns."""

    def __init__(self, experiment: Mapping[str, Any], layer: Mapping[str, Any] | None) -> None:
        self.layered = layer is not None
        self.default: JsonObject = defaults(layer) if layer is not None else {}
        self.groups = {g["id"]: g for g in experiment["groups"]}

    def of_group(self, group_id: str) -> JsonObject:
        group = self.groups[group_id]
        if group.get("disabled"):
            return dict(self.default)
        return {**self.default, **group["parameterValues"]}


def override_rules(
    compiler: Compiler,
    experiment: Mapping[str, Any],
    layer: Mapping[str, Any] | None,
    values: ExperimentValues,
) -> list[SpecRule]:
    id_type = experiment["idType"]
    stored = experiment.get("overrides") or {}
    by_name = {g["name"].lower(): g["id"] for g in experiment["groups"]}
    id_entries = [
        (e["groupID"], e["ids"], e.get("unitType") or id_type, e.get("environment"))
        for e in stored.get("userIDOverrides") or []
    ]
    conditional = [
        (e["groupID"], e["type"], e["id"], e.get("environment"))
        for e in stored.get("overrides") or []
    ]
    if layer is not None:
        layer_overrides = layer.get("overrides") or {}
        for e in layer_overrides.get("idOverrides") or []:
            group_id = by_name.get(e["groupName"].lower())
            if e.get("experimentName") == experiment["id"] and group_id:
                id_entries.append(
                    (group_id, e["ids"], e.get("idType") or id_type, e.get("environment"))
                )
        for e in layer_overrides.get("conditionalOverrides") or []:
            group_id = by_name.get(e["groupName"].lower())
            if e["experimentName"] == experiment["id"] and group_id:
                conditional.append((group_id, e["type"], e["name"], None))
    rules: list[SpecRule] = []
    for group_id, ids, unit_type, env in id_entries:
        if group_id not in values.groups or not compiler.environment_in_scope(env):
            continue
        conditions = [unit_condition(ids, unit_type, id_type)]
        if env:
            conditions.append(environment_condition([env], id_type))
        rule = compiler.synthetic_rule(
            f"{group_id}:{unit_type}:id_override",
            conditions,
            id_type,
            return_value=values.of_group(group_id),
        )
        rules.append(with_group_name(rule, values.groups[group_id]["name"]))
    for group_id, kind, target, env in conditional:
        if group_id not in values.groups or not compiler.environment_in_scope(env):
            continue
        name = target if kind == "gate" else f"{SEGMENT_PREFIX}{target}"
        conditions = [gate_condition("pass_gate", name, id_type)]
        if env:
            conditions.append(environment_condition([env], id_type))
        rule = compiler.synthetic_rule(
            f"{group_id}:override", conditions, id_type, return_value=values.of_group(group_id)
        )
        rules.append(with_group_name(rule, values.groups[group_id]["name"]))
    return rules


def allocation_condition(
    buckets: list[int], salt: str, id_type: str, *, inside: bool
) -> SpecCondition | None:
    """The experiment's ``layerAssignment`` (``inside=False``: users outside its buckets) or
    the layer's ``experimentAssignment`` (``inside=True``) condition
    (docs/compiling.md §Allocation, §Layer rules)."""
    if inside:
        if not buckets:
            return None
        if len(buckets) == LAYER_BUCKETS:
            return public_condition(id_type, {"salt": salt})
        return bucket_condition({str(b): True for b in buckets}, "any", salt, id_type)
    if len(buckets) == LAYER_BUCKETS:
        return bucket_condition({"-1": True}, "any", salt, id_type)
    return bucket_condition({str(b): True for b in buckets}, "none", salt, id_type)


def targeting_rules(
    compiler: Compiler, experiment: Mapping[str, Any], default: JsonObject
) -> list[SpecRule]:
    id_type = experiment["idType"]
    rules = []
    if experiment.get("targetingGateID"):
        condition = gate_condition("fail_gate", experiment["targetingGateID"], id_type)
        rules.append(
            compiler.synthetic_rule("targetingGate", [condition], id_type, return_value=default)
        )
    if experiment.get("inlineTargetingRules"):
        condition = gate_condition("fail_gate", f"{INLINE_PREFIX}{experiment['id']}", id_type)
        rules.append(
            compiler.synthetic_rule(
                "inlineTargetingRules", [condition], id_type, return_value=default
            )
        )
    return rules


def group_rules(
    compiler: Compiler, experiment: Mapping[str, Any], values: ExperimentValues
) -> list[SpecRule]:
    id_type, salt = experiment["idType"], experiment["salt"]
    groups = experiment["groups"]
    rules: list[SpecRule] = []
    for group, threshold in zip(groups, thresholds([g["size"] for g in groups]), strict=True):
        condition = compiler.conditions.add(bucket_condition(threshold, "lt", salt, id_type))
        rules.append(
            {
                "name": group["id"],
                "groupName": group["name"],
                "passPercentage": 100,
                "conditions": [condition],
                "returnValue": values.of_group(group["id"]),
                "id": group["id"],
                "salt": group["id"],
                "idType": id_type,
                "isExperimentGroup": True,
            }
        )
    return rules


def status_rules(
    compiler: Compiler,
    experiment: Mapping[str, Any],
    layer: Mapping[str, Any] | None,
    values: ExperimentValues,
) -> list[SpecRule]:
    id_type = experiment["idType"]
    default = values.default
    status = compiled_status(experiment)
    everyone = [public_condition(id_type)]
    if status == "active":
        layer_salt = layer["salt"] if layer is not None else experiment["layerSalt"]
        assignment = allocation_condition(
            experiment.get("buckets") or [], layer_salt, id_type, inside=False
        )
        assert assignment is not None
        return [
            compiler.synthetic_rule("layerAssignment", [assignment], id_type, return_value=default),
            *targeting_rules(compiler, experiment, default),
            *group_rules(compiler, experiment, values),
        ]
    if status == "decision_made":
        launched = experiment["launchedGroupID"]
        rule = compiler.synthetic_rule(
            "launchedGroup", everyone, id_type, return_value=values.of_group(launched)
        )
        kept = targeting_rules(compiler, experiment, default)
        return [
            *(kept if experiment.get("keepTargeting") else []),
            with_group_name(rule, values.groups[launched]["name"]),
        ]
    if status == "setup":
        return [compiler.synthetic_rule("prestart", everyone, id_type, return_value=default)]
    # abandoned, and the stopped statuses (users get the defaults).
    return [compiler.synthetic_rule("abandoned", everyone, id_type, return_value=default)]


def experiment_spec(
    compiler: Compiler, experiment: StoredExperiment, layer: StoredLayer | None
) -> ConfigSpec:
    id_type = experiment["idType"]
    values = ExperimentValues(experiment, layer)
    holdouts = []
    if layer is not None:
        holdouts += reference_rules(compiler, "layer", layer["id"], id_type)
    holdouts += [
        {**rule, "returnValue": values.default}
        for rule in reference_rules(compiler, "experiment", experiment["id"], id_type)
    ]
    spec = entity_spec(
        experiment,
        spec_type="dynamic_config",
        entity="experiment",
        salt=experiment["salt"],
        enabled=True,
        default_value=values.default,
        rules=[
            *override_rules(compiler, experiment, layer, values),
            *holdouts,
            *status_rules(compiler, experiment, layer, values),
        ],
        id_type=id_type,
    )
    spec["isActive"] = compiled_status(experiment) == "active"
    spec["hasSharedParams"] = layer is not None
    if layer is not None:
        spec["explicitParameters"] = used_names(experiment["groups"])
    return spec


def inline_targeting_spec(compiler: Compiler, experiment: StoredExperiment) -> ConfigSpec:
    id_type = experiment["idType"]
    return {
        "type": "feature_gate",
        "salt": experiment["salt"],
        "enabled": True,
        "defaultValue": False,
        "rules": [
            with_group_name(compiler.console_rule(rule, id_type, True), rule["name"])
            for rule in experiment["inlineTargetingRules"]
            if compiler.rule_in_scope(rule)
        ],
        "idType": id_type,
        "entity": "segment",
    }


def compile_section(
    compiler: Compiler,
    gates: dict[str, ConfigSpec],
    configs: dict[str, ConfigSpec],
    layers: dict[str, ConfigSpec],
    experiment_to_layer: dict[str, str],
) -> None:
    """Add this kind's specs to the payload maps."""
    by_id = {layer["id"]: layer for layer in compiler.snapshot.layers}
    for experiment in compiler.snapshot.experiments:
        if not compiler.visible(experiment):
            continue
        layer = by_id.get(experiment.get("layerID") or "")
        configs[experiment["id"]] = experiment_spec(compiler, experiment, layer)
        if experiment.get("inlineTargetingRules"):
            gates[f"{INLINE_PREFIX}{experiment['id']}"] = inline_targeting_spec(
                compiler, experiment
            )
        if layer is not None:
            experiment_to_layer[experiment["id"]] = layer["id"]
