"""One initialize's shared evaluation session against the evaluator's unshared entry points.

A session evaluates each gate once per user and replays its result wherever it is referenced;
everything it returns must equal ``check_gate``/``get_config``/``get_layer`` once secondary
exposures are de-duplicated (what initialize responses carry), including near the nesting
limit and on reference cycles, where the session falls back to unshared evaluation.
"""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from typing import Any

import pytest

from lockgate.cores.evaluation import Evaluator
from lockgate.cores.evaluation.client_init import client_initialize_response
from lockgate.cores.evaluation.evaluator import MAX_NESTING, dedupe_exposures
from lockgate.cores.evaluation.results import Evaluation
from tests.evaluation.support import (
    CASES,
    case_evaluator,
    eval_project_evaluator,
    expected_core,
    load_json,
)

pytestmark = pytest.mark.database_free


def _deduped(result: Evaluation) -> Evaluation:
    fields: dict[str, Any] = {"secondary_exposures": dedupe_exposures(result.secondary_exposures)}
    undelegated = getattr(result, "undelegated_secondary_exposures", None)
    if undelegated is not None:
        fields["undelegated_secondary_exposures"] = dedupe_exposures(undelegated)
    return replace(result, **fields)


def _assert_session_matches(evaluator: Evaluator, user: dict[str, Any]) -> None:
    session = evaluator.session(user)
    store = evaluator.store
    # Layers and configs first, so that gates are often replayed from the session's memo.
    for name in store.layer_configs:
        assert _deduped(session.get_layer(name)) == _deduped(evaluator.get_layer(user, name))
    for name in store.dynamic_configs:
        assert _deduped(session.get_config(name)) == _deduped(evaluator.get_config(user, name))
    for name in store.feature_gates:
        want = evaluator.check_gate(user, name)
        value, rule_id, exposures = session.gate(name)
        assert (value, rule_id) == (want.value, want.rule_id)
        assert dedupe_exposures(exposures) == dedupe_exposures(want.secondary_exposures)
        assert _deduped(session.check_gate(name)) == _deduped(want)


@pytest.mark.parametrize("index", range(len(expected_core()["cases"])))
def test_session__eval_project_user__equals_unshared_evaluation(index: int) -> None:
    # Given the eval project and one of the users core was run with
    user = expected_core()["cases"][index]["user"]
    # Then every shared result equals the unshared one
    _assert_session_matches(eval_project_evaluator(), user)


@pytest.mark.parametrize("case_file", sorted(p.name for p in CASES.glob("*.json")))
def test_session__evaluator_case_documents__equal_unshared_evaluation(case_file: str) -> None:
    # Given each evaluator case document, configured as its cases run it, and their users
    suite = json.loads((CASES / case_file).read_text(encoding="utf-8"))
    evaluator = case_evaluator(suite)
    for case in suite["tests"]:
        _assert_session_matches(evaluator, case.get("user") or {})


def test_session__demo_project__equals_unshared_evaluation() -> None:
    _assert_session_matches(Evaluator(load_json("demo_proj_dcs.json")), {"userID": "a-user"})


def _gate(condition_ids: list[str]) -> dict[str, Any]:
    return {
        "type": "feature_gate",
        "salt": "s",
        "enabled": True,
        "defaultValue": False,
        "idType": "userID",
        "entity": "feature_gate",
        "rules": [
            {
                "name": "r",
                "id": "r",
                "passPercentage": 50,
                "returnValue": True,
                "idType": "userID",
                "conditions": condition_ids,
            }
        ],
    }


def _chain_document(length: int, *, cycle: bool = False) -> dict[str, Any]:
    """Gates g0 → g1 → ... → g<length-1> (each passes the next), the last one public; with
    ``cycle`` the last one refers back to g0."""
    gates: dict[str, Any] = {}
    conditions: dict[str, Any] = {"public": {"type": "public", "idType": "userID"}}
    for index in range(length):
        last = index == length - 1
        target = "g0" if last and cycle else f"g{index + 1}"
        if last and not cycle:
            gates[f"g{index}"] = _gate(["public"])
            continue
        conditions[f"to{index}"] = {"type": "pass_gate", "targetValue": target, "idType": "userID"}
        # Every gate also names the deepest one directly: replays at many depths.
        gates[f"g{index}"] = _gate([f"to{index}", f"to{length - 2}"] if length > 1 else [])
    return {
        "has_updates": True,
        "time": 1,
        "feature_gates": gates,
        "dynamic_configs": {},
        "layer_configs": {},
        "experiment_to_layer": {},
        "condition_map": conditions,
    }


@pytest.mark.parametrize(
    "length", [2, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, MAX_NESTING + 2, 100]
)
def test_session__gate_chain_around_nesting_limit__equals_unshared(length: int) -> None:
    # Given gates chained exactly around the nesting limit
    evaluator = Evaluator(_chain_document(length))
    # Then shared and unshared evaluation agree for every gate (unsupported ones included)
    for user in ({"userID": "a"}, {"userID": "b"}, {}):
        _assert_session_matches(evaluator, user)


def test_session__gate_cycle__unsupported_like_unshared() -> None:
    # Given gates referring to each other in a cycle
    evaluator = Evaluator(_chain_document(5, cycle=True))
    # When the session evaluates one of them
    value, rule_id, exposures = evaluator.session({"userID": "a"}).gate("g0")
    # Then it fails closed, as the unshared evaluation does
    assert (value, rule_id, exposures) == (False, "", ())
    assert evaluator.check_gate({"userID": "a"}, "g0").reason == "Unsupported"
    _assert_session_matches(evaluator, {"userID": "a"})


def test_initialize__one_evaluator_many_users__equals_a_fresh_evaluator_per_user() -> None:
    # Given one evaluator answering every user in turn (its leaf entries shared across
    # responses), and for each user an evaluator that has answered nobody before
    shared = eval_project_evaluator.__wrapped__()
    users = [case["user"] for case in expected_core()["cases"]]
    for algorithm in ("djb2", "none"):
        for user in users + users[:5]:
            # When both build the user's initialize response
            got = client_initialize_response(shared, user, hash_algorithm=algorithm)
            fresh = eval_project_evaluator.__wrapped__()
            want = client_initialize_response(fresh, user, hash_algorithm=algorithm)
            # Then they are equal
            assert got == want


@pytest.mark.parametrize("case_file", sorted(p.name for p in CASES.glob("*.json")))
def test_initialize__evaluator_case_documents__answer_leaves_no_cyclic_garbage(
    case_file: str,
) -> None:
    # Given each evaluator case document and its users, with nothing for the collector to find
    suite = json.loads((CASES / case_file).read_text(encoding="utf-8"))
    evaluator = case_evaluator(suite)
    for case in suite["tests"]:
        client_initialize_response(evaluator, case.get("user") or {})  # shared entries built
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for case in suite["tests"]:
            # When initialize answers each user and the answer is dropped
            client_initialize_response(evaluator, case.get("user") or {})
        # Then reference counting freed all of it: no cycle was left for the collector
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_session__closed__evaluates_as_before() -> None:
    # Given a session whose reference cycle has been broken
    evaluator = eval_project_evaluator()
    user = expected_core()["cases"][0]["user"]
    session = evaluator.session(user)
    session.close()
    # Then it still gives the unshared evaluation's results
    for name in evaluator.store.feature_gates:
        want = evaluator.check_gate(user, name)
        value, rule_id, exposures = session.gate(name)
        assert (value, rule_id) == (want.value, want.rule_id)
        assert dedupe_exposures(exposures) == dedupe_exposures(want.secondary_exposures)
    for name in evaluator.store.dynamic_configs:
        assert _deduped(session.get_config(name)) == _deduped(evaluator.get_config(user, name))
