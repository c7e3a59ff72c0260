"""Experiments and layers compiled into download_config_specs
(`docs/compiling.md` §Experiments, §Layers), and the traffic split they produce, evaluated with
Lockgate's evaluator on the compiled spec."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from scipy import stats

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.v1 import render_v1
from lockgate.cores.evaluation import Evaluator
from lockgate.documents.specs import ConfigSpecsV2
from lockgate.documents.stored import StoredExperiment, StoredLayer
from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.specs.repository import load_snapshot
from lockgate.kit.db import Database
from tests.contract.client import ContractClient
from tests.experiments.support import BASE, create, create_layer, groups, put

USERS = 100_000
# The split test makes four checks (three group splits, one layer allocation); Bonferroni keeps
# the chance that a fair hash fails any of them at FAMILY_ALPHA.
FAMILY_ALPHA = 0.001
ALPHA = FAMILY_ALPHA / 4
# Power: a split off by one percentage point (e.g. 51/49 where 50/50 is configured) over the
# ~50,000 users an experiment holding half of a layer receives gives a chi-square noncentrality
# of 50,000 * 2 * 0.01**2 / 0.5 = 20 with 1 degree of freedom; at alpha = 0.00025 (critical value
# 13.41) the test then rejects with probability 0.79 (scipy.stats.ncx2.sf(13.41, 1, 20)). The
# other checks see more users or smaller groups, so a one-point error gives them more power.
# The salts the split test hashes on. The API draws every salt at random (uuid4), which made
# each run a fresh sample; these were drawn once and are kept whatever their p-values.
PINNED_SALTS = {
    "a_layer": "aff056b7-7f55-4f38-88a6-c6fb4a3d8563",
    "left": "2133527c-df21-48ff-8204-1d5758465aa4",
    "right": "9d1d3745-347c-417a-a2a8-37fdede5ec7e",
    "solo": "95a8ca16-8b07-47b9-b63b-ef41f50f5e60",
}


def _spec(db: Database, project: Bootstrap) -> ConfigSpecsV2:
    with db.transaction(write=False) as session:
        return compile_v2(load_snapshot(session, project.project.id))


def _pinned_spec(db: Database, project: Bootstrap) -> ConfigSpecsV2:
    """The compiled spec of the stored entities, with PINNED_SALTS in place of their own."""
    with db.transaction(write=False) as session:
        snapshot = load_snapshot(session, project.project.id)
    experiments: list[StoredExperiment] = [
        {**e, "salt": PINNED_SALTS[e["id"]]} for e in snapshot.experiments
    ]
    layers: list[StoredLayer] = [
        {**layer, "salt": PINNED_SALTS[layer["id"]]} for layer in snapshot.layers
    ]
    return compile_v2(replace(snapshot, experiments=experiments, layers=layers))


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
    """Group shares and the layer allocation match the configured sizes within a binomial /
    chi-square bound, and no user is in both experiments of the layer.

    Salts and user ids are pinned, so the counts are the same on every run. With the salts the
    API draws, the test failed now and then, which was a defect in the test and not a biased
    allocation. Over 2,000 random salt sets (same users, at the former alpha of 0.001 per check)
    the left, right and solo splits and the allocation failed in 0%, 0.25%, 0.1% and 0.15% of
    runs, the whole test in 0.50% (95% CI 0.24-0.92%), where independent uniform buckets give
    0.36% (20,000 simulated runs; Fisher p = 0.34); each check's p-values were uniform
    (Kolmogorov-Smirnov p >= 0.29) and the Control share of "left" had mean 0.50005 and
    standard deviation 0.00222 (binomial: 0.00224).
    """
    _project(console)
    spec = _pinned_spec(db, project)
    assert {name: spec["dynamic_configs"][name]["salt"] for name in ("left", "right", "solo")} == {
        name: PINNED_SALTS[name] for name in ("left", "right", "solo")
    }
    evaluator = Evaluator(spec)
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
    # Each layered experiment holds half of the layer, and between them all of it.
    allocated = {name: USERS - counts[name]["layerAssignment"] for name in ("left", "right")}
    assert allocated["left"] + allocated["right"] == USERS
    assert stats.binomtest(allocated["left"], USERS, 0.5).pvalue > ALPHA, allocated
    for name, sizes in (("left", [50, 50]), ("right", [20, 30, 50]), ("solo", [10, 90])):
        names = ["Control", "Test", "Test B"][: len(sizes)]
        observed = [counts[name][g] for g in names]
        expected = [sum(observed) * s / 100 for s in sizes]
        assert stats.chisquare(observed, expected).pvalue > ALPHA, (name, observed)
