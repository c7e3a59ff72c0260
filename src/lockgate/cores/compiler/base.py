"""What every entity kind's compiler builds on: the compile state (snapshot, key scope,
condition map), the rule builders, and the spec salt.

The kind modules (``holdouts``, ``experiments``, ``layers``, ``autotunes``) import this module and
never ``compiler.py``, which imports them (``sections``) to put the whole document together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lockgate.cores.compiler.conditions import ConditionMap, dcs_condition, environment_condition
from lockgate.cores.compiler.snapshot import KeyScope, ProjectSnapshot, target_apps
from lockgate.documents.specs import ConfigSpec, SpecCondition, SpecEntity, SpecRule, SpecType
from lockgate.documents.stored import StoredRule
from lockgate.documents.values import JsonValue

_SALT_NAMESPACE = uuid.UUID("6f1c8f55-8a43-4a1e-9d57-2b0c4bbd1c1e")


def entity_salt(document: Mapping[str, Any], entity_type: str) -> str:
    """The spec salt: stored on the entity, or derived stably from its id."""
    salt = document.get("salt")
    if isinstance(salt, str) and salt:
        return salt
    return str(uuid.uuid5(_SALT_NAMESPACE, f"{entity_type}:{document['id']}"))


def entity_spec(
    document: Mapping[str, Any],
    *,
    spec_type: SpecType,
    entity: SpecEntity,
    salt: str,
    enabled: bool,
    default_value: JsonValue,
    rules: list[SpecRule],
    id_type: str,
) -> ConfigSpec:
    """The fields a versioned entity's spec (gate, dynamic config, experiment, layer, autotune)
    carries, in Statsig's key order, then ``targetAppIDs`` when it is tagged with apps."""
    spec: ConfigSpec = {
        "type": spec_type,
        "salt": salt,
        "enabled": enabled,
        "defaultValue": default_value,
        "rules": rules,
        "idType": id_type,
        "entity": entity,
        "version": document.get("version", 1),
    }
    apps = target_apps(document)
    if apps:
        spec["targetAppIDs"] = apps
    return spec


def unit_ids_condition(ids: Sequence[str], id_type: str) -> SpecCondition:
    """Units whose ``id_type`` id is one of ``ids`` (an id override of custom unit ids)."""
    return {
        "type": "unit_id",
        "targetValue": list(ids),
        "operator": "any",
        "additionalValues": {},
        "idType": id_type,
    }


def user_ids_condition(ids: Sequence[str], id_type: str) -> SpecCondition:
    """Users whose ``userID`` is one of ``ids`` (an id override of user ids)."""
    return {
        "type": "user_field",
        "targetValue": list(ids),
        "operator": "any",
        "field": "userID",
        "additionalValues": {},
        "idType": id_type,
    }


class Compiler:
    """One compile of one project for one key scope: what the entity kinds' specs are built with.
    ``compiler.DocumentCompiler`` adds gates, dynamic configs, segments and the document."""

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

    # -- id overrides (gates and holdouts) ------------------------------------------------------

    def gate_override_rules(self, gate: Mapping[str, Any], id_type: str) -> list[SpecRule]:
        overrides = gate.get("overrides") or {}
        rules: list[SpecRule] = []

        def emit(
            rule_id: str, ids: Sequence[str], custom: bool, env: str | None, passing: bool
        ) -> None:
            if not ids:
                return
            unit = unit_ids_condition if custom else user_ids_condition
            conditions = [unit(ids, id_type)]
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
            if not self.environment_in_scope(env):
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

    def environment_in_scope(self, environment: str | None) -> bool:
        """An override for ``environment`` (None: every environment) applies to this key."""
        envs = self.scope.environments
        return environment is None or envs is None or environment in envs


# Entity kinds compiled by their own modules (``sections``): each adds its specs to the gate,
# config and layer maps and to experiment_to_layer.
Section = Callable[
    [
        Compiler,
        dict[str, ConfigSpec],
        dict[str, ConfigSpec],
        dict[str, ConfigSpec],
        dict[str, str],
    ],
    None,
]
