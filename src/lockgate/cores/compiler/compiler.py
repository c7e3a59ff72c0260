"""Entities to the canonical dcs-v2 document (`compile-mapping.md` §1 to §5, §10).

``compile_v2`` is pure: a snapshot and a key scope in, the document out. It is the only place
that knows how console entities become SDK specs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lockgate.cores.compiler import param_stores
from lockgate.cores.compiler.conditions import (
    SEGMENT_PREFIX,
    ConditionMap,
    dcs_condition,
    environment_condition,
)
from lockgate.cores.compiler.snapshot import KeyScope, ProjectSnapshot, target_apps
from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition, SpecRule
from lockgate.documents.stored import StoredConfig, StoredGate, StoredRule, StoredSegment
from lockgate.documents.values import JsonValue

# Id lists at or above this size are served as files (`compile-mapping.md` §5.2, §12.7).
INLINE_ID_LIST_LIMIT = 1000
_SALT_NAMESPACE = uuid.UUID("6f1c8f55-8a43-4a1e-9d57-2b0c4bbd1c1e")

DIAGNOSTICS = {
    "initialize": 10000,
    "dcs": 1000,
    "download_config_specs": 1000,
    "idlist": 100,
    "get_id_list": 100,
    "get_id_list_sources": 100,
    "log": 100,
    "log_event": 100,
    "api_call": 100,
}
SDK_CONFIGS: dict[str, str | int] = {
    "event_queue_size": 2000,
    "event_content_encoding": "gzip",
    "sampling_mode": "none",
}


def entity_salt(document: Mapping[str, Any], entity_type: str) -> str:
    """The spec salt: stored on the entity, or derived stably from its id."""
    salt = document.get("salt")
    if isinstance(salt, str) and salt:
        return salt
    return str(uuid.uuid5(_SALT_NAMESPACE, f"{entity_type}:{document['id']}"))


class Compiler:
    def __init__(self, snapshot: ProjectSnapshot, scope: KeyScope) -> None:
        self.snapshot = snapshot
        self.scope = scope
        self.conditions = ConditionMap()

    def visible(self, document: Mapping[str, Any]) -> bool:
        """A key bound to a target app sees only entities tagged with that app."""
        if self.scope.target_app is None:
            return True
        return self.scope.target_app in target_apps(document)

    def rule_in_scope(self, rule: StoredRule) -> bool:
        environments = rule.get("environments")
        if environments is None or self.scope.environments is None:
            return True
        return bool(set(environments) & set(self.scope.environments))

    def console_rule(
        self, rule: Mapping[str, Any], id_type: str, return_value: JsonValue
    ) -> SpecRule:
        conditions = []
        if rule.get("environments") is not None:
            conditions.append(
                self.conditions.add(environment_condition(rule["environments"], id_type))
            )
        conditions += [self.conditions.add(dcs_condition(c, id_type)) for c in rule["conditions"]]
        return {
            "name": rule["id"],
            "passPercentage": rule["passPercentage"],
            "conditions": conditions,
            "returnValue": return_value,
            "id": rule["id"],
            "salt": rule.get("salt") or rule["baseID"],
            "idType": id_type,
        }

    def synthetic_rule(
        self,
        rule_id: str,
        conditions: Sequence[SpecCondition],
        id_type: str,
        *,
        pass_percentage: float = 100,
        return_value: JsonValue = True,
    ) -> SpecRule:
        return {
            "name": rule_id,
            "passPercentage": pass_percentage,
            "conditions": [self.conditions.add(c) for c in conditions],
            "returnValue": return_value,
            "id": rule_id,
            "salt": "",
            "idType": id_type,
        }

    # -- gates -------------------------------------------------------------------------------

    def gate_override_rules(self, gate: Mapping[str, Any], id_type: str) -> list[SpecRule]:
        overrides = gate.get("overrides") or {}
        rules: list[SpecRule] = []

        def emit(
            rule_id: str, ids: Sequence[str], custom: bool, env: str | None, passing: bool
        ) -> None:
            if not ids:
                return
            if custom:
                unit: SpecCondition = {
                    "type": "unit_id",
                    "targetValue": list(ids),
                    "operator": "any",
                    "additionalValues": {},
                    "idType": id_type,
                }
            else:
                unit = {
                    "type": "user_field",
                    "targetValue": list(ids),
                    "operator": "any",
                    "field": "userID",
                    "additionalValues": {},
                    "idType": id_type,
                }
            conditions = [unit]
            if env is not None:
                conditions.append(environment_condition([env], id_type))
            rules.append(
                self.synthetic_rule(
                    rule_id, conditions, id_type, pass_percentage=100 if passing else 0
                )
            )

        for passing in (True, False):
            prefix = "pass" if passing else "fail"
            user_ids = overrides.get("passingUserIDs" if passing else "failingUserIDs") or []
            custom_ids = overrides.get("passingCustomIDs" if passing else "failingCustomIDs") or []
            emit(f"{prefix}:all:id_override", user_ids, False, None, passing)
            emit(f"{prefix}:all:id_override", custom_ids, True, None, passing)
        for env_override in overrides.get("environmentOverrides") or []:
            env = env_override.get("environment")
            if env is not None and not self._environment_in_scope(env):
                continue
            custom = env_override.get("unitID") not in (None, "", "userID")
            for passing in (True, False):
                ids = env_override.get("passingIDs" if passing else "failingIDs") or []
                emit(
                    f"{'pass' if passing else 'fail'}:{env or 'all'}:id_override",
                    ids,
                    custom,
                    env,
                    passing,
                )
        return rules

    def _environment_in_scope(self, environment: str) -> bool:
        return self.scope.environments is None or environment in self.scope.environments

    def gate_spec(self, gate: StoredGate) -> ConfigSpec:
        id_type = gate.get("idType") or "userID"
        status: str | None = gate.get("status")
        if status == "Archived":
            status = gate.get("statusBeforeArchive") or gate.get("preArchiveStatus") or status
        enabled = bool(gate.get("isEnabled", True)) and status != "Disabled"
        spec: ConfigSpec = {
            "type": "feature_gate",
            "salt": entity_salt(gate, "gate"),
            "enabled": enabled,
            "defaultValue": False,
            "rules": [],
            "idType": id_type,
            "entity": "feature_gate",
            "version": gate.get("version", 1),
        }
        if status == "Launched" and enabled:
            # Launched: no rule evaluation, true for everyone (holdouts still apply first).
            spec["enabled"] = False
            spec["defaultValue"] = True
            spec["rules"] = holdout_rules(self, "gate", gate["id"], id_type)
        elif enabled:
            spec["rules"] = [
                *self.gate_override_rules(gate, id_type),
                *holdout_rules(self, "gate", gate["id"], id_type),
                *(
                    self.console_rule(rule, id_type, True)
                    for rule in gate.get("rules") or []
                    if self.rule_in_scope(rule)
                ),
            ]
        apps = target_apps(gate)
        if apps:
            spec["targetAppIDs"] = apps
        return spec

    # -- dynamic configs ---------------------------------------------------------------------

    def config_spec(self, config: StoredConfig) -> ConfigSpec:
        id_type = config.get("idType") or "userID"
        enabled = bool(config.get("isEnabled", True)) and config.get("status") != "Disabled"
        spec: ConfigSpec = {
            "type": "dynamic_config",
            "salt": entity_salt(config, "dynamic_config"),
            "enabled": enabled,
            "defaultValue": config.get("defaultValue") or {},
            "rules": [
                self.console_rule(rule, id_type, rule.get("returnValue") or {})
                for rule in config.get("rules") or []
                if enabled and self.rule_in_scope(rule)
            ],
            "idType": id_type,
            "entity": "dynamic_config",
            "version": config.get("version", 1),
        }
        apps = target_apps(config)
        if apps:
            spec["targetAppIDs"] = apps
        return spec

    # -- segments ----------------------------------------------------------------------------

    def segment_spec(self, segment: StoredSegment) -> ConfigSpec:
        id_type = segment.get("idType") or "userID"
        enabled = bool(segment.get("isEnabled", True)) and segment.get("status") != "Archived"
        rules: list[SpecRule] = []
        if enabled and segment.get("type") == "rule_based":
            rules = [
                self.console_rule(rule, id_type, True)
                for rule in segment.get("rules") or []
                if self.rule_in_scope(rule)
            ]
        elif enabled:
            rules = [self.id_list_rule(segment["id"], id_type)]
        return {
            "type": "feature_gate",
            "salt": entity_salt(segment, "segment"),
            "enabled": enabled,
            "defaultValue": False,
            "rules": rules,
            "idType": id_type,
            "entity": "segment",
        }

    def id_list_rule(self, segment_id: str, id_type: str) -> SpecRule:
        info = self.snapshot.id_lists.get(segment_id)
        if info is not None and info.inline_ids is None:
            condition: SpecCondition = {
                "type": "unit_id",
                "targetValue": segment_id,
                "operator": "in_segment_list",
                "additionalValues": {},
                "idType": id_type,
            }
        else:
            condition = {
                "type": "unit_id",
                "targetValue": sorted(info.inline_ids or ()) if info else [],
                "operator": "any",
                "field": id_type,
                "additionalValues": {"custom_id": id_type},
                "idType": id_type,
            }
        return self.synthetic_rule("id_list", [condition], id_type)

    # -- parameter stores --------------------------------------------------------------------

    def param_stores(
        self,
        gates: dict[str, ConfigSpec],
        configs: dict[str, ConfigSpec],
        layers: dict[str, ConfigSpec],
        experiment_to_layer: dict[str, str],
    ) -> dict[str, Any]:
        """The stores the key sees; the specs they read join the payload if its scope left
        them out (``cores/compiler/param_stores.py``)."""
        snapshot, scope = self.snapshot, self.scope
        stores = param_stores.compile_stores(snapshot.param_stores, scope)
        pulled = param_stores.pull_references(
            {"feature_gates": gates, "dynamic_configs": configs, "layer_configs": layers},
            stores,
            lambda: compile_v2(snapshot, KeyScope(environments=scope.environments)),
        )
        gates.update(pulled.specs["feature_gates"])
        configs.update(pulled.specs["dynamic_configs"])
        layers.update(pulled.specs["layer_configs"])
        experiment_to_layer.update(pulled.experiment_to_layer)
        self.conditions.entries.update(pulled.conditions)
        return stores

    # -- the document ------------------------------------------------------------------------

    def document(self) -> ConfigSpecsV2:
        snapshot = self.snapshot
        gates = {g["id"]: self.gate_spec(g) for g in snapshot.gates if self.visible(g)}
        for segment in snapshot.segments:
            gates[f"{SEGMENT_PREFIX}{segment['id']}"] = self.segment_spec(segment)
        configs = {c["id"]: self.config_spec(c) for c in snapshot.configs if self.visible(c)}
        layers: dict[str, ConfigSpec] = {}
        experiment_to_layer: dict[str, str] = {}
        from lockgate.cores.compiler.sections import SECTIONS

        for section in SECTIONS:
            section(self, gates, configs, layers, experiment_to_layer)
        stores = self.param_stores(gates, configs, layers, experiment_to_layer)
        file_lists = {
            name: True for name, info in snapshot.id_lists.items() if info.inline_ids is None
        }
        document: ConfigSpecsV2 = {
            "has_updates": True,
            "time": snapshot.time_ms,
            "company_id": snapshot.company_id,
            "response_format": "dcs-v2",
            "feature_gates": gates,
            "dynamic_configs": configs,
            "layer_configs": layers,
            "experiment_to_layer": experiment_to_layer,
            "condition_map": self.conditions.entries,
            "id_lists": file_lists,
            "param_stores": stores,
            "diagnostics": DIAGNOSTICS,
            "sdk_configs": SDK_CONFIGS,
            "sdk_flags": {},
        }
        if self.scope.target_app is not None:
            document["app_id"] = self.scope.target_app
        if self.scope.environments is not None and len(self.scope.environments) == 1:
            document["default_environment"] = self.scope.environments[0]
        return document


# Entity kinds compiled by their own modules (``sections``): each adds its specs to the gate,
# config and layer maps and to experiment_to_layer.
Section = Callable[
    [
        "Compiler",
        dict[str, ConfigSpec],
        dict[str, ConfigSpec],
        dict[str, ConfigSpec],
        dict[str, str],
    ],
    None,
]


def holdout_rules(compiler: Compiler, kind: str, entity_id: str, id_type: str) -> list[SpecRule]:
    """Holdout-reference rules for a gate, experiment or layer (`compile-mapping.md` §3.3)."""
    from lockgate.cores.compiler.sections import HOLDOUT_HOOKS

    return [rule for hook in HOLDOUT_HOOKS for rule in hook(compiler, kind, entity_id, id_type)]


def compile_v2(snapshot: ProjectSnapshot, scope: KeyScope | None = None) -> ConfigSpecsV2:
    """The project's dcs-v2 document as the key with ``scope`` should see it."""
    return Compiler(snapshot, scope or KeyScope()).document()
