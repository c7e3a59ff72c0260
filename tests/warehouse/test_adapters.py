"""The warehouse adapter on three real warehouses: DuckDB, PostgreSQL and chDB."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import numpy as np
import pytest

from lockgate.domains.warehouse.adapters import (
    QueryCancelled,
    SqlAlchemyWarehouse,
    Warehouse,
    WarehouseError,
)
from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.domains.warehouse.kinds import KINDS
from tests.conftest import PG_SERVER_URL
from tests.warehouse.test_dialects import statements

DAY = dt.date(2026, 3, 1)


def values_sql(wh: Warehouse, rows: list[tuple[str, float, dt.date]]) -> str:
    """A portable SELECT of literal rows (unit, value, day)."""
    d = wh.dialect
    return " UNION ALL ".join(
        f"SELECT {d.cast_string(repr(unit))} AS unit, CAST({value!r} AS DOUBLE PRECISION) "
        f"AS value, {d.date_literal(day)} AS ds"
        for unit, value, day in rows
    ).replace("DOUBLE PRECISION", "Float64" if d.name == "clickhouse" else "DOUBLE PRECISION")


ROWS = [
    ("u1", 1.5, DAY),
    ("u2", 2.0, DAY),
    ("u1", 4.0, DAY + dt.timedelta(days=1)),
    ("u3", 8.0, DAY + dt.timedelta(days=2)),
]


def table_rows(wh: Warehouse, table: str) -> list[tuple[str, float, dt.date]]:
    got = wh.fetch(f"SELECT unit, value, ds FROM {wh.staging(table)} ORDER BY ds, unit").rows
    return [(str(u), float(v), ds) for u, v, ds in got]


def test_replace_table_as__twice__holds_exactly_the_second_rows(warehouse: Warehouse) -> None:
    warehouse.replace_table_as("unit_days", values_sql(warehouse, ROWS))
    assert table_rows(warehouse, "unit_days") == sorted(ROWS, key=lambda r: (r[2], r[0]))

    warehouse.replace_table_as("unit_days", values_sql(warehouse, ROWS[:1]))

    assert table_rows(warehouse, "unit_days") == ROWS[:1]


def test_delete_where__from_a_day__keeps_earlier_days(warehouse: Warehouse) -> None:
    warehouse.replace_table_as("unit_days", values_sql(warehouse, ROWS))

    cutoff = warehouse.dialect.date_literal(DAY + dt.timedelta(days=1))
    warehouse.delete_where("unit_days", f"ds >= {cutoff}")

    assert table_rows(warehouse, "unit_days") == [("u1", 1.5, DAY), ("u2", 2.0, DAY)]


@pytest.mark.parametrize("q", [0.0, 0.3, 0.5, 0.95, 1.0])
def test_exact_percentile__random_values__equals_numpy_linear(
    warehouse: Warehouse, q: float
) -> None:
    rng = np.random.default_rng(7)
    values = [float(v) for v in np.round(rng.lognormal(2, 1, 37), 4)]
    rows = [(f"u{i}", v, DAY) for i, v in enumerate(values)]
    warehouse.replace_table_as("values_t", values_sql(warehouse, rows))

    got = warehouse.fetch(
        f"SELECT {warehouse.dialect.exact_percentile('value', q)} AS p "
        f"FROM {warehouse.staging('values_t')}"
    ).rows

    assert float(got[0][0]) == pytest.approx(float(np.percentile(values, q * 100)), rel=1e-9)


def test_date_hooks__across_midnight__one_calendar_day(warehouse: Warehouse) -> None:
    d = warehouse.dialect
    late = "CAST('2026-03-01 23:00:00' AS TIMESTAMP)"
    early = "CAST('2026-03-02 01:00:00' AS TIMESTAMP)"
    if d.name == "clickhouse":
        late, early = "toDateTime('2026-03-01 23:00:00')", "toDateTime('2026-03-02 01:00:00')"

    got = warehouse.fetch(
        f"SELECT {d.days_between(late, early)} AS days, "
        f"{d.days_between(early, d.add_days(early, 7))} AS week"
    ).rows

    assert [tuple(int(v) for v in row) for row in got] == [(1, 7)]


def test_group_by_hook__sums_per_unit(warehouse: Warehouse) -> None:
    warehouse.replace_table_as("unit_days", values_sql(warehouse, ROWS))

    got = warehouse.fetch(
        f"SELECT unit, SUM(value) AS total FROM {warehouse.staging('unit_days')} "
        f"{warehouse.dialect.group_by(['unit'])} ORDER BY unit"
    ).rows

    assert [(str(u), float(t)) for u, t in got] == [("u1", 5.5), ("u2", 2.0), ("u3", 8.0)]


TEXTS = ["50%_off", "50%Xoff", "5000", "it's a_b", "résumé", "abc", "_abc"]


@pytest.mark.parametrize("needle", ["%_", "%", "_", "it's", "é", "abc", "50"])
def test_substring_hooks__wildcards_quotes_and_accents__plain_characters(
    warehouse: Warehouse, needle: str
) -> None:
    d = warehouse.dialect
    texts = " UNION ALL ".join(f"SELECT {d.string_literal(t)} AS unit" for t in TEXTS)
    warehouse.replace_table_as("texts", texts)
    literal = d.string_literal(needle)
    found = {}
    for name, hook in (
        ("contains", d.contains),
        ("starts_with", d.starts_with),
        ("ends_with", d.ends_with),
    ):
        got = warehouse.fetch(
            f"SELECT unit FROM {warehouse.staging('texts')} WHERE {hook('unit', literal)}"
        ).rows
        found[name] = {str(row[0]) for row in got}

    assert found == {
        "contains": {t for t in TEXTS if needle in t},
        "starts_with": {t for t in TEXTS if t.startswith(needle)},
        "ends_with": {t for t in TEXTS if t.endswith(needle)},
    }


def test_golden_statements__run_in_the_real_warehouse__expected_sums(
    warehouse: Warehouse,
) -> None:
    """The statements of tests/warehouse/golden run as written, not only parse."""
    d = warehouse.dialect
    clickhouse = d.name == "clickhouse"
    float_type = "Float64" if clickhouse else "DOUBLE PRECISION"

    def stamp(text: str) -> str:
        return f"toDateTime('{text}')" if clickhouse else f"TIMESTAMP '{text}'"

    def row(unit: str, value: float, exposed: str, event: str, day: str) -> str:
        return (
            f"SELECT {d.cast_string(repr(unit))} AS unit, {d.cast_string(repr('test'))} AS grp, "
            f"CAST({value!r} AS {float_type}) AS value, {stamp(exposed)} AS exposed_at, "
            f"{stamp(event)} AS event_at, {d.date_literal(dt.date.fromisoformat(day))} AS ds"
        )

    warehouse.replace_table_as(
        "unit_days",
        " UNION ALL ".join(
            [
                row("u1", 1.0, "2026-03-01 23:00:00", "2026-03-02 01:00:00", "2026-03-02"),
                row("u1", 2.0, "2026-03-01 23:00:00", "2026-03-03 01:00:00", "2026-03-03"),
                row("u2", 5.0, "2026-03-01 10:00:00", "2026-03-20 10:00:00", "2026-03-20"),
            ]
        ),
    )
    create_schema, select, *replace, delete, drop = statements(d, warehouse.staging_schema)
    warehouse.run(create_schema)

    got = warehouse.fetch(select + " ORDER BY 1").rows

    assert [(str(u), str(g), float(t), int(n), ds) for u, g, t, _p, n, ds in got] == [
        ("u1", "test", 3.0, 2, dt.date(2026, 3, 3))
    ]
    for statement in replace:
        warehouse.run(statement)
    warehouse.run(delete)
    assert warehouse.fetch(f"SELECT unit FROM {warehouse.staging('results_daily')}").rows == []
    warehouse.run(drop)


def test_fetch__more_rows_than_allowed__error_not_truncation(warehouse: Warehouse) -> None:
    warehouse.replace_table_as("unit_days", values_sql(warehouse, ROWS))

    with pytest.raises(WarehouseError, match="more than 3 rows"):
        warehouse.fetch(f"SELECT * FROM {warehouse.staging('unit_days')}", max_rows=3)


def test_run__broken_sql__warehouse_message_and_connection_still_usable(
    warehouse: Warehouse,
) -> None:
    with pytest.raises(WarehouseError) as raised:
        warehouse.run(f"SELECT no_such_column FROM {warehouse.staging('missing_table')}")
    assert "missing_table" in str(raised.value)

    assert [tuple(int(v) for v in r) for r in warehouse.fetch("SELECT 1 AS one").rows] == [(1,)]


def test_fetch__query_failing_while_it_runs__next_fetch_reads_only_its_own_rows(
    warehouse: Warehouse,
) -> None:
    # A NULL cast to a type without NULLs fails on ClickHouse after rows have been read (a
    # failure while running, not while parsing); the other warehouses fail on the cast.
    d = warehouse.dialect
    failing = (
        f"SELECT CAST(x AS String) AS v FROM (SELECT {d.cast_string(repr('a'))} AS x "
        "UNION ALL SELECT NULL AS x) AS t"
        if d.name == "clickhouse"
        else f"SELECT CAST(x AS INTEGER) AS v FROM (SELECT {d.cast_string(repr('a'))} AS x) AS t"
    )
    for _ in range(2):
        with pytest.raises(WarehouseError):
            warehouse.fetch(failing)

    got = warehouse.fetch("SELECT 7 AS seven")

    assert got.columns == ("seven",)
    assert [tuple(int(v) for v in r) for r in got.rows] == [(7,)]


def test_check__working_warehouse__leaves_no_probe_table(warehouse: Warehouse) -> None:
    warehouse.check()

    with pytest.raises(WarehouseError):
        warehouse.fetch(f"SELECT * FROM {warehouse.staging('lockgate_connection_probe')}")


LONG_QUERIES = {
    "duckdb": "SELECT count(*) FROM range(1000000000000) t(x) WHERE hash(x) % 7 = 3",
    "postgresql": "SELECT pg_sleep(3600)",
}


def test_cancel__long_query__cancelled_where_supported(warehouse: Warehouse) -> None:
    if not warehouse.supports_cancel:
        assert warehouse.dialect.name == "clickhouse"
        assert warehouse.cancel() is False
        return
    outcome: list[BaseException | None] = []

    def long_query() -> None:
        try:
            warehouse.fetch(LONG_QUERIES[warehouse.dialect.name])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=long_query)
    worker.start()
    while worker.is_alive():  # until the query has started and the cancel reached it
        assert warehouse.cancel() is True
        worker.join(0.05)

    assert len(outcome) == 1 and isinstance(outcome[0], QueryCancelled)
    assert [tuple(int(v) for v in r) for r in warehouse.fetch("SELECT 1 AS one").rows] == [(1,)]


def test_connect__postgresql_wrong_port__precise_error() -> None:
    url = PG_SERVER_URL.replace(":5432", ":1")
    wh = SqlAlchemyWarehouse(url, DIALECTS["postgresql"], "whn_staging")

    with pytest.raises(WarehouseError, match=r"could not connect:.*(refused|failed)"):
        wh.check()


def test_duckdb_connection__staging_tables__written_uncompressed(tmp_path: Path) -> None:
    # Given a DuckDB connection as a project's wh_connections builds it
    wh = KINDS["duckdb"].build({"path": "team.duckdb", "stagingSchema": "whn_staging"}, tmp_path)

    # When it writes a staging table of repeated values (which DuckDB would otherwise compress)
    with wh:
        wh.ensure_staging()
        wh.replace_table_as("lg_probe", "SELECT range % 3 AS v FROM range(300000)")
        setting = wh.fetch("SELECT current_setting('force_compression') AS c").rows
        used = wh.fetch(
            "SELECT DISTINCT compression FROM pragma_storage_info('whn_staging.lg_probe') "
            "WHERE segment_type NOT IN ('VALIDITY')"
        ).rows

    # Then the table is stored uncompressed, and DuckDB reports the setting
    assert setting == [("uncompressed",)]
    assert [str(c).lower() for (c,) in used] == ["uncompressed"]


def test_connect__dialect_not_installed__names_the_extra() -> None:
    wh = SqlAlchemyWarehouse("snowflake://u:p@acct/db", DIALECTS["snowflake"], "whn_staging")

    with pytest.raises(WarehouseError, match=r"pip install 'lockgate\[snowflake\]'"):
        wh.check()


def _checksum(wh: Warehouse, rows: list[tuple[str, float, dt.date]]) -> tuple[int, str]:
    d = wh.dialect
    columns = [f"r.{d.quote(c)}" for c in ("unit", "value", "ds")]
    sql = f"SELECT COUNT(*), {d.row_checksum(columns)} FROM ({values_sql(wh, rows)}) AS r"
    ((count, checksum),) = wh.fetch(sql).rows
    return int(count), str(checksum)


def test_row_checksum__row_order__same_and_any_change__differs(warehouse: Warehouse) -> None:
    first = _checksum(warehouse, ROWS)

    assert _checksum(warehouse, list(reversed(ROWS))) == first
    changed = [("u1", 1.5, DAY), ("u2", 2.5, DAY), *ROWS[2:]]
    swapped = [("u2", 1.5, DAY), ("u1", 2.0, DAY), *ROWS[2:]]
    assert len({first, _checksum(warehouse, changed), _checksum(warehouse, swapped)}) == 3
    assert _checksum(warehouse, ROWS[:3])[0] == 3
