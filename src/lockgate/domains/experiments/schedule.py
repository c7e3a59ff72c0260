"""Scheduled experiment starts: a server process checks at an interval for experiments whose
``scheduledTime`` has come and starts them (docs/console.md §Experiment lifecycle).

Every process may run the check against one database: each start locks the experiment's row
and re-reads its status, so only one process starts it.
"""

from __future__ import annotations

import logging

from lockgate.domains.experiments import lifecycle, repository
from lockgate.domains.experiments.documents import SETUP
from lockgate.domains.projects.service import SYSTEM_ACTOR
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database

logger = logging.getLogger(__name__)


class ScheduledStarts:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def run_once(self) -> int:
        """Start every experiment whose scheduled start has come; returns how many this
        process started."""
        now_ms = self._clock.now_ms()
        with self._database.transaction(write=False) as session:
            due = repository.scheduled_starts_due(session, SETUP, now_ms)
        started = 0
        for project_id, experiment_id in due:
            change = Change(project_id, SYSTEM_ACTOR, now_ms)
            try:
                with self._database.transaction(write=True) as session:
                    started += lifecycle.start_scheduled(session, change, experiment_id)
            except InvalidInput as refused:
                # What a manual start would have answered with a 400 (a layer without room,
                # say): the start will not happen by itself, so the schedule goes.
                logger.warning(
                    "scheduled start of experiment %s (project %s) failed: %s",
                    experiment_id,
                    project_id,
                    refused.message,
                )
                with self._database.transaction(write=True) as session:
                    lifecycle.drop_schedule(session, change, experiment_id, refused.message)
        return started
