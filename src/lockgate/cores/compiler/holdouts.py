"""Compiling holdouts into the canonical spec, and the rules that apply them to the gates,
experiments and layers they cover
(`docs/compiling.md` §Holdout references, §Experiment rules, §Layer holdout values, §Holdouts).

A holdout is a ``feature_gates`` spec with ``entity: "holdout"``: its overrides first, then one
population rule passing ``passPercentage`` % of the units (everyone, or those passing
``targetingGateID``). A unit that passes the holdout spec is held out. A disabled holdout
compiles to ``enabled: false, rules: []`` and adds no reference rules anywhere
(docs/compiling.md §Holdout spec).

Which holdouts cover an entity:

* those that list it (``gateIDs`` / ``experimentIDs`` / ``layerIDs``), and those the entity
  lists in its own ``holdoutIDs``;
* every *global* holdout (``isGlobal``) of the entity's unit type, when the entity was created
  at or after the moment the holdout became global (``globalSinceTime``). This is Statsig's
  documented rule ("Statsig automatically enforces it on new gates, experiments, and layers with
  the same unit type"; older specs in the real payload carry no reference), applied when
  compiling instead of being copied into each new entity's ``holdoutIDs``: no other kind's
  service needs to know about holdouts, and switching ``isGlobal`` off detaches the holdout
  everywhere at once. The Console API offers no per-entity opt-out, so none is modelled.

Reference rules: global holdouts first (in holdout creation order), then the others in the order
they were attached (the entity's own ``holdoutIDs`` first, then by attachment time). Each rule
has id and name = the holdout's reference id, salt ``""`` and the condition ``pass_gate <holdout>``
(operator ``any``, ``additionalValues: null``, idType of the referencing rule); then:

* kind ``"gate"``: pp 100, ``returnValue false`` (the v1 rendering turns it into pp 0, true);
* kind ``"experiment"``: pp 0, ``returnValue`` = the experiment's default value: its layer's
  parameter defaults when it is in an explicit layer (``layerID``), ``{}`` otherwise;
* kind ``"layer"``: pp 100, ``returnValue`` = the layer's holdout values: the layer document's
  ``holdoutValues[<holdout id>]`` when the layer package keeps them (frozen at a ship,
  docs/compiling.md §Layer holdout values), else the layer's current parameter defaults. A layered
  experiment asks ``reference_rules`` for kind ``"layer"`` and its layer's id for rule 3 of
  docs/compiling.md §Experiment rules, then for ``"experiment"`` for rule 4.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockgate.cores.compiler.base import Compiler, entity_salt
from lockgate.cores.compiler.conditions import js_number
from lockgate.cores.compiler.snapshot import ProjectSnapshot
from lockgate.documents.specs import ConfigSpec, SpecCondition, SpecRule
from lockgate.documents.stored import StoredHoldout
from lockgate.documents.values import JsonValue

_LISTS = {"gate": "gateIDs", "experiment": "experimentIDs", "layer": "layerIDs"}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class _Index:
    """What reference rules need, built once per compile; each kind's entities by id only
    when a rule first looks one up."""

    snapshot: ProjectSnapshot
    holdouts: list[Mapping[str, Any]]  # enabled holdouts, in creation order
    _entities: dict[str, dict[str, Mapping[str, Any]]] = field(default_factory=dict)

    def entities(self, kind: str) -> dict[str, Mapping[str, Any]]:
        found = self._entities.get(kind)
        if found is None:
            documents = {
                "gate": self.snapshot.gates,
                "experiment": self.snapshot.experiments,
                "layer": self.snapshot.layers,
            }[kind]
            found = self._entities[kind] = {d["id"]: d for d in documents}
        return found


_INDEXES: weakref.WeakKeyDictionary[Compiler, _Index] = weakref.WeakKeyDictionary()


def _index(compiler: Compiler) -> _Index:
    index = _INDEXES.get(compiler)
    if index is None:
        snapshot = compiler.snapshot
        index = _Index(snapshot, [h for h in snapshot.holdouts if h.get("isEnabled", True)])
        _INDEXES[compiler] = index
    return index


def reference_id(holdout: Mapping[str, Any]) -> str:
    """The holdout's reference id: stored on it, or derived stably from its id."""
    stored = holdout.get("referenceID")
    if isinstance(stored, str) and stored:
        return stored
    number = int.from_bytes(hashlib.sha256(f"holdout:{holdout['id']}".encode()).digest()[:16])
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def _id_type(document: Mapping[str, Any]) -> str:
    return str(document.get("idType") or "userID")


def covering_holdouts(compiler: Compiler, kind: str, entity_id: str) -> list[Mapping[str, Any]]:
    """The enabled holdouts that cover one gate, experiment or layer, in rule order."""
    list_name = _LISTS.get(kind)
    if list_name is None:
        return []
    index = _index(compiler)
    if not index.holdouts:
        return []
    entity = index.entities(kind).get(entity_id)
    chosen: dict[str, Mapping[str, Any]] = {}
    if entity is not None:
        unit = _id_type(entity).lower()
        created = entity.get("createdTime")
        for holdout in index.holdouts:
            since = holdout.get("globalSinceTime")
            if (
                holdout.get("isGlobal")
                and _id_type(holdout).lower() == unit
                and (since is None or created is None or created >= since)
            ):
                chosen.setdefault(holdout["id"], holdout)
        by_id = {h["id"]: h for h in index.holdouts}
        for holdout_id in entity.get("holdoutIDs") or ():
            if holdout_id in by_id:
                chosen.setdefault(holdout_id, by_id[holdout_id])
    attached: list[tuple[int, int, Mapping[str, Any]]] = []
    for position, holdout in enumerate(index.holdouts):
        if entity_id in (holdout.get(list_name) or ()):
            times = (holdout.get("attachedTimes") or {}).get(list_name) or {}
            attached.append((int(times.get(entity_id, 0)), position, holdout))
    for _, _, holdout in sorted(attached, key=lambda item: item[:2]):
        chosen.setdefault(holdout["id"], holdout)
    return list(chosen.values())


def _layer_defaults(layer: Mapping[str, Any] | None) -> dict[str, Any]:
    if layer is None:
        return {}
    return {p["name"]: p.get("defaultValue") for p in layer.get("parameters") or ()}


def _reference_value(
    compiler: Compiler, kind: str, entity_id: str, holdout: Mapping[str, Any]
) -> tuple[float, JsonValue]:
    """(pass percentage, return value) of a reference rule in a spec of ``kind``."""
    index = _index(compiler)
    if kind == "gate":
        return 100, False
    if kind == "experiment":
        experiment = index.entities("experiment").get(entity_id) or {}
        layer = index.entities("layer").get(str(experiment.get("layerID") or ""))
        return 0, _layer_defaults(layer)
    layer = index.entities("layer").get(entity_id)
    frozen = ((layer or {}).get("holdoutValues") or {}).get(holdout["id"])
    return 100, dict(frozen) if isinstance(frozen, Mapping) else _layer_defaults(layer)


def reference_rules(compiler: Compiler, kind: str, entity_id: str, id_type: str) -> list[SpecRule]:
    """The rules that apply the holdouts covering one gate, experiment or layer."""
    rules = []
    for holdout in covering_holdouts(compiler, kind, entity_id):
        condition: SpecCondition = {
            "type": "pass_gate",
            "targetValue": holdout["id"],
            "operator": "any",
            "field": None,
            "additionalValues": None,
            "idType": id_type,
        }
        pass_percentage, value = _reference_value(compiler, kind, entity_id, holdout)
        rules.append(
            compiler.synthetic_rule(
                reference_id(holdout),
                [condition],
                id_type,
                pass_percentage=pass_percentage,
                return_value=value,
            )
        )
    return rules


def population_rule(compiler: Compiler, holdout: StoredHoldout) -> SpecRule:
    """The rule passing ``passPercentage`` % of the population (docs/compiling.md §Holdout spec)."""
    id_type = _id_type(holdout)
    gate = holdout.get("targetingGateID")
    condition: SpecCondition
    if gate:
        condition = {
            "type": "pass_gate",
            "targetValue": gate,
            "operator": None,
            "field": None,
            "additionalValues": {},
            "idType": id_type,
        }
    else:
        condition = {
            "type": "public",
            "targetValue": None,
            "operator": None,
            "field": None,
            "additionalValues": None,
            "idType": id_type,
        }
    base = str(holdout.get("populationRuleBaseID") or reference_id(holdout))
    rule_id = str(holdout.get("populationRuleID") or base)
    return {
        "name": rule_id,
        "passPercentage": js_number(float(holdout.get("passPercentage") or 0)),
        "conditions": [compiler.conditions.add(condition)],
        "returnValue": True,
        "id": rule_id,
        "salt": base,
        "idType": id_type,
    }


def holdout_spec(compiler: Compiler, holdout: StoredHoldout) -> ConfigSpec:
    id_type = _id_type(holdout)
    enabled = bool(holdout.get("isEnabled", True))
    rules: Sequence[SpecRule] = []
    if enabled:
        rules = [
            *compiler.gate_override_rules(holdout, id_type),
            population_rule(compiler, holdout),
        ]
    return {
        "type": "feature_gate",
        "salt": entity_salt(holdout, "holdout"),
        "enabled": enabled,
        "defaultValue": False,
        "rules": list(rules),
        "idType": id_type,
        "entity": "holdout",
        "version": holdout.get("version", 1),
    }


def compile_section(
    compiler: Compiler,
    gates: dict[str, ConfigSpec],
    configs: dict[str, ConfigSpec],
    layers: dict[str, ConfigSpec],
    experiment_to_layer: dict[str, str],
) -> None:
    """Add every holdout spec to ``feature_gates``.

    Holdouts are not filtered by target app: they carry none, and a reference to a holdout the
    payload lacks would silently hold nobody out.
    """
    for holdout in compiler.snapshot.holdouts:
        gates[holdout["id"]] = holdout_spec(compiler, holdout)
