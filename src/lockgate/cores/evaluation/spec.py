"""The frozen in-memory form of a dcs-v2 ``download_config_specs`` document.

``SpecStore.from_v2`` validates the document the way statsig-python-core does: a missing
top-level field or a condition without ``type``/``idType`` rejects the whole document, while a
spec or rule missing a required field only drops that spec.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from lockgate.documents.specs import ConfigSpecsV2
from lockgate.documents.values import JsonValue

# A document as it arrives (Lockgate's own ``ConfigSpecsV2`` or any SDK payload): ``from_v2``
# is where it is checked.
JsonMap = Mapping[str, Any]

_REQUIRED_TOP_LEVEL: Final = (
    "has_updates",
    "time",
    "feature_gates",
    "dynamic_configs",
    "layer_configs",
    "condition_map",
    "experiment_to_layer",
)
_REQUIRED_SPEC: Final = ("type", "salt", "defaultValue", "enabled", "rules", "idType", "entity")
_REQUIRED_RULE: Final = ("name", "passPercentage", "returnValue", "id", "conditions", "idType")


class SpecFormatError(ValueError):
    """The document is not a dcs-v2 payload statsig-python-core would load."""


class Entity(StrEnum):
    """The ``entity`` of a spec: what kind of console object it was compiled from."""

    FEATURE_GATE = "feature_gate"
    SEGMENT = "segment"
    HOLDOUT = "holdout"
    DYNAMIC_CONFIG = "dynamic_config"
    EXPERIMENT = "experiment"
    AUTOTUNE = "autotune"
    LAYER = "layer"


@dataclass(frozen=True, slots=True)
class Condition:
    """One entry of ``condition_map``."""

    type: str
    id_type: str
    target_value: JsonValue = None
    operator: str | None = None
    field: str | None = None
    additional_values: Mapping[str, JsonValue] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a spec; ``conditions`` holds condition ids."""

    id: str
    name: str
    pass_percentage: float
    return_value: JsonValue
    conditions: tuple[str, ...]
    id_type: str
    salt: str | None = None
    group_name: str | None = None
    config_delegate: str | None = None
    is_experiment_group: bool = False

    @property
    def hash_salt(self) -> str:
        # A present-but-empty salt is used as "" (not replaced by the id), like the SDKs do.
        return self.salt if self.salt is not None else self.id


@dataclass(frozen=True, slots=True)
class Spec:
    """A gate, segment, holdout, config, experiment, autotune or layer."""

    name: str
    type: str
    entity: str
    salt: str
    enabled: bool
    default_value: JsonValue
    rules: tuple[Rule, ...]
    id_type: str
    version: int | None = None
    is_active: bool | None = None
    has_shared_params: bool | None = None
    explicit_parameters: tuple[str, ...] | None = None
    target_app_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SpecStore:
    """Everything the evaluator needs from one dcs-v2 document."""

    time: int
    feature_gates: Mapping[str, Spec]
    dynamic_configs: Mapping[str, Spec]
    layer_configs: Mapping[str, Spec]
    condition_map: Mapping[str, Condition]
    experiment_to_layer: Mapping[str, str]
    app_id: str | None = None
    default_environment: str | None = None
    # Passed through to initialize responses as the document has them, unchecked.
    param_stores: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    session_replay_info: Mapping[str, JsonValue] | None = None
    sdk_keys_to_app_ids: Mapping[str, str] = dataclasses.field(default_factory=dict)
    hashed_sdk_keys_to_app_ids: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_v2(cls, doc: ConfigSpecsV2 | JsonMap) -> SpecStore:
        """Load a dcs-v2 document; raises ``SpecFormatError`` when core would reject it."""
        missing = [key for key in _REQUIRED_TOP_LEVEL if key not in doc]
        if missing:
            raise SpecFormatError(f"missing field `{missing[0]}`")
        time = doc["time"]
        if isinstance(time, bool) or not isinstance(time, int) or time < 0:
            raise SpecFormatError("`time` must be a non-negative integer (ms)")
        replay = doc.get("session_replay_info")
        return cls(
            time=time,
            feature_gates=_parse_specs(doc["feature_gates"], "feature_gates"),
            dynamic_configs=_parse_specs(doc["dynamic_configs"], "dynamic_configs"),
            layer_configs=_parse_specs(doc["layer_configs"], "layer_configs"),
            condition_map=_parse_conditions(doc["condition_map"]),
            experiment_to_layer=_string_map(doc["experiment_to_layer"], "experiment_to_layer"),
            app_id=_optional_str(doc.get("app_id")),
            default_environment=_optional_str(doc.get("default_environment")),
            param_stores=dict(doc.get("param_stores") or {}),
            session_replay_info=dict(replay) if isinstance(replay, Mapping) else None,
            sdk_keys_to_app_ids=_string_map(doc.get("sdk_keys_to_app_ids") or {}, "sdk_keys"),
            hashed_sdk_keys_to_app_ids=_string_map(
                doc.get("hashed_sdk_keys_to_app_ids") or {}, "hashed_sdk_keys"
            ),
        )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _string_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise SpecFormatError(f"`{where}` must be an object")
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _parse_conditions(raw: object) -> dict[str, Condition]:
    if not isinstance(raw, Mapping):
        raise SpecFormatError("`condition_map` must be an object")
    conditions: dict[str, Condition] = {}
    for cid, cond in raw.items():
        if not isinstance(cond, Mapping):
            raise SpecFormatError(f"condition {cid} must be an object")
        for key in ("type", "idType"):
            if not isinstance(cond.get(key), str):
                raise SpecFormatError(f"condition {cid}: missing field `{key}`")
        extra = cond.get("additionalValues")
        conditions[str(cid)] = Condition(
            type=cond["type"],
            id_type=cond["idType"],
            target_value=cond.get("targetValue"),
            operator=_optional_str(cond.get("operator")),
            field=_optional_str(cond.get("field")),
            additional_values=dict(extra) if isinstance(extra, Mapping) else {},
        )
    return conditions


def _parse_specs(raw: object, where: str) -> dict[str, Spec]:
    if not isinstance(raw, Mapping):
        raise SpecFormatError(f"`{where}` must be an object keyed by name")
    specs: dict[str, Spec] = {}
    for name, body in raw.items():
        spec = _parse_spec(str(name), body)
        # Core silently drops a malformed spec and keeps loading the rest.
        if spec is not None:
            specs[spec.name] = spec
    return specs


def _parse_spec(name: str, body: object) -> Spec | None:
    if not isinstance(body, Mapping) or any(key not in body for key in _REQUIRED_SPEC):
        return None
    raw_rules = body["rules"]
    if not isinstance(raw_rules, list):
        return None
    rules = [_parse_rule(rule) for rule in raw_rules]
    if any(rule is None for rule in rules):
        return None
    explicit = body.get("explicitParameters")
    target_apps = body.get("targetAppIDs")
    version = body.get("version")
    return Spec(
        name=name,
        type=str(body["type"]),
        entity=str(body["entity"]),
        salt=str(body["salt"]),
        enabled=body["enabled"] is True,
        default_value=body["defaultValue"],
        rules=tuple(rule for rule in rules if rule is not None),
        id_type=str(body["idType"]),
        version=version if isinstance(version, int) else None,
        is_active=_optional_bool(body.get("isActive")),
        has_shared_params=_optional_bool(body.get("hasSharedParams")),
        explicit_parameters=tuple(map(str, explicit)) if isinstance(explicit, list) else None,
        target_app_ids=tuple(map(str, target_apps)) if isinstance(target_apps, list) else None,
    )


def _optional_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _parse_rule(raw: object) -> Rule | None:
    if not isinstance(raw, Mapping) or any(key not in raw for key in _REQUIRED_RULE):
        return None
    percentage = raw["passPercentage"]
    conditions = raw["conditions"]
    if isinstance(percentage, bool) or not isinstance(percentage, int | float):
        return None
    if not isinstance(conditions, list):
        return None
    return Rule(
        id=str(raw["id"]),
        name=str(raw["name"]),
        pass_percentage=float(percentage),
        return_value=raw["returnValue"],
        conditions=tuple(str(cid) for cid in conditions),
        id_type=str(raw["idType"]),
        salt=_optional_str(raw.get("salt")),
        group_name=_optional_str(raw.get("groupName")),
        config_delegate=_optional_str(raw.get("configDelegate")),
        is_experiment_group=raw.get("isExperimentGroup") is True,
    )
