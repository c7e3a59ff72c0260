"""Differential tests for parameter stores: random stores over a random project (gates, configs,
experiments, a layer) are read by statsig-python-core (``get_parameter_store(...).get_*``),
``@statsig/js-client`` (``getParameterStore(...).get`` over Lockgate's ``/v1/initialize``) and
Lockgate's evaluator over the served payload; every parameter must agree for every user."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lockgate.cores.evaluation.param_stores import value_or_fallback
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.cache import SpecCache
from lockgate.kit.db import Database
from tests.compat import generators
from tests.compat.live import live_server
from tests.compat.sdks import core_sdk, core_user, js_evaluate, node_available
from tests.compat.test_differential import build_project
from tests.compat.test_experiments_differential import _build as build_experiments
from tests.contract.client import ContractClient

SEEDS = [7, 23]
USERS = 25
STORES = 2
# The caller's fallback per declared type; the getter of statsig-python-core that reads it.
FALLBACKS: dict[str, Any] = {
    "string": "FALLBACK",
    "number": -1.5,
    "boolean": False,
    "array": ["fallback"],
    "object": {"fallback": True},
}
CORE_GETTERS = {
    "string": "get_string",
    "number": "get_float",
    "boolean": "get_bool",
    "array": "get_array",
    "object": "get_map",
}


def _common_keys(spec: dict[str, Any]) -> dict[str, Any]:
    """Keys every value of a spec holds (default and each rule), with a sample value: a key
    only some groups set resolves differently in a server SDK (the experiment's own value) and
    a client SDK (which also sees the layer's defaults)."""
    values = [spec.get("defaultValue") or {}]
    values += [rule.get("returnValue") or {} for rule in spec.get("rules") or []]
    values = [v for v in values if isinstance(v, dict)]
    if not values:
        return {}
    common = set(values[0]).intersection(*values[1:])
    return {key: values[0][key] for key in common}


def _readable(dcs: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    readable: dict[str, dict[str, dict[str, Any]]] = {
        "dynamic_config": {},
        "experiment": {},
        "layer": {},
    }
    for name, spec in dcs["dynamic_configs"].items():
        if spec.get("entity") in ("dynamic_config", "experiment"):
            readable[spec["entity"]][name] = _common_keys(spec)
    for name, spec in dcs["layer_configs"].items():
        readable["layer"][name] = _common_keys(spec)
    return readable


def _build(console: ContractClient, rng: random.Random, dcs: dict[str, Any]) -> dict[str, Any]:
    """Random stores; returns {store: {parameter: declared type}}."""
    gates = [
        name for name, spec in dcs["feature_gates"].items() if spec["entity"] == "feature_gate"
    ]
    readable = _readable(dcs)
    stores: dict[str, Any] = {}
    for index in range(STORES):
        name = f"store {index}"
        created = console.post(
            "/console/v1/param_stores",
            json={"name": name, "description": "", "displayName": name},
        )
        assert created.status_code == 200, created.text
        parameters = generators.store_parameters(rng, gates, readable)
        updated = console.post(f"/console/v1/param_stores/{name}", json={"parameters": parameters})
        assert updated.status_code == 200, updated.text
        stores[name] = {p["name"]: p["param_type"] for p in parameters}
    return stores


@pytest.mark.usefixtures("company_id_type")
@pytest.mark.parametrize("seed", SEEDS)
def test_sdks_and_lockgate__random_param_stores__agree_on_every_parameter(
    seed: int, console: ContractClient, project: Bootstrap, app: FastAPI, db: Database
) -> None:
    rng = random.Random(seed)
    build_project(console, rng)
    build_experiments(console)
    users = [generators.user(rng, i) for i in range(USERS)]
    mismatches: list[str] = []
    resolved = 0
    with live_server(app) as base, httpx.Client(base_url=base) as server:
        dcs_url = f"/v2/download_config_specs/{project.server_key}.json"
        stores = _build(console, rng, server.get(dcs_url).json())
        # The evaluator the server itself uses: the served payload with its id lists.
        evaluator = SpecCache(db).get(project.project.id).evaluator
        expected: list[dict[str, dict[str, Any]]] = []
        for wire in users:
            per_user: dict[str, dict[str, Any]] = {}
            for store, parameters in stores.items():
                per_user[store] = {}
                for parameter, param_type in parameters.items():
                    result = evaluator.get_parameter(wire, store, parameter)
                    value = value_or_fallback(result, FALLBACKS[param_type])
                    per_user[store][parameter] = value
                    resolved += value != FALLBACKS[param_type]
            expected.append(per_user)
        with core_sdk(base, project.server_key) as core:
            for wire, want in zip(users, expected, strict=True):
                user = core_user(wire)
                for store, parameters in stores.items():
                    handle = core.get_parameter_store(user, store)
                    for parameter, param_type in parameters.items():
                        getter = getattr(handle, CORE_GETTERS[param_type])
                        got = getter(parameter, FALLBACKS[param_type])
                        if got != want[store][parameter]:
                            mismatches.append(
                                f"core {store}.{parameter} {wire['userID']}: "
                                f"{got!r} != lockgate {want[store][parameter]!r}"
                            )
        if node_available():
            fallbacks = {
                store: {p: FALLBACKS[t] for p, t in parameters.items()}
                for store, parameters in stores.items()
            }
            js = js_evaluate(base, project.client_key, users, [], [], param_stores=fallbacks)
            for wire, want, got in zip(users, expected, js, strict=True):
                assert got["success"] is True
                for store, values in got["paramStores"].items():
                    for parameter, value in values.items():
                        if value != want[store][parameter]:
                            mismatches.append(
                                f"js {store}.{parameter} {wire['userID']}: "
                                f"{value!r} != lockgate {want[store][parameter]!r}"
                            )
    assert mismatches == [], "\n".join(mismatches)
    # The stores resolved real values for many reads, not only fallbacks.
    assert resolved > USERS * STORES * 4
