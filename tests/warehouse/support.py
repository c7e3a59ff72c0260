"""Steps the warehouse Pulse tests share: create the sources and the analysis-only experiment,
move the clock to a moment, load an experiment's Pulse through the worker, read its
``pulse_results`` and the views the load stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import PulseResult
from tests.contract.client import ContractClient


def create_sources(console: ContractClient, schema: str, metric_sources: dict[str, str]) -> None:
    """The assignment source ``exposures`` and a metric source per name of ``metric_sources``
    over the table of ``schema`` it maps to, each of ``userID``s in ``user_id`` timed by
    ``ts``."""
    mapping = [{"statsigUnitID": "userID", "column": "user_id"}]
    created = console.post(
        "/console/v1/experiments/assignment_sources",
        json={
            "name": "exposures",
            "sql": f"SELECT * FROM {schema}.exposures",
            "timestampColumn": "ts",
            "experimentIDColumn": "experiment",
            "groupIDColumn": "grp",
            "idTypeMapping": mapping,
        },
    )
    assert created.status_code == 201, created.text
    for name, table in metric_sources.items():
        created = console.post(
            "/console/v1/metrics/metric_source",
            json={
                "name": name,
                "sql": f"SELECT * FROM {schema}.{table}",
                "timestampColumn": "ts",
                "idTypeMapping": mapping,
            },
        )
        assert created.status_code == 201, created.text


def create_experiment(
    console: ContractClient, name: str, experiment: str, primary: str, secondary: list[str]
) -> dict[str, str]:
    """The analysis-only experiment ``name`` of the assignment source's ``experiment``, its
    Control and Test halves reading warehouse-native metrics; answers the group ids by name."""
    created = console.post(
        "/console/v1/experiments",
        json={
            "name": name,
            "idType": "userID",
            "isAnalysisOnly": True,
            "assignmentSourceName": "exposures",
            "assignmentSourceExperimentName": experiment,
            "groups": [
                {"name": "Control", "size": 50, "parameterValues": {}},
                {"name": "Test", "size": 50, "parameterValues": {}},
            ],
            "primaryMetrics": [{"name": primary, "type": "user_warehouse"}],
            "secondaryMetrics": [{"name": m, "type": "user_warehouse"} for m in secondary],
        },
    )
    assert created.status_code == 201, created.text
    return {g["name"]: g["id"] for g in created.json()["data"]["groups"]}


def advance_to(clock: ManualClock, moment: dt.datetime) -> None:
    """Move the clock to ``moment``, a naive UTC time."""
    clock.advance(int(moment.replace(tzinfo=dt.UTC).timestamp() * 1000) - clock.now_ms())


def load_pulse(
    app: FastAPI,
    console: ContractClient,
    experiment: str,
    refresh: str | None = None,
    *,
    body: dict[str, Any] | None = None,
    **params: str,
) -> dict[str, Any]:
    """Queue a load of the experiment's Pulse (``body`` and query ``params`` as given, with
    ``refresh`` in the query), run it, and return its successful history entry."""
    if refresh is not None:
        params["refresh"] = refresh
    loaded = console.post(
        f"/console/v1/experiments/{experiment}/load_pulse", params=params, json=body or {}
    )
    assert loaded.status_code == 200, loaded.text
    assert app.state.pulse_runner.run_pending() == 1
    history = console.get(f"/console/v1/experiments/{experiment}/pulse_load_history").json()
    assert history["data"][0]["finishedState"] == "success", history["data"][0]
    return dict(history["data"][0])


def pulse_results(console: ContractClient, experiment: str, **params: str) -> dict[str, Any]:
    """The experiment's ``pulse_results`` for the query ``params``."""
    response = console.get(f"/console/v1/experiments/{experiment}/pulse_results", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def by_name(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The primary and secondary metrics of ``pulse_results`` by name."""
    return {m["metricName"]: m for m in results["primaryMetrics"] + results["secondaryMetrics"]}


def stored_views(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored view by (view, day)."""
    with db.transaction() as session:
        rows = session.execute(select(PulseResult.view, PulseResult.ds, PulseResult.document))
        return {(view, ds): document for view, ds, document in rows}


def comparable(stored: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """The stored views less what differs between two loads of the same data."""
    return {
        f"{view} {ds}": {
            k: v for k, v in document.items() if k not in ("computedTime", "warehouse")
        }
        for (view, ds), document in stored.items()
    }
