"""The typed documents describe what Lockgate really reads and writes.

* ``lockgate.documents.console`` is what ``tools/generate_documents.py`` writes from its
  extract of the Console API's OpenAPI document, and its TypedDicts have the keys and required
  keys of the spec's schemas;
* stored entities, compiled specs (v2, v1), initialize responses and Pulse results that the app
  produces have every required key of their TypedDict, no key it does not declare, and values of
  the declared types.
"""

from __future__ import annotations

import ast
import json
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import (
    Any,
    ForwardRef,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.v1 import render_v1
from lockgate.cores.stats.pulse import PulseSettings, analyze_mean, pulse_metric
from lockgate.cores.stats.sufficient import MeanStats
from lockgate.cores.stats.topline import ToplineInputs
from lockgate.documents import console, pulse, specs, stored
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.results import ResultOptions, metric_results
from lockgate.domains.specs.repository import load_snapshot
from lockgate.kit.db import Database
from lockgate.storage import models
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, LAYERS, create, create_layer, groups, put
from tools import extract_console_spec, generate_documents

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXTRACT = ROOT / "tests" / "contract" / "console_spec.json"
DOCUMENTS = ROOT / "src" / "lockgate" / "documents"


# -- a value against a type ------------------------------------------------------------------


def _is_json(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def problems(value: object, hint: Any, path: str = "$") -> list[str]:
    """Where ``value`` does not fit ``hint`` (empty when it does)."""
    if hint is Any or hint is object:
        return []
    if isinstance(hint, ForwardRef):  # the recursive JsonValue
        assert hint.__forward_arg__ == "JsonValue", hint
        return [] if _is_json(value) else [f"{path}: not JSON: {value!r}"]
    if is_typeddict(hint):
        if not isinstance(value, Mapping):
            return [f"{path}: {hint.__name__} expected, got {value!r}"]
        fields = get_type_hints(hint)
        found = [f"{path}.{k}: missing" for k in sorted(hint.__required_keys__ - set(value))]
        found += [f"{path}.{k}: not a key of {hint.__name__}" for k in value if k not in fields]
        for key, item in value.items():
            if key in fields:
                found += problems(item, fields[key], f"{path}.{key}")
        return found
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        branches = [problems(value, arg, path) for arg in args]
        return [] if any(not b for b in branches) else min(branches, key=len)
    if origin is Literal:
        return [] if value in args else [f"{path}: {value!r} not in {args}"]
    if origin in (list, Sequence):
        if not isinstance(value, list | tuple):
            return [f"{path}: list expected, got {value!r}"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            return [f"{path}: object expected, got {value!r}"]
        return [p for k, item in value.items() for p in problems(item, args[1], f"{path}.{k}")]
    if hint is float:
        fits = isinstance(value, int | float) and not isinstance(value, bool)
    elif hint is int:
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif hint is type(None):
        fits = value is None
    else:
        fits = isinstance(value, hint)
    return [] if fits else [f"{path}: {hint.__name__} expected, got {value!r}"]


@pytest.mark.database_free
def test_problems__wrong_documents__each_reported() -> None:
    condition: dict[str, Any] = {
        "type": "public",
        "targetValue": None,
        "operator": None,
        "additionalValues": {},
        "idType": "userID",
    }
    assert problems(condition, specs.SpecCondition) == []
    assert problems({**condition, "extra": 1}, specs.SpecCondition) == [
        "$.extra: not a key of SpecCondition"
    ]
    assert problems({k: v for k, v in condition.items() if k != "idType"}, specs.SpecCondition)
    assert problems({**condition, "idType": 3}, specs.SpecCondition)
    assert problems({**condition, "additionalValues": {"salt": 1}}, specs.SpecCondition)
    assert problems({**condition, "targetValue": {1, 2}}, specs.SpecCondition)
    assert problems(True, float) and problems(1.5, int) == ["$: int expected, got 1.5"]


# -- the generated Console API documents -----------------------------------------------------


@pytest.mark.database_free
def test_console_documents__regenerated_from_the_extract__equal_the_committed_file() -> None:
    committed = (DOCUMENTS / "console.py").read_text()
    assert generate_documents.generate() == committed, (
        "src/lockgate/documents/console.py is stale: run tools/generate_documents.py"
    )


def _without_prose(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_prose(v) for k, v in node.items() if k not in extract_console_spec.DROP}
    if isinstance(node, list):
        return [_without_prose(v) for v in node]
    return node


@pytest.mark.database_free
def test_console_documents__generator_extract__same_schemas_as_the_contract_extract() -> None:
    # Both files are cut from the same published spec: the generator's keeps prose, the
    # contract tests' drops it and adds the condition types of 2026 to each condition-type
    # enum. Otherwise their schemas must agree, or one of them is from another spec.
    mine = json.loads(generate_documents.EXTRACT.read_text())
    extract_console_spec._extend_condition_enums(mine)
    contract = json.loads(SPEC_EXTRACT.read_text())["components"]["schemas"]
    assert mine["info"]["version"] == json.loads(SPEC_EXTRACT.read_text())["info"]["version"]
    for name, schema in mine["components"]["schemas"].items():
        assert _without_prose(schema) == contract[name], name


def _object_schema(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of the object a property holds, directly or as array items."""
    if "properties" in schema:
        return schema
    items = schema.get("items")
    if isinstance(items, Mapping) and "properties" in items:
        return items
    return None


def _typeddict_in(hint: Any) -> Any:
    if is_typeddict(hint):
        return hint
    for arg in get_args(hint):
        found = _typeddict_in(arg)
        if found is not None:
            return found
    return None


def _schema_mismatches(schema: Mapping[str, Any], document: Any, path: str) -> list[str]:
    properties = schema.get("properties", {})
    fields = get_type_hints(document)
    found = []
    # The extract drops prose keys everywhere, properties named like them included.
    if set(fields) - set(extract_console_spec.DROP) != set(properties):
        found.append(f"{path}: keys {sorted(fields)} != {sorted(properties)}")
    if document.__required_keys__ != set(schema.get("required", [])):
        found.append(f"{path}: required {sorted(document.__required_keys__)}")
    for key, prop in properties.items():
        inner, nested = _object_schema(prop), _typeddict_in(fields.get(key))
        if inner is not None and nested is not None:
            found += _schema_mismatches(inner, nested, f"{path}.{key}")
    return found


@pytest.mark.database_free
@pytest.mark.parametrize("name", generate_documents.SCHEMAS)
def test_console_documents__each_schema__keys_and_required_keys_of_the_spec(name: str) -> None:
    # The repository's schema extract of the same spec (tools/extract_console_spec.py).
    schema = json.loads(SPEC_EXTRACT.read_text())["components"]["schemas"][name]
    assert _schema_mismatches(schema, getattr(console, name), name) == []


@pytest.mark.database_free
@pytest.mark.parametrize("module", ["values", "specs", "stored", "pulse"])
def test_hand_written_documents__imports__typing_and_documents_only(module: str) -> None:
    # The cores use these modules: they must not pull in more than the standard typing.
    imported: set[str] = set()
    for node in ast.walk(ast.parse((DOCUMENTS / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert all(
        name.startswith("lockgate.documents.") or name.split(".")[0] in sys.stdlib_module_names
        for name in imported
    ), imported


@pytest.mark.database_free
def test_stored_condition_types__console_vocabulary__all_known() -> None:
    # Every condition type the API documents is one Lockgate stores (or refuses by name).
    from lockgate.cores.compiler.vocabulary import CONDITION_TYPES, UNEVALUATED_TYPES

    documented = get_args(get_type_hints(console.RuleDtoCondition)["type"])
    assert set(documented) <= set(CONDITION_TYPES) | UNEVALUATED_TYPES


# -- real documents from the app -------------------------------------------------------------


def _project(console_client: ContractClient) -> None:
    """One of everything the compiler handles, through the Console API."""
    c = console_client
    assert c.post("/console/v1/unit_id_types", json={"name": "companyID"}).status_code == 201
    rule = {
        "name": "some",
        "passPercentage": 40,
        "conditions": [
            {"type": "email", "operator": "str_ends_with_any", "targetValue": ["@corp.com"]},
            {"type": "unit_id", "customID": "companyID", "operator": "any", "targetValue": ["c"]},
            {"type": "custom_field", "field": "plan", "operator": "gt", "targetValue": 3},
        ],
        "environments": ["production"],
    }
    assert c.post("/console/v1/gates", json={"name": "a gate", "rules": [rule]}).status_code == 201
    c.post(
        "/console/v1/gates/a_gate/overrides",
        json={
            "passingUserIDs": ["u1"],
            "failingUserIDs": [],
            "environmentOverrides": [
                {
                    "environment": "staging",
                    "unitID": "companyID",
                    "passingIDs": ["c1"],
                    "failingIDs": [],
                }
            ],
        },
    )
    segment = {"name": "beta users", "type": "rule_based", "rules": [{**rule, "name": "beta"}]}
    assert c.post("/console/v1/segments", json=segment).status_code == 201
    assert c.post("/console/v1/segments", json={"name": "ids", "type": "id_list"}).status_code
    c.patch("/console/v1/segments/ids/id_list", json={"ids": ["u1", "u2"]})
    config_rule = {**rule, "name": "blue", "returnValue": {"color": "blue"}}
    config = {"name": "a config", "defaultValue": {"color": "grey"}, "rules": [config_rule]}
    assert c.post("/console/v1/dynamic_configs", json=config).status_code == 201
    create_layer(c, parameters=[{"name": "color", "type": "string", "defaultValue": "grey"}])
    create(c, "layered", layerID="a_layer", allocation=40, groups=groups(50, 50))
    create(
        c,
        "shipped",
        groups=groups(50, 50),
        inlineTargetingRules=[{**rule, "name": "Inline Targeting Rule 1"}],
    )
    for name in ("layered", "shipped"):
        assert put(c, name, "start").status_code == 200
    launched = c.get(f"{BASE}/shipped").json()["data"]["groups"][1]["id"]
    put(c, "shipped", "make_decision", id=launched, decisionReason="won")
    c.post(
        f"{BASE}/layered/overrides",
        json={
            "overrides": [{"type": "gate", "id": "a_gate", "groupID": "Test"}],
            "userIDOverrides": [{"groupID": "Control", "ids": ["u1"]}],
        },
    )
    c.post(
        f"{LAYERS}/a_layer/overrides",
        json={
            "conditionalOverrides": [],
            "idOverrides": [{"groupName": "Test", "ids": ["u5"], "experimentName": "layered"}],
        },
    )
    holdout = {"name": "a holdout", "gateIDs": ["a_gate"], "layerIDs": ["a_layer"]}
    assert c.post("/console/v1/holdouts", json=holdout).status_code == 200
    c.patch("/console/v1/holdouts/a_holdout", json={"passPercentage": 5})
    autotune = {
        "name": "button color",
        "variants": [{"name": "red", "json": {"c": "red"}}, {"name": "blue", "json": {"c": 1}}],
        "successEvent": "click",
        "explorationWindow": "24hr",
        "attributionWindow": "2hrs",
        "winnerThreshold": "95%",
    }
    assert c.post("/console/v1/autotunes", json=autotune).status_code == 201
    c.put("/console/v1/autotunes/button_color/start")


STORED: list[tuple[type[models.EntityMixin], Any]] = [
    (models.Gate, stored.StoredGate),
    (models.DynamicConfig, stored.StoredConfig),
    (models.Segment, stored.StoredSegment),
    (models.Experiment, stored.StoredExperiment),
    (models.Layer, stored.StoredLayer),
    (models.Holdout, stored.StoredHoldout),
    (models.Autotune, stored.StoredAutotune),
]


def test_stored_documents__every_kind__fit_their_types(
    console: ContractClient, db: Database
) -> None:
    _project(console)
    found = []
    with db.transaction(write=False) as session:
        for model, document_type in STORED:
            documents = session.scalars(select(model.document)).all()
            assert documents, model
            for document in documents:
                found += problems(document, document_type, document["id"])
    assert found == [], "\n".join(found)


def test_compiled_specs__v2_and_v1__fit_their_types(
    console: ContractClient, project: Bootstrap, db: Database, app: FastAPI
) -> None:
    _project(console)
    with db.transaction(write=False) as session:
        snapshot = load_snapshot(session, project.project.id)
    v2 = compile_v2(snapshot)
    entities = {spec["entity"] for section in ("feature_gates", "dynamic_configs", "layer_configs")
                for spec in v2[section].values()}  # fmt: skip
    assert entities == set(get_args(specs.SpecEntity))
    assert problems(v2, specs.ConfigSpecsV2) == []
    assert problems(render_v1(v2), specs.ConfigSpecsV1) == []
    with ContractClient(app) as sdk:
        for version, document_type in (("v2", specs.ConfigSpecsV2), ("v1", specs.ConfigSpecsV1)):
            served = sdk.get(f"/{version}/download_config_specs/{project.server_key}.json")
            assert problems(served.json(), document_type) == []


@pytest.mark.parametrize(
    ("user", "allocated"),
    [
        ({"userID": "u5"}, "layered"),  # the layer's id override puts u5 in the experiment
        # Whether the layer allocates u1 depends on its random salt: not checked.
        ({"userID": "u1", "customIDs": {"companyID": "c1"}, "email": "a@corp.com"}, None),
    ],
)
@pytest.mark.usefixtures("none_hash_scope")
def test_initialize_response__everything_evaluated__fits_its_type(
    console: ContractClient,
    project: Bootstrap,
    app: FastAPI,
    user: dict[str, Any],
    allocated: str | None,
) -> None:
    _project(console)
    with ContractClient(app) as sdk:
        response = sdk.post(
            f"/v1/initialize?k={project.client_key}", json={"user": user, "hash": "none"}
        )
    body = response.json()
    if allocated is not None:
        assert body["layer_configs"]["a_layer"]["allocated_experiment_name"] == allocated
    assert set(body["dynamic_configs"]) == {"a_config", "layered", "shipped", "button_color"}
    assert problems(body, specs.InitializeResponse) == []


@pytest.mark.usefixtures("none_hash_scope")
def test_initialize_delta_and_no_updates__client_asks_for_delta__fit_their_types(
    console: ContractClient, project: Bootstrap, app: FastAPI
) -> None:
    _project(console)
    url = f"/v1/initialize?k={project.client_key}"
    asked = {"user": {"userID": "u1"}, "hash": "none"}
    with ContractClient(app) as sdk:
        held = sdk.post(url, json=asked).json()
        since = {**asked, "deltasResponseRequested": True, "full_checksum": held["full_checksum"]}
        same = sdk.post(url, json=since).json()
        made = console.post("/console/v1/gates", json={"name": "late", "rules": []})
        assert made.status_code == 201, made.text
        delta = sdk.post(url, json=since).json()
    assert same == {"has_updates": False}
    assert problems(same, specs.InitializeNoUpdates) == []
    assert delta["is_delta"] is True
    assert set(delta["feature_gates"]) == {"late"}
    assert problems(delta, specs.InitializeDelta) == []


@pytest.mark.database_free
def test_pulse_results__mean_metric_with_topline__fit_their_types() -> None:
    analysis = analyze_mean(
        MeanStats(1000, 1020.0, 2100.0),
        MeanStats(1000, 1100.0, 2300.0),
        PulseSettings(sequential=True, adjusted_alpha=0.025),
        ToplineInputs(topline=2120.0, days=7, projection_factor=2.0),
    )
    metric = pulse_metric("clicks::event_count", "increase", analysis)
    assert "relativeToplineImpact" in metric and "sequentialTestingPValue" in metric
    assert problems(metric, pulse.PulseMetric) == []

    sums = {
        "Control": {"n": 500.0, "sx": 510.0, "sxx": 1050.0},
        "Test": {"n": 500.0, "sx": 560.0, "sxx": 1200.0},
    }
    entry: dict[str, Any] = {
        "metricID": "clicks::event_count",
        "metricName": "clicks",
        "type": "event_count",
        "directionality": "increase",
        "role": "primary",
        "ratio": False,
        "sums": sums,
    }
    assert problems(entry, pulse.MetricSums) == []
    for bayesian in (False, True):
        options = ResultOptions(control="Control", test="Test", bayesian=bayesian)
        card = metric_results({"metrics": [entry]}, options)
        assert len(card["primaryMetrics"]) == 1
        assert problems(card, pulse.MetricResults) == []
