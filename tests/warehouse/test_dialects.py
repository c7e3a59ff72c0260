"""The dialect hooks: what every warehouse's statements look like, checked by parsing them in
that warehouse's own SQL dialect (sqlglot), including the warehouses that only compile here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ParseError

from lockgate.domains.warehouse.dialects import (
    DIALECTS,
    SqlDialect,
    UnsupportedInDialect,
    check_identifier,
)
from lockgate.errors import InvalidInput

pytestmark = pytest.mark.database_free

SQLGLOT_NAMES = {"postgresql": "postgres"}
NO_EXACT_PERCENTILE = {"bigquery", "trino"}


def statements(d: SqlDialect, schema: str = "staging") -> list[str]:
    """One statement of each kind the pipeline needs, built from the hooks alone, over
    ``<schema>.unit_days(unit, grp, value, exposed_at, event_at, ds)``."""
    source = d.qualified(schema, "unit_days")
    target = d.qualified(schema, "results_daily")
    percentile = (
        "NULL" if d.name in NO_EXACT_PERCENTILE else d.exact_percentile(d.quote("value"), 0.95)
    )
    select = (
        f"SELECT {d.quote('unit')}, {d.cast_string(d.quote('grp'))} AS grp, "
        f"SUM({d.quote('value')}) AS total, {percentile} AS p95, "
        f"MAX({d.days_between(d.quote('exposed_at'), d.quote('event_at'))}) AS days, "
        # ClickHouse reads select aliases in WHERE: an alias never reuses a source column name.
        f"MAX({d.quote('ds')}) AS last_ds "
        f"FROM {source} "
        f"WHERE {d.quote('event_at')} < {d.add_days(d.quote('exposed_at'), 7)} "
        f"AND {d.quote('ds')} >= {d.date_literal(dt.date(2026, 3, 1))} "
        f"{d.group_by([d.quote('unit'), d.cast_string(d.quote('grp'))])}"
    )
    return [
        d.create_schema(schema),
        select,
        *d.replace_table_as(target, select),
        d.delete_where(target, f"{d.quote('last_ds')} >= {d.date_literal(dt.date(2026, 3, 2))}"),
        d.drop_table(target),
    ]


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_hooks__every_statement__parses_in_the_warehouses_dialect(name: str) -> None:
    dialect = DIALECTS[name]
    for sql in statements(dialect):
        try:
            sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))
        except ParseError as exc:
            pytest.fail(f"{name}: {sql}\n{exc}")


def test_group_by__without_group_by_all__explicit_list() -> None:
    assert DIALECTS["postgresql"].group_by(["a", "b"]) == "GROUP BY a, b"
    assert DIALECTS["redshift"].group_by(["a"]) == "GROUP BY a"
    assert DIALECTS["duckdb"].group_by(["a"]) == "GROUP BY ALL"
    assert DIALECTS["clickhouse"].group_by(["a"]) == "GROUP BY ALL"


@pytest.mark.parametrize("name", sorted(NO_EXACT_PERCENTILE))
def test_exact_percentile__warehouse_without_one__refused_not_approximated(name: str) -> None:
    with pytest.raises(UnsupportedInDialect, match="exact percentile"):
        DIALECTS[name].exact_percentile("x", 0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, True])
def test_exact_percentile__fraction_outside_0_1__refused(bad: float) -> None:
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        DIALECTS["duckdb"].exact_percentile("x", bad)


@pytest.mark.parametrize("bad", [1.5, True, 10**6])
def test_add_days__not_a_small_integer__refused(bad: int) -> None:
    with pytest.raises(InvalidInput, match="day count"):
        DIALECTS["postgresql"].add_days("ts", bad)


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", 'a"b', "a`b", "a b", "x" * 64, "a;drop", "é"])
def test_identifier__not_a_plain_name__refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid warehouse name"):
        check_identifier(bad)


def test_quote__each_warehouse_its_quote_character() -> None:
    assert DIALECTS["postgresql"].quote("t") == '"t"'
    assert DIALECTS["bigquery"].quote("t") == "`t`"
    assert DIALECTS["clickhouse"].qualified("s", "t") == "`s`.`t`"


GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_hooks__every_statement__equals_the_golden_file(name: str) -> None:
    """A change to a hook changes what runs in every team's warehouse: the golden files
    (tests/warehouse/golden/<warehouse>.sql) are rewritten only on purpose, after reading."""
    expected = (GOLDEN / f"{name}.sql").read_text()

    assert ";\n\n".join(statements(DIALECTS[name])) + ";\n" == expected


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_row_checksum__every_warehouse__parses_in_its_dialect(name: str) -> None:
    d = DIALECTS[name]
    columns = [d.quote(c) for c in ("unit", "value", "ds")]
    sql = f"SELECT COUNT(*), {d.row_checksum(columns)} FROM {d.qualified('staging', 'days')}"

    parsed = sqlglot.parse_one(sql, read=SQLGLOT_NAMES.get(name, name))

    assert parsed.find(sqlglot.exp.Sum) is not None, sql
