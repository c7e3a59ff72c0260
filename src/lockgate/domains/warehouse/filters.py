"""An experiment's ``assignmentSourceFilters`` (docs/warehouse.md §Assignment source filters):
conditions on its assignment source's columns that every exposure row must meet, checked
against the columns the source answered when it was last validated, and stored as the
pipeline reads them (``pipeline._Sql.criterion``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from lockgate.domains.warehouse.usage import StoredSource
from lockgate.errors import InvalidInput

FIELD = "assignmentSourceFilters"
# The conditions the pipeline turns into SQL (``pipeline._Sql.criterion``).
CONDITIONS = (
    "in", "not_in", "=", ">", "<", ">=", "<=", "is_null", "non_null", "is_true", "is_false",
    "contains", "not_contains", "starts_with", "ends_with", "sql_filter",
)  # fmt: skip
# The official enum's conditions that compare a metric row with its unit's first exposure:
# an exposure row has none to compare with, so they are refused with this reason.
EXPOSURE_RELATIVE = ("after_exposure", "before_exposure")
NO_VALUE = frozenset({"is_null", "non_null", "is_true", "is_false"})
ONE_VALUE = frozenset({"=", ">", "<", ">=", "<=", "sql_filter"})
NUMERIC = frozenset({">", "<", ">=", "<="})
NON_EMPTY = frozenset({"contains", "not_contains", "starts_with", "ends_with", "sql_filter"})
SQL = frozenset({"sql_filter"})
MAX_FILTERS = 50
# Quotes a SQL condition's strings and identifiers open and close (a quote inside one is
# doubled, as every supported warehouse reads it).
_QUOTES = frozenset("'\"`")


def check_column(column: Any, where: str, source: StoredSource, role: str) -> str:
    """The column of ``source`` a criterion's ``column`` designates, as the source answered it;
    a 400 naming ``{where}.column`` when it is missing or not among them. ``role`` names the
    source in the message (``"assignment source"``, ``"metric source"``)."""
    if not isinstance(column, str) or not column.strip():
        raise InvalidInput.field(f"{where}.column", f"is required (a column of the {role})")
    found = source.column(column.strip())
    if found is None:
        raise InvalidInput.field(
            f"{where}.column",
            f"column {column!r} is not among {role} {source.name!r}'s columns "
            f"({', '.join(source.columns) or 'none'})",
        )
    return found


def value_texts(raw: Any, where: str) -> list[str]:
    """A criterion's ``values`` as the texts compared with a warehouse column: strings as sent,
    numbers as their text (``7`` is ``"7"``), none when absent. A boolean is a 400 naming its
    item (``{where}.values[i]``): it equals no text a column holds (docs/compatibility.md).
    Assignment source filters and warehouse native metric criteria read their values here."""
    if not raw:
        return []
    if not isinstance(raw, list):
        raise InvalidInput.field(f"{where}.values", "must be a list of strings")
    for index, value in enumerate(raw):
        if isinstance(value, bool):
            raise InvalidInput.field(
                f"{where}.values[{index}]",
                f"must be a string or a number, not the boolean {str(value).lower()}; "
                f'send "{str(value).lower()}" to compare with that text',
            )
        if not isinstance(value, str | int | float):
            raise InvalidInput.field(f"{where}.values", "must be a list of strings")
    return [str(value) for value in raw]


def check_values(
    texts: Sequence[str],
    condition: str,
    where: str,
    *,
    no_value: AbstractSet[str],
    one_value: AbstractSet[str],
    numeric: AbstractSet[str],
    non_empty: AbstractSet[str] = frozenset(),
    sql: AbstractSet[str] = frozenset(),
) -> None:
    """Check a criterion's values against its condition: none for a ``no_value`` condition, at
    least one otherwise, exactly one for a ``one_value`` one, no blank one for a ``non_empty``
    one, a number for a ``numeric`` one, and one condition (``check_sql_condition``) for a
    ``sql`` one; a bad one is a 400 naming ``{where}.values``.
    Assignment source filters, warehouse native metric criteria and event metric criteria
    share these rules, each with its own sets of conditions."""
    if condition in no_value and texts:
        raise InvalidInput.field(f"{where}.values", f"{condition!r} takes no values")
    if condition not in no_value and not texts:
        raise InvalidInput.field(f"{where}.values", f"{condition!r} needs at least one value")
    if condition in one_value and len(texts) != 1:
        raise InvalidInput.field(
            f"{where}.values", f"{condition!r} takes exactly one value, got {len(texts)}"
        )
    if condition in non_empty and not all(t.strip() for t in texts):
        raise InvalidInput.field(f"{where}.values", f"{condition!r} takes non-empty values")
    if condition in numeric:
        try:
            float(texts[0])
        except ValueError:
            raise InvalidInput.field(
                f"{where}.values", f"{condition!r} compares numbers, got {texts[0]!r}"
            ) from None
    if condition in sql:
        check_sql_condition(texts[0], f"{where}.values")


def check_sql_condition(text: str, field: str) -> None:
    """A team's own SQL condition (``sql_filter``) is embedded as is, in parentheses, inside a
    generated query: it must stay one condition there. Outside its quoted strings and
    identifiers it may hold no ``;`` (a second statement), no comment (``--``, ``/*``, which
    would hide the rest of the query) and no parenthesis closed before it is opened or left
    open; its quotes must be closed. Whether the warehouse accepts it is known when a load
    runs it (docs/warehouse.md §Assignment source filters)."""
    depth, quote, i = 0, "", 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                if text[i + 1 : i + 2] == quote:  # a doubled quote stays inside
                    i += 1
                else:
                    quote = ""
        elif char in _QUOTES:
            quote = char
        elif char == ";":
            raise InvalidInput.field(field, "must be one SQL condition, without ';'")
        elif text[i : i + 2] in ("--", "/*"):
            raise InvalidInput.field(field, "must be one SQL condition, without comments")
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise InvalidInput.field(field, "closes a parenthesis it did not open")
        i += 1
    if quote:
        raise InvalidInput.field(field, f"leaves a {quote} quote open")
    if depth:
        raise InvalidInput.field(field, "leaves a parenthesis open")


def _filter(raw: Any, where: str, source: StoredSource) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidInput.field(where, "must be an object {column, condition, values}")
    condition = raw.get("condition")
    if condition in EXPOSURE_RELATIVE:
        raise InvalidInput.field(
            f"{where}.condition",
            f"{condition!r} compares a metric row with its unit's first exposure; it does not "
            "apply to exposure rows",
        )
    if condition not in CONDITIONS:
        known = ", ".join(repr(c) for c in CONDITIONS)
        raise InvalidInput.field(f"{where}.condition", f"must be one of {known}, got {condition!r}")
    column = raw.get("column")
    found = None
    if condition != "sql_filter" or column:  # a SQL filter names its columns itself
        found = check_column(column, where, source, "assignment source")
    texts = value_texts(raw.get("values"), where)
    check_values(
        texts,
        condition,
        where,
        no_value=NO_VALUE,
        one_value=ONE_VALUE,
        numeric=NUMERIC,
        non_empty=NON_EMPTY,
        sql=SQL,
    )
    checked: dict[str, Any] = {} if found is None else {"column": found}
    checked["condition"] = condition
    if texts:
        checked["values"] = texts
    return checked


def check_filters(raw: Any, source: StoredSource) -> list[dict[str, Any]]:
    """The stored filters: each ``{column?, condition, values?}`` with the column as the source
    spells it (a ``sql_filter`` needs none); a bad one is a 400 naming it
    (``assignmentSourceFilters[1].values``)."""
    if not isinstance(raw, list):
        raise InvalidInput.field(FIELD, "must be a list of {column, condition, values}")
    if len(raw) > MAX_FILTERS:
        raise InvalidInput.field(FIELD, f"takes at most {MAX_FILTERS} filters, got {len(raw)}")
    return [_filter(item, f"{FIELD}[{i}]", source) for i, item in enumerate(raw)]
