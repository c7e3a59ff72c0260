"""The initialize benchmark's grown projects (``bench/initialize.py``): every copy is a whole,
self-contained project of its own, so growing a project keeps its mix of conditions."""

from __future__ import annotations

import pytest

from bench.initialize import grown
from lockgate.cores.evaluation import Evaluator
from tests.evaluation.support import load_json

pytestmark = pytest.mark.database_free


def test_grown__demo_project_three_times__copies_reference_their_own_gates() -> None:
    # Given the demo project
    doc = load_json("demo_proj_dcs.json")
    base = len(doc["feature_gates"]) + len(doc["dynamic_configs"])
    # When it is grown to three times its size
    bigger = grown(doc, base * 3)
    # Then every gate and config is there three times, under new names
    assert len(bigger["feature_gates"]) == 3 * len(doc["feature_gates"])
    assert len(bigger["dynamic_configs"]) == 3 * len(doc["dynamic_configs"])
    # And every rule's conditions exist, and a copy's gate references stay within the copy
    conditions = bigger["condition_map"]
    references = 0
    for name, spec in bigger["feature_gates"].items():
        suffix = name[name.index("~") :] if "~" in name else ""
        for rule in spec["rules"]:
            for cid in rule["conditions"]:
                condition = conditions[cid]
                if condition["type"] in ("pass_gate", "fail_gate"):
                    target = condition["targetValue"]
                    assert (target[target.index("~") :] if "~" in target else "") == suffix
                    assert target in bigger["feature_gates"]
                    references += 1
    assert references > 0
    # And the grown document loads as a whole
    assert len(Evaluator(bigger).store.feature_gates) == len(bigger["feature_gates"])
