"""The end-of-run check that every implemented Console operation was validated by a test
(tests/conftest.py): which runs it judges, and what it reports."""

from __future__ import annotations

import pytest

from tests.contract.validator import checks_every_operation, unvalidated

pytestmark = pytest.mark.database_free


@pytest.mark.parametrize(
    ("markexpr", "keyword", "args"),
    [
        ("", "", ["tests"]),  # a plain `pytest` from the repository's root
        ("not slow", "", ["tests"]),  # the SQLite suite of `make test`
        ("not slow", "", ["tests/"]),
    ],
)
def test_checks_every_operation__whole_suite__checked(
    markexpr: str, keyword: str, args: list[str]
) -> None:
    assert checks_every_operation(markexpr, keyword, args)


@pytest.mark.parametrize(
    ("markexpr", "keyword", "args"),
    [
        ("not slow and not database_free", "", ["tests"]),  # the PostgreSQL suite of `make test`
        ("slow", "", ["tests"]),
        ("not slow and not web", "", ["tests"]),
        ("not  slow", "", ["tests"]),  # only the exact expressions count
        ("not slow", "gate", ["tests"]),
        ("", "", ["tests/gates"]),
        ("not slow", "", ["tests", "tests/gates/test_gates_api.py::test_x"]),
        ("", "", ["/somewhere/else"]),  # run from another directory without arguments
    ],
)
def test_checks_every_operation__part_of_the_suite__not_checked(
    markexpr: str, keyword: str, args: list[str]
) -> None:
    assert not checks_every_operation(markexpr, keyword, args)


def test_unvalidated__implemented_minus_validated__sorted() -> None:
    implemented = {("PATCH", "/console/v1/b"), ("GET", "/console/v1/b"), ("GET", "/console/v1/a")}
    validated = {("GET", "/console/v1/a"), ("DELETE", "/console/v1/not_implemented")}
    assert unvalidated(implemented, validated) == [
        ("GET", "/console/v1/b"),
        ("PATCH", "/console/v1/b"),
    ]
