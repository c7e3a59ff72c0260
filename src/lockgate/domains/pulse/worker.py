"""The Pulse worker of a server process: daily scheduling plus the job queue."""

from __future__ import annotations

from lockgate.domains.pulse import metric_loads
from lockgate.domains.pulse.autotune import make_autotune_computation
from lockgate.domains.pulse.incremental.kept import forget_deleted
from lockgate.domains.pulse.jobs import JobRunner
from lockgate.domains.pulse.loads import make_experiment_computation
from lockgate.domains.pulse.monitoring import make_gate_rule_computation, make_holdout_computation
from lockgate.domains.pulse.service import schedule_daily
from lockgate.domains.pulse.warehouse_loads import OpenWarehouse
from lockgate.kit.clock import Clock
from lockgate.kit.db import Database

SCHEDULE_EVERY_MS = 60_000


class PulseWorker(JobRunner):
    """Marks abandoned loads failed (``JobRunner.reclaim_abandoned``), runs queued loads; at
    most once a minute, queues today's loads
    (``service.schedule_daily``) and forgets the kept values of entities that are gone
    (``incremental.kept.forget_deleted``)."""

    def __init__(self, database: Database, clock: Clock, *, stale_ms: int) -> None:
        super().__init__(database, clock, stale_ms=stale_ms)
        self._clock = clock
        self._database = database
        self._last_schedule_ms: int | None = None

    def run_pending(self) -> int:
        self.reclaim_abandoned()  # first, so the schedule queues their entities again
        now = self._clock.now_ms()
        if self._last_schedule_ms is None or now - self._last_schedule_ms >= SCHEDULE_EVERY_MS:
            self._last_schedule_ms = now
            schedule_daily(self._database, self._clock)
            with self._database.transaction(write=True) as session:
                forget_deleted(session)
        return self._run_queue()


def pulse_worker(
    database: Database,
    clock: Clock,
    *,
    stale_ms: int,
    open_warehouse: OpenWarehouse | None = None,
) -> PulseWorker:
    """The worker; ``open_warehouse`` opens a project's warehouse for the loads of experiments
    bound to an assignment source (``warehouse_loads``)."""
    worker = PulseWorker(database, clock, stale_ms=stale_ms)
    worker.register("experiment", make_experiment_computation(clock, open_warehouse))
    worker.register("gate_rule", make_gate_rule_computation(clock))
    worker.register("holdout", make_holdout_computation(clock))
    worker.register("autotune", make_autotune_computation(clock))
    worker.register(
        metric_loads.ENTITY, metric_loads.make_metric_computation(clock, open_warehouse)
    )
    return worker
