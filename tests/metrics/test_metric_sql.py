"""``unit_values_query``: per-unit values of each metric type, criteria operators, ``since``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, String, literal, select, union_all

from lockgate.domains.events.incoming import settle
from lockgate.domains.events.service import prepare, store
from lockgate.domains.metrics.sql import (
    OPERATORS,
    Criterion,
    EventSelector,
    MetricSpec,
    unit_values_query,
)
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database

T0 = 1_000_000


def _e(name: str, user: str, t: int, value: Any = None, **metadata: Any) -> dict[str, Any]:
    return {
        "eventName": name,
        "user": {
            "userID": user,
            "country": "US" if user == "u1" else "DE",
            "custom": {"plan": "pro" if user != "u3" else None},
            "customIDs": {"teamID": f"team_{user}"},
        },
        "time": T0 + t,
        "value": value,
        "metadata": metadata or None,
    }


EVENTS = [
    _e("visit", "u1", 1),
    _e("buy", "u1", 2, 10, size="2", flag=True, note="Big Sale"),
    _e("buy", "u1", 3, 5, size="x"),
    _e("visit", "u2", 4),
    _e("buy", "u2", 1, 7, size="4", flag=False, note="small"),  # before the visit
    _e("buy", "u3", 5, "3.5", size="1.5"),
]


@pytest.fixture()
def events(db: Database, project: Bootstrap) -> str:
    batch = prepare(project.project.id, EVENTS, received_ms=T0, sdk_type="test")
    assert not batch.result.rejected
    with db.transaction() as session:
        store(session.connection(), [batch])
    settle(db)  # into the indexed tables the metric queries read
    return project.project.id


def _values(
    db: Database, spec: MetricSpec, unit: Any = "userID", **kw: Any
) -> dict[str, tuple[Any, ...]]:
    query = unit_values_query(spec, T0, T0 + 1000, unit, **kw)
    with db.transaction(write=False) as session:
        rows = session.execute(query).all()
    return {r.unit_id: (r.value, r.numerator, r.denominator) for r in rows}


def _spec(project_id: str, metric_type: str, **kw: Any) -> MetricSpec:
    return MetricSpec(project_id=project_id, metric_id="m", type=metric_type, **kw)


BUY = EventSelector("buy", "value")
VISIT = EventSelector("visit", "count_distinct")


def test_unit_values__additive_types__per_unit(db: Database, events: str) -> None:
    count = _spec(events, "event_count_custom", events=(EventSelector("buy"),))
    assert _values(db, count) == {
        "u1": (2, None, None),
        "u2": (1, None, None),
        "u3": (1, None, None),
    }
    total = _spec(events, "sum", events=(BUY,))
    assert _values(db, total) == {
        "u1": (15, None, None),
        "u2": (7, None, None),
        "u3": (3.5, None, None),
    }
    users = _spec(events, "event_user", events=(EventSelector("buy", "count_distinct"),))
    assert {k: v[0] for k, v in _values(db, users).items()} == {"u1": 1, "u2": 1, "u3": 1}


def test_unit_values__metadata_numbers__non_numbers_ignored(db: Database, events: str) -> None:
    mean = _spec(events, "mean", events=(EventSelector("buy", "metadata", "size"),))
    assert _values(db, mean) == {"u1": (2, 2, 1), "u2": (4, 4, 1), "u3": (1.5, 1.5, 1)}


def test_unit_values__ratio__numerator_over_denominator(db: Database, events: str) -> None:
    ratio = _spec(events, "ratio", events=(EventSelector("buy"), VISIT))
    assert _values(db, ratio) == {"u1": (2, 2, 1), "u2": (1, 1, 1), "u3": (None, 1, 0)}


@pytest.mark.parametrize(
    ("funnel_count", "expected"),
    [
        # u2 bought before visiting: the purchase does not complete the funnel.
        ("users", {"u1": (1, 1, 1), "u2": (0, 0, 1)}),
        ("events", {"u1": (2, 2, 1), "u2": (0, 0, 1)}),
    ],
)
def test_unit_values__funnel__steps_in_order(
    db: Database, events: str, funnel_count: str, expected: dict[str, tuple[Any, ...]]
) -> None:
    funnel = _spec(
        events,
        "funnel",
        funnel_steps=((EventSelector("visit"),), (EventSelector("buy"),)),
        funnel_count=funnel_count,
    )
    assert _values(db, funnel) == expected


def test_unit_values__composites__combine_components(db: Database, events: str) -> None:
    buys = _spec(events, "event_count_custom", events=(EventSelector("buy"),))
    visits = _spec(events, "event_count_custom", events=(EventSelector("visit"),))
    ratio = _spec(events, "composite", components=(buys, visits))
    assert _values(db, ratio) == {"u1": (2, 2, 1), "u2": (1, 1, 1), "u3": (None, 1, 0)}
    total = _spec(events, "composite_sum", components=(buys, visits))
    assert {k: v[0] for k, v in _values(db, total).items()} == {"u1": 3, "u2": 2, "u3": 1}


CRITERIA = [
    (Criterion("value", "in", values=("10", "7")), {"u1", "u2"}),
    (Criterion("value", "not_in", values=("10",)), {"u1", "u2", "u3"}),
    (Criterion("value", "=", values=("5",)), {"u1"}),
    (Criterion("value", ">", values=("6",)), {"u1", "u2"}),
    (Criterion("value", "<", values=("6",)), {"u1", "u3"}),
    (Criterion("value", ">=", values=("7",)), {"u1", "u2"}),
    (Criterion("value", "<=", values=("3.5",)), {"u3"}),
    (Criterion("metadata", "is_null", column="note"), {"u1", "u3"}),
    (Criterion("metadata", "non_null", column="note"), {"u1", "u2"}),
    (Criterion("metadata", "contains", column="note", values=("sale",)), {"u1"}),
    (Criterion("metadata", "not_contains", column="note", values=("sale",)), {"u2"}),
    (Criterion("metadata", "is_true", column="flag"), {"u1"}),
    (Criterion("metadata", "is_false", column="flag"), {"u2"}),
    (Criterion("metadata", ">", column="size", values=("1.9",)), {"u1", "u2"}),
    (Criterion("user", "in", column="country", values=("US",)), {"u1"}),
    (Criterion("user_custom", "=", column="plan", values=("pro",)), {"u1", "u2"}),
    (
        Criterion("metadata", "not_contains", column="note", values=("sale",), null_passes=True),
        {"u1", "u2", "u3"},
    ),
]


def test_operators__every_condition__has_a_case() -> None:
    assert {c.condition for c, _ in CRITERIA} == set(OPERATORS)


@pytest.mark.parametrize(
    ("criterion", "units"), CRITERIA, ids=[f"{c.type}{c.condition}" for c, _ in CRITERIA]
)
def test_unit_values__criterion__filters_events(
    db: Database, events: str, criterion: Criterion, units: set[str]
) -> None:
    spec = _spec(
        events, "event_count_custom", events=(EventSelector("buy", criteria=(criterion,)),)
    )
    assert {u for u, (value, _, _) in _values(db, spec).items() if value} == units


def test_unit_values__unknown_condition__fails_closed(db: Database, events: str) -> None:
    spec = _spec(
        events,
        "event_count_custom",
        events=(EventSelector("buy", criteria=(Criterion("value", "sql_filter"),)),),
    )
    with pytest.raises(ValueError, match="unsupported condition 'sql_filter'"):
        unit_values_query(spec, T0, T0 + 1000, "userID")


def test_unit_values__custom_id_and_overall__units(db: Database, events: str) -> None:
    count = _spec(events, "event_count_custom", events=(EventSelector("buy"),))
    assert set(_values(db, count, "teamID")) == {"team_u1", "team_u2", "team_u3"}
    assert _values(db, count, literal("overall", String)) == {"overall": (4, None, None)}


def test_unit_values__since__only_listed_units_after_their_start(db: Database, events: str) -> None:
    since = union_all(
        select(literal("u1", String).label("unit_id"), literal(T0 + 3, Integer).label("start_ms")),
        select(literal("u2", String), literal(T0, Integer)),
    ).subquery()
    count = _spec(events, "event_count_custom", events=(EventSelector("buy"),))
    assert _values(db, count, since=since) == {"u1": (1, None, None), "u2": (1, None, None)}
