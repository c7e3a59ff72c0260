"""Autotunes in download_config_specs (`docs/compiling.md` §Autotunes): ``prestart`` before start,
variant rules split by traffic weights while running, ``launchedGroup`` after a decision."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from lockgate.cores.compiler.autotunes import thresholds
from lockgate.domains.autotunes import service
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from tests.autotunes.support import AUTOTUNES, create_autotune
from tests.contract.client import ContractClient

ONE = f"{AUTOTUNES}/button_color"


@pytest.fixture()
def sdk(app: FastAPI) -> Any:
    with ContractClient(app) as client:
        yield client


def _spec(sdk: ContractClient, project: Bootstrap) -> tuple[dict[str, Any], dict[str, Any]]:
    dcs = sdk.get(f"/v2/download_config_specs/{project.server_key}.json").json()
    return dcs["dynamic_configs"]["button_color"], dcs["condition_map"]


def test_not_started__prestart_rule_only(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_autotune(console)
    spec, conditions = _spec(sdk, project)
    assert list(spec) == [
        "type", "salt", "enabled", "defaultValue", "rules", "idType", "entity", "version",
    ]  # fmt: skip
    assert (spec["entity"], spec["defaultValue"], spec["enabled"]) == ("autotune", {}, True)
    [rule] = spec["rules"]
    assert (rule["id"], rule["passPercentage"], rule["returnValue"]) == ("prestart", 100, {})
    assert conditions[rule["conditions"][0]]["type"] == "public"


def test_started__variant_rules_with_size_thresholds(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    created = create_autotune(console)
    console.put(f"{ONE}/start")
    spec, conditions = _spec(sdk, project)
    assert [(r["id"], r["groupName"], r["returnValue"]) for r in spec["rules"]] == [
        (v["id"], v["name"], v["json"]) for v in created["variants"]
    ]
    assert all(r["salt"] == r["id"] and "isExperimentGroup" not in r for r in spec["rules"])
    buckets = [conditions[r["conditions"][0]] for r in spec["rules"]]
    assert [b["targetValue"] for b in buckets] == [200, 500, 1000]
    assert buckets[0] == {
        "type": "user_bucket",
        "targetValue": 200,
        "operator": "lt",
        "field": None,
        "additionalValues": {"salt": spec["salt"]},
        "idType": "userID",
    }


def test_started__no_sizes__equal_split(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    variants = [{"name": n, "json": {"v": n}} for n in ("a", "b", "c")]
    create_autotune(console, variants=variants)
    console.put(f"{ONE}/start")
    spec, conditions = _spec(sdk, project)
    assert [conditions[r["conditions"][0]]["targetValue"] for r in spec["rules"]] == [
        333,
        667,
        1000,
    ]


def test_decided__launched_group_only(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    created = create_autotune(console)
    console.put(f"{ONE}/start")
    blue = created["variants"][1]
    console.put(f"{ONE}/make_decision", json={"id": blue["id"], "decisionReason": "best"})
    spec, _ = _spec(sdk, project)
    [rule] = spec["rules"]
    assert list(rule)[:2] == ["name", "groupName"]
    assert (rule["id"], rule["groupName"], rule["returnValue"]) == (
        "launchedGroup",
        "blue",
        {"color": "blue"},
    )


def test_reset__prestart_again_with_new_salt(
    console: ContractClient, sdk: ContractClient, project: Bootstrap
) -> None:
    create_autotune(console)
    console.put(f"{ONE}/start")
    salt = _spec(sdk, project)[0]["salt"]
    console.put(f"{ONE}/reset")
    spec, _ = _spec(sdk, project)
    assert [r["id"] for r in spec["rules"]] == ["prestart"] and spec["salt"] != salt


def test_traffic_weights__stored_by_a_bandit__move_thresholds(
    console: ContractClient,
    sdk: ContractClient,
    project: Bootstrap,
    db: Database,
    clock: ManualClock,
) -> None:
    created = create_autotune(console)
    console.put(f"{ONE}/start")
    ids = [v["id"] for v in created["variants"]]
    change = Change(project.project.id, Actor(id="pulse", name="Pulse"), clock.now_ms())
    with db.transaction() as session:
        service.set_traffic_weights(
            session, change, "button_color", dict(zip(ids, [1, 0, 3], strict=True))
        )
    spec, conditions = _spec(sdk, project)
    assert [conditions[r["conditions"][0]]["targetValue"] for r in spec["rules"]] == [
        250,
        250,
        1000,
    ]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([50, 50], [500, 1000]),
        ([70, 20, 10], [700, 900, 1000]),
        ([33.4, 33.3, 33.3], [334, 667, 1000]),
        ([0, 100], [0, 1000]),
        ([1, 1, 1], [333, 667, 1000]),
    ],
)
@pytest.mark.database_free
def test_thresholds__weights__cumulative_buckets(weights: list[float], expected: list[int]) -> None:
    assert thresholds(weights) == expected
