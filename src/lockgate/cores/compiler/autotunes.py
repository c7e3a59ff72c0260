"""Compiling autotunes into the canonical spec (`docs/compiling.md` §Autotunes).

An autotune is a ``dynamic_configs`` spec with ``entity: "autotune"``, ``defaultValue {}`` and no
``isActive``/``hasSharedParams`` keys. Its rules depend on the lifecycle:

* not started: one ``prestart`` rule (everyone, ``{}``);
* running: one rule per variant, in variant order: id = salt = variant id, ``groupName`` = variant
  name, ``returnValue`` = variant ``json``, condition ``user_bucket lt T_i`` on the spec salt, where
  ``T_i`` is the cumulative traffic weight of variants 1..i scaled to 1000 buckets (as experiment
  groups, docs/compiling.md §Group thresholds; the last is 1000). The weights are the document's
  ``trafficWeights`` (a bandit moves traffic by storing new ones), which start at the variants'
  ``size`` or an equal split;
* decision made: one ``launchedGroup`` rule (everyone, the winner's name and ``json``), as for
  experiments (docs/compiling.md §Experiment lifecycle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lockgate.cores.compiler.base import Compiler, entity_salt, entity_spec
from lockgate.cores.compiler.experiments import bucket_condition, public_condition, with_group_name
from lockgate.documents.specs import ConfigSpec, SpecRule
from lockgate.documents.stored import StoredAutotune


def thresholds(weights: Sequence[float]) -> list[int]:
    """Cumulative bucket thresholds (of 1000) for traffic ``weights``, split in proportion."""
    total = sum((Decimal(str(w)) for w in weights), Decimal(0))
    if total <= 0:
        raise ValueError("traffic weights must have a positive sum")
    result, cumulative = [], Decimal(0)
    for weight in weights:
        cumulative += Decimal(str(weight))
        result.append(int((cumulative * 1000 / total).quantize(Decimal(1), ROUND_HALF_UP)))
    result[-1] = 1000
    return result


def traffic_weights(autotune: Mapping[str, Any]) -> list[float]:
    """Per-variant weights: stored ``trafficWeights``, else sizes, else an equal split."""
    variants = autotune.get("variants") or []
    stored = autotune.get("trafficWeights") or {}
    if all(v["id"] in stored for v in variants) and sum(stored[v["id"]] for v in variants) > 0:
        return [float(stored[v["id"]]) for v in variants]
    if variants and all(v.get("size") is not None for v in variants):
        sizes = [float(v["size"]) for v in variants]
        if sum(sizes) > 0:
            return sizes
    return [1.0] * len(variants)


def autotune_spec(compiler: Compiler, autotune: StoredAutotune) -> ConfigSpec:
    id_type = str(autotune.get("idType") or "userID")
    salt = entity_salt(autotune, "autotune")
    status = autotune.get("status") or ("active" if autotune.get("isStarted") else "setup")
    variants = autotune.get("variants") or []
    winner: Mapping[str, object] = autotune.get("winner") or {}
    launched = next((v for v in variants if v["id"] == winner.get("id")), None)
    rules: list[SpecRule]
    if status == "decision_made" and launched is not None:
        rule = compiler.synthetic_rule(
            "launchedGroup", [public_condition(id_type)], id_type, return_value=launched["json"]
        )
        rules = [with_group_name(rule, launched["name"])]
    elif status in ("active", "decision_made") and variants:
        rules = []
        for variant, threshold in zip(variants, thresholds(traffic_weights(autotune)), strict=True):
            bucket = bucket_condition(threshold, "lt", salt, id_type)
            rules.append(
                {
                    "name": variant["id"],
                    "groupName": variant["name"],
                    "passPercentage": 100,
                    "conditions": [compiler.conditions.add(bucket)],
                    "returnValue": variant["json"],
                    "id": variant["id"],
                    "salt": variant["id"],
                    "idType": id_type,
                }
            )
    else:
        everyone = [public_condition(id_type)]
        rules = [compiler.synthetic_rule("prestart", everyone, id_type, return_value={})]
    return entity_spec(
        autotune,
        spec_type="dynamic_config",
        entity="autotune",
        salt=salt,
        enabled=True,
        default_value={},
        rules=rules,
        id_type=id_type,
    )


def compile_section(
    compiler: Compiler,
    gates: dict[str, ConfigSpec],
    configs: dict[str, ConfigSpec],
    layers: dict[str, ConfigSpec],
    experiment_to_layer: dict[str, str],
) -> None:
    """Add every autotune the key may see to ``dynamic_configs``."""
    for autotune in compiler.snapshot.autotunes:
        if compiler.visible(autotune):
            configs[autotune["id"]] = autotune_spec(compiler, autotune)
