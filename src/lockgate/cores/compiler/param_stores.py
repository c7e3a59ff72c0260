"""Parameter stores into the payload's ``param_stores`` (docs/compiling.md §Parameter stores).

A store compiles to ``{"parameters": {name: parameter}, "targetAppIDs": [...], "version": n}``
keyed by the store's name; each parameter is the stored Console object unchanged, entity names
plain. A parameter only resolves when the entity it reads is in the same payload, so the specs
a kept store references, and what those specs need in turn (nested gates, segments, delegated
experiments, an experiment's layer, the conditions they use), travel with it even when the
key's scope left them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lockgate.cores.compiler.snapshot import KeyScope

# The payload map holding the entity each reference kind reads.
SECTION_OF_REF: Final = {
    "gate": "feature_gates",
    "dynamic_config": "dynamic_configs",
    "experiment": "dynamic_configs",
    "layer": "layer_configs",
}
ENTITY_FIELD: Final = {
    "gate": "gate_name",
    "dynamic_config": "config_name",
    "experiment": "experiment_name",
    "layer": "layer_name",
}
# Condition types whose target names gates (or ``segment:`` gates) the condition evaluates.
GATE_CONDITIONS: Final = frozenset({"pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate"})
SPEC_SECTIONS: Final = ("feature_gates", "dynamic_configs", "layer_configs")


@dataclass
class Pulled:
    """Specs and conditions added to a scoped payload for the stores it keeps."""

    specs: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {section: {} for section in SPEC_SECTIONS}
    )
    conditions: dict[str, Any] = field(default_factory=dict)
    experiment_to_layer: dict[str, str] = field(default_factory=dict)


def visible(store: Mapping[str, Any], scope: KeyScope) -> bool:
    """A key bound to a target app gets the stores tagged with that app."""
    return scope.target_app is None or scope.target_app in (store.get("targetAppIDs") or [])


def store_entry(store: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "parameters": {p["name"]: dict(p) for p in store.get("parameters") or []},
        "targetAppIDs": list(store.get("targetAppIDs") or []),
        "version": store.get("version", 1),
    }


def compile_stores(stores: Iterable[Mapping[str, Any]], scope: KeyScope) -> dict[str, Any]:
    """The ``param_stores`` map of a payload for a key with ``scope``."""
    return {store["name"]: store_entry(store) for store in stores if visible(store, scope)}


def references(entries: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(payload section, spec name) of every entity the compiled stores read."""
    found: list[tuple[str, str]] = []
    for entry in entries.values():
        for parameter in entry["parameters"].values():
            ref_type = parameter.get("ref_type")
            name = parameter.get(ENTITY_FIELD.get(ref_type, ""))
            if ref_type in SECTION_OF_REF and isinstance(name, str):
                found.append((SECTION_OF_REF[ref_type], name))
    return found


def _needs(spec: Mapping[str, Any], conditions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What one spec needs to evaluate: gates its conditions check, experiments it delegates
    to."""
    needed: list[tuple[str, str]] = []
    for rule in spec.get("rules") or []:
        delegate = rule.get("configDelegate")
        if isinstance(delegate, str):
            needed.append(("dynamic_configs", delegate))
        for condition_id in rule.get("conditions") or []:
            condition = conditions.get(condition_id) or {}
            if condition.get("type") not in GATE_CONDITIONS:
                continue
            target = condition.get("targetValue")
            for gate in [target] if isinstance(target, str) else target or []:
                if isinstance(gate, str):
                    needed.append(("feature_gates", gate))
    return needed


def pull_references(
    document: Mapping[str, Any],
    entries: Mapping[str, Any],
    unscoped: Callable[[], Mapping[str, Any]],
) -> Pulled:
    """The specs the kept stores read, and their dependencies, that ``document`` lacks, taken
    from ``unscoped`` (the same project compiled for a key without a target app), which is only
    built when something is missing."""
    pulled = Pulled()
    wanted = [ref for ref in references(entries) if ref[1] not in (document.get(ref[0]) or {})]
    if not wanted:
        return pulled
    full = unscoped()
    full_conditions = full.get("condition_map") or {}
    full_layers = full.get("experiment_to_layer") or {}
    while wanted:
        section, name = wanted.pop()
        spec = (full.get(section) or {}).get(name)
        if spec is None or name in (document.get(section) or {}):
            continue
        if name in pulled.specs[section]:
            continue
        pulled.specs[section][name] = spec
        for rule in spec.get("rules") or []:
            for condition_id in rule.get("conditions") or []:
                if condition_id in full_conditions:
                    pulled.conditions[condition_id] = full_conditions[condition_id]
        wanted += _needs(spec, full_conditions)
        if section == "dynamic_configs" and name in full_layers:
            pulled.experiment_to_layer[name] = full_layers[name]
            wanted.append(("layer_configs", full_layers[name]))
    return pulled
