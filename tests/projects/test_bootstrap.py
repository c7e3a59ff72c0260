"""First-run bootstrap: one company, project and key set, however many processes start."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from lockgate.domains.projects.service import Bootstrap, bootstrap
from lockgate.kit.clock import ManualClock
from lockgate.kit.db import Database
from lockgate.storage.models import ApiKey, Company, Project


def test_bootstrap__second_starts_before_first_commits__creates_nothing(
    db: Database, clock: ManualClock
) -> None:
    # Given a bootstrap that has written but not committed
    first = db.session(write=True)
    assert bootstrap(first, clock.now_ms()) is not None
    outcome: list[Bootstrap | BaseException | None] = []

    def second() -> None:
        try:
            with db.transaction() as session:
                outcome.append(bootstrap(session, clock.now_ms()))
        except BaseException as problem:
            outcome.append(problem)

    # When a second process's bootstrap runs meanwhile, and the first then commits
    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=2)  # lets an unserialised bootstrap finish before the first commits
    first.commit()
    first.close()
    racer.join()

    # Then the second found the first's project and created nothing
    assert outcome == [None]
    with db.transaction(write=False) as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Company, Project)]
        keys = session.scalar(select(func.count()).select_from(ApiKey))
    assert counts == [1, 1] and keys == 3
