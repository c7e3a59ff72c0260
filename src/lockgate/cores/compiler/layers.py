"""Compiling explicit layers into ``layer_configs`` (`docs/compiling.md` §Layers).

A layer's rules are, in order: its overrides (delegating to the experiment they name), its
holdouts, then one ``experimentAssignment`` rule per experiment that owns buckets, delegating
to that experiment through ``configDelegate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate.cores.compiler.base import Compiler, entity_spec, unit_ids_condition
from lockgate.cores.compiler.conditions import SEGMENT_PREFIX
from lockgate.cores.compiler.experiments import (
    ExperimentValues,
    allocation_condition,
    gate_condition,
)
from lockgate.cores.compiler.holdouts import reference_rules
from lockgate.cores.compiler.parameters import defaults
from lockgate.documents.specs import ConfigSpec, SpecRule
from lockgate.documents.stored import StoredExperiment, StoredLayer
from lockgate.documents.values import JsonObject


def _delegating(rule: SpecRule, experiment_id: str) -> SpecRule:
    return {**rule, "configDelegate": experiment_id}


def _override_rules(
    compiler: Compiler,
    layer: Mapping[str, Any],
    members: Mapping[str, Mapping[str, Any]],
    default: JsonObject,
) -> list[SpecRule]:
    id_type = layer["idType"]
    overrides = layer.get("overrides") or {}
    rules: list[SpecRule] = []
    for entry in overrides.get("idOverrides") or []:
        experiment = members.get(entry.get("experimentName") or "")
        env = entry.get("environment")
        if experiment is None or not compiler.environment_in_scope(env):
            continue
        group = _group(experiment, entry["groupName"])
        if group is None:
            continue
        condition = unit_ids_condition(entry["ids"], entry.get("idType") or id_type)
        rule_id = f"{experiment['id']} {group['id']}:id_override"
        value = ExperimentValues(experiment, layer).of_group(group["id"])
        rule = compiler.synthetic_rule(rule_id, [condition], id_type, return_value=value)
        rules.append(_delegating(rule, experiment["id"]))
    for entry in overrides.get("conditionalOverrides") or []:
        experiment = members.get(entry["experimentName"])
        group = _group(experiment, entry["groupName"]) if experiment is not None else None
        if experiment is None or group is None:
            continue
        target = entry["name"] if entry["type"] == "gate" else f"{SEGMENT_PREFIX}{entry['name']}"
        rule_id = f"{experiment['id']} {group['id']}:override"
        condition = gate_condition("pass_gate", target, id_type)
        rule = compiler.synthetic_rule(rule_id, [condition], id_type, return_value=default)
        rules.append(_delegating(rule, experiment["id"]))
    return rules


def _group(experiment: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for group in experiment["groups"]:
        if group["name"].lower() == name.lower():
            return group  # type: ignore[no-any-return]
    return None


def layer_spec(
    compiler: Compiler, layer: StoredLayer, members: Sequence[StoredExperiment]
) -> ConfigSpec:
    id_type = layer["idType"]
    default = defaults(layer)
    by_id = {m["id"]: m for m in members}
    assignments = []
    for experiment in members:
        condition = allocation_condition(
            experiment.get("buckets") or [], layer["salt"], id_type, inside=True
        )
        if condition is None:
            continue
        rule = compiler.synthetic_rule(
            "experimentAssignment", [condition], id_type, return_value=default
        )
        assignments.append(_delegating(rule, experiment["id"]))
    return entity_spec(
        layer,
        spec_type="dynamic_config",
        entity="layer",
        salt=layer["salt"],
        enabled=True,
        default_value=default,
        rules=[
            *_override_rules(compiler, layer, by_id, default),
            *reference_rules(compiler, "layer", layer["id"], id_type),
            *assignments,
        ],
        id_type=id_type,
    )


def compile_section(
    compiler: Compiler,
    gates: dict[str, ConfigSpec],
    configs: dict[str, ConfigSpec],
    layers: dict[str, ConfigSpec],
    experiment_to_layer: dict[str, str],
) -> None:
    """Add every visible explicit layer to ``layer_configs``."""
    for layer in compiler.snapshot.layers:
        if not compiler.visible(layer):
            continue
        members = [
            e
            for e in compiler.snapshot.experiments
            if e.get("layerID") == layer["id"] and e["id"] in configs
        ]
        layers[layer["id"]] = layer_spec(compiler, layer, members)
