"""The initialize entries a revision keeps (``client_init._Kept``): built from an outcome and
its exposures, they are shared by every answer of the same revision and no other."""

from __future__ import annotations

from typing import Any

import pytest

from lockgate.cores.evaluation import BUILD, Evaluator, client_init
from lockgate.cores.evaluation.client_init import client_initialize_response
from tests.evaluation.support import eval_project_evaluator, expected_core

pytestmark = pytest.mark.database_free


def _nesting_document(id_type: str, default: dict[str, Any]) -> dict[str, Any]:
    """A gate and a config that both reference a 50% gate (so are not leaves)."""

    def spec(kind: str, conditions: list[str], default_value: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "salt": "s",
            "enabled": True,
            "defaultValue": default_value,
            "rules": [
                {
                    "name": "r",
                    "id": "r",
                    "salt": "r",
                    "passPercentage": 50 if not conditions else 100,
                    "conditions": conditions,
                    "returnValue": True if kind == "feature_gate" else {"on": 1},
                    "idType": id_type,
                }
            ],
            "idType": id_type,
            "entity": "feature_gate" if kind == "feature_gate" else "dynamic_config",
        }

    return {
        "has_updates": True,
        "time": 1,
        "feature_gates": {
            "inner": spec("feature_gate", [], False),
            "outer": spec("feature_gate", ["c"], False),
        },
        "dynamic_configs": {"config": spec("dynamic_config", ["c"], default)},
        "layer_configs": {},
        "condition_map": {"c": {"type": "pass_gate", "targetValue": "inner", "idType": id_type}},
        "experiment_to_layer": {},
    }


def test_kept_entries__two_revisions_same_outcomes__each_answer_from_its_own() -> None:
    # Given two revisions whose gates and configs reach the same outcomes and exposures for
    # a user, but differ in what their entries show (the unit type, the config's default)
    first = Evaluator(_nesting_document("userID", {"v": 1}))
    second = Evaluator(_nesting_document("stableID", {"v": 2}))
    users = [{"userID": f"u{i}", "customIDs": {"stableID": f"u{i}"}} for i in range(20)]
    for user in users:
        # When each answers the same user, the first one first
        first_answer = client_initialize_response(first, user, hash_algorithm="none")
        second_answer = client_initialize_response(second, user, hash_algorithm="none")
        # Then each answer is its own revision's, as a fresh evaluator gives it
        for document, got in (("userID", first_answer), ("stableID", second_answer)):
            assert got["feature_gates"]["outer"]["id_type"] == document
            assert got["dynamic_configs"]["config"]["id_type"] == document
        assert second_answer == client_initialize_response(
            Evaluator(_nesting_document("stableID", {"v": 2})), user, hash_algorithm="none"
        )


def test_kept_entries__project_size__bound_grows_with_it() -> None:
    # Given a project of more specs than the fixed bound allows for, per spec
    small = Evaluator(_nesting_document("userID", {"v": 1}))
    many = _nesting_document("userID", {"v": 1})
    extra = client_init.KEPT_RENDERINGS // client_init.KEPT_RENDERINGS_PER_SPEC
    many["feature_gates"].update({f"g{i}": many["feature_gates"]["inner"] for i in range(extra)})
    large = Evaluator(many)
    # When each answers
    client_initialize_response(small, {"userID": "u"})
    client_initialize_response(large, {"userID": "u"})
    # Then the small one keeps the fixed bound and the large one more, by its size
    assert small.kept[("init-v1", "djb2")].limit == client_init.KEPT_RENDERINGS
    specs = extra + 3
    assert large.kept[("init-v1", "djb2")].limit == client_init.KEPT_RENDERINGS_PER_SPEC * specs


@pytest.mark.skipif(BUILD == "compiled", reason="patches Final constants, which mypyc compiles in")
@pytest.mark.parametrize("limit", [1, 3])
def test_kept_entries__bound_reached__answers_unchanged(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bound so low that kept renderings are dropped again and again (patched: the
    # real bound is only reached by projects far larger than a test's)
    monkeypatch.setattr(client_init, "KEPT_RENDERINGS", limit)
    monkeypatch.setattr(client_init, "KEPT_RENDERINGS_PER_SPEC", 0)
    shared = eval_project_evaluator.__wrapped__()
    for user in [case["user"] for case in expected_core()["cases"]]:
        # When one evaluator answers every user in turn
        got = client_initialize_response(shared, user)
        # Then each answer equals that of an evaluator that answered nobody before
        assert got == client_initialize_response(eval_project_evaluator.__wrapped__(), user)
        assert len(shared.kept[("init-v1", "djb2")].entries) <= limit
