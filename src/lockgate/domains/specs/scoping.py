"""What a key with target apps downloads: its apps' entities and everything they need.

The compiler renders the project for the key's environments; this narrows that document to the
entities tagged with one of the key's apps, plus the transitive closure of what those entities
evaluate (segments and gates of ``pass_gate``/``fail_gate`` conditions, holdouts, inline
targeting, an experiment's layer, a layer's experiments, experiments of ``experiment_group``
conditions) and the id lists they read (docs/compiling.md §Target apps). The param stores tagged
with one of the apps are kept too, and the specs their parameters read join the closure
(docs/compiling.md §Parameter stores). Specs pulled in as dependencies keep their own
``targetAppIDs``, so a client-initialize filter still hides them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition
from lockgate.documents.values import JsonValue

_SEGMENT_PREFIX = "segment:"
# A store parameter's ``ref_type`` → (payload section, field naming the spec it reads).
_STORE_REFERENCES: dict[str, tuple[str, str]] = {
    "gate": ("gate", "gate_name"),
    "dynamic_config": ("config", "config_name"),
    "experiment": ("config", "experiment_name"),
    "layer": ("layer", "layer_name"),
}


def _conditions(
    spec: Mapping[str, Any], condition_map: Mapping[str, SpecCondition]
) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """(condition id or None when inline, condition) of every rule of ``spec``."""
    for rule in spec.get("rules") or []:
        for condition in rule.get("conditions") or []:
            if isinstance(condition, str):
                found = condition_map.get(condition)
                if found is not None:
                    yield condition, found
            elif isinstance(condition, Mapping):
                yield None, condition


def _gate_names(condition: Mapping[str, Any]) -> list[str]:
    target = condition.get("targetValue")
    if isinstance(target, str):
        return [target]
    if isinstance(target, list):
        return [str(t) for t in target]
    return []


def _store_references(store: JsonValue) -> Iterator[tuple[str, str]]:
    """(section, spec name) of every spec the parameters of a compiled store read."""
    parameters = store.get("parameters") if isinstance(store, Mapping) else None
    for parameter in parameters.values() if isinstance(parameters, Mapping) else ():
        if not isinstance(parameter, Mapping):
            continue
        section, field = _STORE_REFERENCES.get(str(parameter.get("ref_type")), ("", ""))
        name = parameter.get(field)
        if section and isinstance(name, str):
            yield section, name


def _tagged(target_app_ids: object, wanted: set[str]) -> bool:
    return isinstance(target_app_ids, list) and bool(wanted.intersection(map(str, target_app_ids)))


def scope_to_apps(
    document: ConfigSpecsV2, apps: Collection[str], primary: str | None
) -> ConfigSpecsV2:
    """``document`` as a key whose apps are ``apps`` (``primary`` first) should receive it."""
    if not apps:
        return document
    wanted = set(apps)
    gates: Mapping[str, ConfigSpec] = document.get("feature_gates") or {}
    configs: Mapping[str, ConfigSpec] = document.get("dynamic_configs") or {}
    layers: Mapping[str, ConfigSpec] = document.get("layer_configs") or {}
    condition_map: Mapping[str, SpecCondition] = document.get("condition_map") or {}
    experiment_to_layer: Mapping[str, str] = document.get("experiment_to_layer") or {}
    sections: dict[str, Mapping[str, ConfigSpec]] = {
        "gate": gates,
        "config": configs,
        "layer": layers,
    }

    stores: dict[str, JsonValue] = {
        name: store
        for name, store in (document.get("param_stores") or {}).items()
        if isinstance(store, Mapping) and _tagged(store.get("targetAppIDs"), wanted)
    }
    kept: dict[str, set[str]] = {"gate": set(), "config": set(), "layer": set()}
    used_conditions: set[str] = set()
    used_lists: set[str] = set()
    todo: list[tuple[str, str]] = [
        (section, name)
        for section, specs in sections.items()
        for name, spec in specs.items()
        if _tagged(spec.get("targetAppIDs"), wanted)
    ]
    for store in stores.values():
        todo += _store_references(store)
    while todo:
        section, name = todo.pop()
        spec = sections[section].get(name)
        if spec is None or name in kept[section]:
            continue
        kept[section].add(name)
        for condition_id, condition in _conditions(spec, condition_map):
            if condition_id is not None:
                used_conditions.add(condition_id)
            kind = condition.get("type")
            if kind in ("pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate"):
                todo += [("gate", gate) for gate in _gate_names(condition)]
            elif kind == "experiment_group" and isinstance(condition.get("field"), str):
                todo.append(("config", condition["field"]))
            elif condition.get("operator") in ("in_segment_list", "not_in_segment_list"):
                used_lists.update(_gate_names(condition))
        for rule in spec.get("rules") or []:
            delegate = rule.get("configDelegate")
            if isinstance(delegate, str):
                todo.append(("config", delegate))
        if section == "config" and name in experiment_to_layer:
            todo.append(("layer", experiment_to_layer[name]))

    scoped = document.copy()
    scoped["feature_gates"] = {n: s for n, s in gates.items() if n in kept["gate"]}
    scoped["dynamic_configs"] = {n: s for n, s in configs.items() if n in kept["config"]}
    scoped["layer_configs"] = {n: s for n, s in layers.items() if n in kept["layer"]}
    scoped["condition_map"] = {c: v for c, v in condition_map.items() if c in used_conditions}
    scoped["experiment_to_layer"] = {
        e: layer for e, layer in experiment_to_layer.items() if e in kept["config"]
    }
    scoped["id_lists"] = {
        n: v for n, v in (document.get("id_lists") or {}).items() if n in used_lists
    }
    scoped["param_stores"] = stores
    if primary is not None:
        scoped["app_id"] = primary
    return scoped
