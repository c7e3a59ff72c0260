"""Sharing a suite's modules out between processes (tests/module_claims.py): each module is run
by exactly one process, whichever end each one walks from."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from tests.module_claims import claimed, claimer, module_groups

pytestmark = pytest.mark.database_free


def _items(*nodeids: str) -> list[pytest.Item]:
    return [cast(pytest.Item, SimpleNamespace(nodeid=nodeid)) for nodeid in nodeids]


def _modules(groups: list[list[pytest.Item]]) -> list[str]:
    return [group[0].nodeid.split("::")[0] for group in groups]


def test_module_groups__items_of_several_modules__one_group_each_in_first_seen_order() -> None:
    items = _items("tests/b.py::t1", "tests/b.py::t2[x]", "tests/a.py::C::t", "tests/b.py::t3")

    groups = module_groups(items)

    assert [[item.nodeid for item in group] for group in groups] == [
        ["tests/b.py::t1", "tests/b.py::t2[x]", "tests/b.py::t3"],
        ["tests/a.py::C::t"],
    ]


def test_claimer__two_processes_claim_one_module__only_the_first_gets_it(tmp_path: Path) -> None:
    first, second = claimer(tmp_path / "claims"), claimer(tmp_path / "claims")

    assert first("tests/web/test_pages.py")
    assert not second("tests/web/test_pages.py")
    assert second("tests/web/test_keys_flow.py")
    assert not first("tests/web/test_keys_flow.py")


def test_claimed__two_processes_from_both_ends__every_module_run_once(tmp_path: Path) -> None:
    # Given five modules, and a process walking from the start that has run two of them
    groups = module_groups(_items(*(f"tests/m{n}.py::t" for n in range(5))))
    forward = claimed(groups, claimer(tmp_path), from_end=False)
    ran_forward = [next(forward), next(forward)]

    # When a second process starts from the end, the two taking turns
    backward = claimed(groups, claimer(tmp_path), from_end=True)
    ran_backward = [next(backward), next(backward)]
    ran_forward += list(forward)
    ran_backward += list(backward)

    # Then each module ran in one of them, each walking its own way
    assert _modules(ran_forward) == ["tests/m0.py", "tests/m1.py", "tests/m2.py"]
    assert _modules(ran_backward) == ["tests/m4.py", "tests/m3.py"]
