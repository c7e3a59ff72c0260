"""The page cache a Pulse load gives its temporary tables on SQLite while it computes, and gives
back afterwards (``kit.db.analysis_cache``); PostgreSQL's settings are left alone."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lockgate.domains.projects.service import Bootstrap
from lockgate.domains.pulse.engine import compute_group_sums, experiment_assignment
from lockgate.kit.db import ANALYSIS_TEMP_CACHE_KIB, Database

SPEC = experiment_assignment(
    {
        "id": "exp",
        "groups": [{"id": "rule_a", "name": "Control"}, {"id": "rule_b", "name": "Test"}],
    },
    1_780_000_000_000,
)


def _setting(session: Session, sqlite: bool) -> str:
    statement = "PRAGMA temp.cache_size" if sqlite else "SHOW temp_buffers"
    return str(session.connection().exec_driver_sql(statement).scalar())


def test_compute_group_sums__while_computing__temp_cache_raised_on_sqlite_then_restored(
    db: Database, project: Bootstrap
) -> None:
    # Given a session's setting before the load
    seen: list[str] = []
    with db.transaction(write=False) as session:
        before = _setting(session, db.is_sqlite)

        # When a load computes, reading the setting at each progress report
        def progress(_percent: int, _message: str) -> None:
            seen.append(_setting(session, db.is_sqlite))

        result = compute_group_sums(session, project.project.id, SPEC, [], progress)
        after = _setting(session, db.is_sqlite)

    # Then SQLite's temporary tables had the larger cache while it ran, and the connection has
    # its own again afterwards; PostgreSQL's never changed
    assert result["units"] == {} and seen
    during = str(-ANALYSIS_TEMP_CACHE_KIB) if db.is_sqlite else before
    assert set(seen) == {during}
    assert after == before != str(-ANALYSIS_TEMP_CACHE_KIB)
