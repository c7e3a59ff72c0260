"""``POST /metrics/{id}/reload``: Lockgate stores no daily values per metric (they are computed
on read), so a reload moves every acknowledged event into the indexed tables, so the values
read next count them, and records who asked; both kinds (``incremental``) do the same."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lockgate.domains.events import incoming
from lockgate.domains.projects.service import Bootstrap
from lockgate.kit.db import Database
from lockgate.storage.models import AuditLog
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, event, log_events

BASE = "/console/v1/metrics"
REVENUE = {
    "name": "Revenue",
    "type": "sum",
    "metricEvents": [{"name": "purchase", "type": "value"}],
}


def reload_audits(db: Database) -> list[tuple[str, str]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(AuditLog.entity_id, AuditLog.change_log)
            .where(AuditLog.action_type == "load_echidna_metric")
            .order_by(AuditLog.seq)
        )
        return [(entity_id, change_log) for entity_id, change_log in rows]


@pytest.mark.parametrize(
    ("query", "kind"),
    [("", "full"), ("?incremental=false", "full"), ("?incremental=true", "incremental")],
)
def test_reload__custom_metric__events_settled_audited_values_unchanged(
    console: ContractClient, project: Bootstrap, db: Database, query: str, kind: str
) -> None:
    # Given a metric and purchases the server acknowledged but has not moved yet
    assert console.post(BASE, json=REVENUE).status_code == 201
    log_events(console, project, [event("purchase", "u1", DAY0_MS + 5, 10)])
    with db.transaction(write=False) as session:
        assert incoming.pending(session)

    # When the metric is reloaded
    response = console.post(f"{BASE}/Revenue::sum/reload{query}")

    # Then the answer is the spec's, every acknowledged event is in the indexed tables, the
    # reload is in the audit log, and the values read count the purchase
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Metric data reloaded successfully."}
    with db.transaction(write=False) as session:
        assert not incoming.pending(session)
    assert reload_audits(db) == [("Revenue::sum", f"Reloaded metric data ({kind})")]
    values = console.get(BASE, params={"id": "Revenue::sum", "date": "2026-05-28"}).json()
    assert {row["unit_type"]: row["value"] for row in values["data"]} == {
        "overall": 10,
        "userID": 10,
    }


def test_reload__automatic_metric__200(console: ContractClient, project: Bootstrap) -> None:
    log_events(console, project, [event("purchase", "u1", DAY0_MS + 5, 10)])

    response = console.post(f"{BASE}/purchase::event_count/reload")

    assert response.status_code == 200, response.text


def test_reload__unknown_metric__404_nothing_audited(console: ContractClient, db: Database) -> None:
    response = console.post(f"{BASE}/Nope::sum/reload")

    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert reload_audits(db) == []


def test_reload__bad_incremental__400_nothing_audited(
    console: ContractClient, db: Database
) -> None:
    assert console.post(BASE, json=REVENUE).status_code == 201

    response = console.post(f"{BASE}/Revenue::sum/reload?incremental=yes")

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": 'Invalid request. incremental: must be "true" or "false", got \'yes\'',
        "errors": [
            {
                "property": "incremental",
                "in": "query",
                "message": 'must be "true" or "false", got \'yes\'',
            }
        ],
    }
    assert reload_audits(db) == []
