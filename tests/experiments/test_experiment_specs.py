"""Experiments and layers compiled into download_config_specs (`compile-mapping.md` §6-7), and
the traffic split they produce, evaluated with Lockgate's evaluator on the compiled spec."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from scipy import stats

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.v1 import render_v1
from lockgate.cores.evaluation import Evaluator
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.repository import load_snapshot
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, create_layer, groups, put

USERS = 100_000
ALPHA = 0.001
# Power: a split off by one percentage point (e.g. 51/49 where 50/50 is configured) over the
# ~50,000 users an experiment holding half of a layer receives gives a chi-square noncentrality
# of 50,000 * 2 * 0.01**2 / 0.5 = 20 with 1 degree of freedom; at alpha = 0.001 (critical value
# 10.83) the test then rejects with probability 0.88 (scipy.stats.ncx2.sf(10.83, 1, 20)); for the
# unlayered experiment over all 100,000 users (noncentrality 40) the power is 0.999.


def _spec(db: Database, project: Bootstrap) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        return compile_v2(load_snapshot(session, project.project.id))


def _project(console: ContractClient) -> None:
    create_layer(console, parameters=[{"name": "color", "type": "string", "defaultValue": "grey"}])
    create(console, "left", layerID="a_layer", allocation=50, groups=groups(50, 50))
    create(console, "right", layerID="a_layer", allocation=50, groups=groups(20, 30, 50))
    create(console, "solo", allocation=100, groups=groups(10, 90, param="size"))
    for name in ("left", "right", "solo"):
        assert put(console, name, "start").status_code == 200


def test_compile__layered_running_experiment__statsig_shape(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    console.post("/console/v1/gates", json={"name": "target gate"})
    _project(console)
    console.patch(f"{BASE}/left", json={"targetingGateID": "target_gate"})
    console.post(
        f"{BASE}/left/overrides",
        json={"overrides": [], "userIDOverrides": [{"groupID": "Test", "ids": ["vip"]}]},
    )
    spec = _spec(db, project)
    left = spec["dynamic_configs"]["left"]
    assert [r["id"] for r in left["rules"]][:3] == [
        f"{left['rules'][4]['id']}:userID:id_override",
        "layerAssignment",
        "targetingGate",
    ]
    assert left["entity"] == "experiment" and left["isActive"] is True
    assert left["hasSharedParams"] is True and left["explicitParameters"] == ["color"]
    assert left["defaultValue"] == {"color": "grey"}
    group_rules = [r for r in left["rules"] if r.get("isExperimentGroup")]
    assert [
        (r["groupName"], spec["condition_map"][r["conditions"][0]]["targetValue"])
        for r in group_rules
    ] == [("Control", 500), ("Test", 1000)]
    assert all(r["salt"] == r["id"] for r in group_rules)
    layer = spec["layer_configs"]["a_layer"]
    assert [(r["id"], r["configDelegate"]) for r in layer["rules"]] == [
        ("experimentAssignment", "left"),
        ("experimentAssignment", "right"),
    ]
    assert spec["experiment_to_layer"] == {"left": "a_layer", "right": "a_layer"}
    solo = spec["dynamic_configs"]["solo"]
    assert (
        solo["hasSharedParams"] is False
        and "explicitParameters" not in solo
        and solo["defaultValue"] == {}
    )
    assignment = spec["condition_map"][solo["rules"][0]["conditions"][0]]
    assert (assignment["targetValue"], assignment["operator"]) == ({"-1": True}, "any")
    v1 = render_v1(spec)
    assert v1["layers"] == {"a_layer": ["left", "right"]}
    v1_left = next(s for s in v1["dynamic_configs"] if s["name"] == "left")
    bucket = next(
        c for r in v1_left["rules"] if r["id"] == "layerAssignment" for c in r["conditions"]
    )
    assert isinstance(bucket["targetValue"], list) and len(bucket["targetValue"]) == 500


def test_compile__lifecycle_rules(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    create(console, "unstarted")
    shipped = create(console, "shipped one", groups=groups(50, 50))
    create(console, "dropped one")
    for name in ("shipped_one", "dropped_one"):
        put(console, name, "start")
    put(console, "shipped_one", "make_decision", id=shipped["groups"][1]["id"], decisionReason="x")
    put(console, "dropped_one", "abandon", decisionReason="x")
    spec = _spec(db, project)["dynamic_configs"]
    assert [r["id"] for r in spec["unstarted"]["rules"]] == ["prestart"]
    launched = spec["shipped_one"]["rules"]
    assert [(r["id"], r.get("groupName"), r["returnValue"]) for r in launched] == [
        ("launchedGroup", "Test", {"color": "test"})
    ]
    assert [r["id"] for r in spec["dropped_one"]["rules"]] == ["abandoned"]
    assert not any(s["isActive"] for s in spec.values())


def test_split__100k_users__shares_match_sizes_and_layer_is_exclusive(
    console: ContractClient, db: Database, project: Bootstrap
) -> None:
    _project(console)
    evaluator = Evaluator(_spec(db, project))
    rng = random.Random(7)
    counts: dict[str, Counter[str]] = {name: Counter() for name in ("left", "right", "solo")}
    both = 0
    for _ in range(USERS):
        user = {"userID": f"{rng.getrandbits(64):x}"}
        groups_seen = {}
        for name in counts:
            result = evaluator.get_config(user, name)
            groups_seen[name] = result.group_name
            counts[name][result.group_name or result.rule_id] += 1
        both += groups_seen["left"] is not None and groups_seen["right"] is not None
    assert both == 0
    layer_users = counts["left"]["layerAssignment"] + sum(
        v for k, v in counts["left"].items() if k != "layerAssignment"
    )
    assert layer_users == USERS
    for name, sizes in (("left", [50, 50]), ("right", [20, 30, 50]), ("solo", [10, 90])):
        names = ["Control", "Test", "Test B"][: len(sizes)]
        observed = [counts[name][g] for g in names]
        expected = [sum(observed) * s / 100 for s in sizes]
        assert stats.chisquare(observed, expected).pvalue > ALPHA, (name, observed)
    # Each layered experiment holds half of the layer.
    for name in ("left", "right"):
        allocated = USERS - counts[name]["layerAssignment"]
        assert stats.binomtest(allocated, USERS, 0.5).pvalue > ALPHA
