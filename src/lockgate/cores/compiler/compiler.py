"""Entities to the canonical dcs-v2 document
(`docs/compiling.md` §Conventions to §Segments, §Parameter stores, §Payload).

``compile_v2`` is pure: a snapshot and a key scope in, the document out. It is the only place
that knows how console entities become SDK specs.
"""

from __future__ import annotations

from lockgate.cores.compiler import param_stores
from lockgate.cores.compiler.base import Compiler, entity_salt, entity_spec
from lockgate.cores.compiler.conditions import SEGMENT_PREFIX
from lockgate.cores.compiler.holdouts import reference_rules
from lockgate.cores.compiler.sections import SECTIONS
from lockgate.cores.compiler.snapshot import KeyScope, ProjectSnapshot
from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition, SpecRule
from lockgate.documents.stored import StoredConfig, StoredGate, StoredSegment

# Id lists at or above this size are served as files (`docs/compiling.md` §Id lists).
INLINE_ID_LIST_LIMIT = 1000

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


class DocumentCompiler(Compiler):
    """The whole document: gates, dynamic configs and segments here, the other kinds by their
    modules (``sections``)."""

    # -- gates -------------------------------------------------------------------------------

    def gate_spec(self, gate: StoredGate) -> ConfigSpec:
        id_type = gate.get("idType") or "userID"
        status: str | None = gate.get("status")
        if status == "Archived":
            status = gate.get("statusBeforeArchive") or gate.get("preArchiveStatus") or status
        enabled = bool(gate.get("isEnabled", True)) and status != "Disabled"
        default_value = False
        rules: list[SpecRule] = []
        if status == "Launched" and enabled:
            # Launched: no rule evaluation, true for everyone (holdouts still apply first).
            enabled, default_value = False, True
            rules = reference_rules(self, "gate", gate["id"], id_type)
        elif enabled:
            rules = [
                *self.gate_override_rules(gate, id_type),
                *reference_rules(self, "gate", gate["id"], id_type),
                *(
                    self.console_rule(rule, id_type, True)
                    for rule in gate.get("rules") or []
                    if self.rule_in_scope(rule)
                ),
            ]
        return entity_spec(
            gate,
            spec_type="feature_gate",
            entity="feature_gate",
            salt=entity_salt(gate, "gate"),
            enabled=enabled,
            default_value=default_value,
            rules=rules,
            id_type=id_type,
        )

    # -- dynamic configs ---------------------------------------------------------------------

    def config_spec(self, config: StoredConfig) -> ConfigSpec:
        id_type = config.get("idType") or "userID"
        enabled = bool(config.get("isEnabled", True)) and config.get("status") != "Disabled"
        return entity_spec(
            config,
            spec_type="dynamic_config",
            entity="dynamic_config",
            salt=entity_salt(config, "dynamic_config"),
            enabled=enabled,
            default_value=config.get("defaultValue") or {},
            rules=[
                self.console_rule(rule, id_type, rule.get("returnValue") or {})
                for rule in config.get("rules") or []
                if enabled and self.rule_in_scope(rule)
            ],
            id_type=id_type,
        )

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

    # -- the document ------------------------------------------------------------------------

    def document(self) -> ConfigSpecsV2:
        snapshot = self.snapshot
        gates = {g["id"]: self.gate_spec(g) for g in snapshot.gates if self.visible(g)}
        for segment in snapshot.segments:
            gates[f"{SEGMENT_PREFIX}{segment['id']}"] = self.segment_spec(segment)
        configs = {c["id"]: self.config_spec(c) for c in snapshot.configs if self.visible(c)}
        layers: dict[str, ConfigSpec] = {}
        experiment_to_layer: dict[str, str] = {}
        for section in SECTIONS:
            section(self, gates, configs, layers, experiment_to_layer)
        return envelope(
            snapshot,
            self.scope,
            gates,
            configs,
            layers,
            experiment_to_layer,
            self.conditions.entries,
        )


def envelope(
    snapshot: ProjectSnapshot,
    scope: KeyScope,
    gates: dict[str, ConfigSpec],
    configs: dict[str, ConfigSpec],
    layers: dict[str, ConfigSpec],
    experiment_to_layer: dict[str, str],
    condition_map: dict[str, SpecCondition],
) -> ConfigSpecsV2:
    """The document around its specs (docs/compiling.md §Payload): the one place that says
    which fields a payload carries, shared by the full and the incremental compile."""
    file_lists = {name: True for name, info in snapshot.id_lists.items() if info.inline_ids is None}
    document: ConfigSpecsV2 = {
        "has_updates": True,
        "time": snapshot.time_ms,
        "company_id": snapshot.company_id,
        "response_format": "dcs-v2",
        "feature_gates": gates,
        "dynamic_configs": configs,
        "layer_configs": layers,
        "experiment_to_layer": experiment_to_layer,
        "condition_map": condition_map,
        "id_lists": file_lists,
        "param_stores": param_stores.compile_stores(snapshot.param_stores, scope),
        "diagnostics": DIAGNOSTICS,
        "sdk_configs": SDK_CONFIGS,
        "sdk_flags": {},
    }
    if scope.target_app is not None:
        document["app_id"] = scope.target_app
    if scope.environments is not None and len(scope.environments) == 1:
        document["default_environment"] = scope.environments[0]
    return document


def compile_v2(snapshot: ProjectSnapshot, scope: KeyScope | None = None) -> ConfigSpecsV2:
    """The project's dcs-v2 document as the key with ``scope`` should see it."""
    return DocumentCompiler(snapshot, scope or KeyScope()).document()
