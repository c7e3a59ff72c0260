"""The end-of-run check that every implemented Console operation was validated by a test
(tests/conftest.py, and tests/contract/every_operation.py over the parts of `make test`'s SQLite
suite): which runs it judges, and what it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.every_operation import (
    implemented_operations,
    main,
    read_validated,
    write_validated,
)
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
    ("markexpr", "keyword", "args", "ignored"),
    [
        (
            "not slow and not database_free",
            "",
            ["tests"],
            [],
        ),  # the PostgreSQL suite of `make test`
        ("slow", "", ["tests"], []),
        ("not slow and not web", "", ["tests"], []),
        ("not  slow", "", ["tests"], []),  # only the exact expressions count
        ("not slow", "gate", ["tests"], []),
        ("", "", ["tests/gates"], []),
        ("not slow", "", ["tests", "tests/gates/test_gates_api.py::test_x"], []),
        ("", "", ["/somewhere/else"], []),  # run from another directory without arguments
        ("not slow", "", ["tests"], ["tests/web"]),  # a directory left out
    ],
)
def test_checks_every_operation__part_of_the_suite__not_checked(
    markexpr: str, keyword: str, args: list[str], ignored: list[str]
) -> None:
    assert not checks_every_operation(markexpr, keyword, args, ignored)


def test_unvalidated__implemented_minus_validated__sorted() -> None:
    implemented = {("PATCH", "/console/v1/b"), ("GET", "/console/v1/b"), ("GET", "/console/v1/a")}
    validated = {("GET", "/console/v1/a"), ("DELETE", "/console/v1/not_implemented")}
    assert unvalidated(implemented, validated) == [
        ("GET", "/console/v1/b"),
        ("PATCH", "/console/v1/b"),
    ]


def test_read_validated__parts_of_one_run__union(tmp_path: Path) -> None:
    write_validated(tmp_path / "first", {("GET", "/console/v1/a"), ("GET", "/console/v1/b")})
    write_validated(tmp_path / "last", {("GET", "/console/v1/b"), ("POST", "/console/v1/a")})

    validated = read_validated([tmp_path / "first", tmp_path / "last"])

    assert validated == {
        ("GET", "/console/v1/a"),
        ("GET", "/console/v1/b"),
        ("POST", "/console/v1/a"),
    }


def test_main__parts_together_validate_every_operation__passes(tmp_path: Path) -> None:
    implemented = sorted(implemented_operations())
    write_validated(tmp_path / "first", implemented[::2])
    write_validated(tmp_path / "last", implemented[1::2])

    assert main([str(tmp_path / "first"), str(tmp_path / "last")]) == 0


def test_main__an_operation_no_part_validated__fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    implemented = sorted(implemented_operations())
    left_out = implemented[len(implemented) // 2]
    write_validated(tmp_path / "first", implemented[::2])
    write_validated(tmp_path / "last", set(implemented[1::2]) - {left_out})

    assert main([str(tmp_path / "first"), str(tmp_path / "last")]) == 1
    assert f"  {left_out[0]} {left_out[1]}\n" in capsys.readouterr().out
