"""Writers of several processes take turns on a SQLite file through a kernel file lock
(``Database.writer_turn``), each starting as soon as the previous one is done."""

from __future__ import annotations

import threading

import pytest

from lockgate.kit.db import Database

pytestmark = pytest.mark.sqlite_only


def test_writer_turn__taken__next_waits_until_released(db: Database) -> None:
    # Given a writer holding its turn
    order: list[str] = []
    second_waiting = threading.Event()

    def second() -> None:
        second_waiting.set()
        with db.writer_turn():
            order.append("second")

    with db.writer_turn():
        thread = threading.Thread(target=second)
        thread.start()
        second_waiting.wait()
        # When another thread asks for a turn meanwhile
        thread.join(timeout=0.5)
        # Then it waits while the first holds its turn
        assert thread.is_alive()
        order.append("first")
    # and takes its turn once the first is done
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert order == ["first", "second"]
