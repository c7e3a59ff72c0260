"""Archiving a metric: scheduled for the next UTC day boundary, cancellable, reversible."""

from __future__ import annotations

from lockgate.kit.clock import ManualClock
from tests.contract.client import ContractClient
from tests.metrics.support import DAY0_MS, DAY_MS

BASE = "/console/v1/metrics"
METRIC = f"{BASE}/Checkouts::event_count_custom"


def _create(console: ContractClient) -> None:
    body = {"name": "Checkouts", "type": "event_count_custom", "metricEvents": [{"name": "c"}]}
    assert console.post(BASE, json=body).status_code == 201


def _listed(console: ContractClient, hidden: str = "false") -> list[str]:
    data = console.get(f"{BASE}/list?showHiddenMetrics={hidden}").json()["data"]
    return [m["id"] for m in data]


def test_schedule_archive__past_midnight__archived_and_hidden(
    console: ContractClient, clock: ManualClock
) -> None:
    _create(console)
    scheduled = console.put(f"{METRIC}/schedule_archive")
    assert scheduled.status_code == 200
    assert scheduled.json()["message"] == "Metric archive scheduled successfully for next day."
    assert scheduled.json()["data"]["scheduledArchiveTime"] == DAY0_MS + DAY_MS
    before = console.get(METRIC).json()["data"]
    assert (before["isArchived"], before["isHidden"]) == (False, False)
    assert before["scheduledArchiveTime"] == DAY0_MS + DAY_MS
    clock.advance(DAY0_MS + DAY_MS - clock.now_ms() - 1)
    assert console.get(METRIC).json()["data"]["isArchived"] is False
    clock.advance(1)
    after = console.get(METRIC).json()["data"]
    assert (after["isArchived"], after["isHidden"]) == (True, True)
    assert _listed(console) == [] and _listed(console, "true") == ["Checkouts::event_count_custom"]
    refused = console.post(METRIC, json={"description": "x"})
    assert refused.json()["message"] == (
        "Invalid request. Metric 'Checkouts::event_count_custom' is archived; unarchive it "
        "before it can be changed"
    )
    assert console.put(f"{METRIC}/cancel_archive").json()["message"] == (
        "Invalid request. Metric 'Checkouts::event_count_custom' is already archived; "
        "unarchive it instead"
    )
    unarchived = console.put(f"{METRIC}/unarchive")
    assert unarchived.json() == {"message": "Metric unarchived successfully."}
    restored = console.get(METRIC).json()["data"]
    assert restored["isArchived"] is False and "scheduledArchiveTime" not in restored
    assert _listed(console) == ["Checkouts::event_count_custom"]


def test_cancel_archive__before_midnight__never_archived(
    console: ContractClient, clock: ManualClock
) -> None:
    _create(console)
    console.put(f"{METRIC}/schedule_archive")
    again = console.put(f"{METRIC}/schedule_archive")
    assert again.json()["data"]["scheduledArchiveTime"] == DAY0_MS + DAY_MS
    cancelled = console.put(f"{METRIC}/cancel_archive")
    assert cancelled.json() == {"message": "Metric archival cancelled successfully."}
    clock.advance(2 * DAY_MS)
    assert console.get(METRIC).json()["data"]["isArchived"] is False
    # schedule, then cancel: two versions after the first
    assert console.get(METRIC).json()["data"]["version"] == 3


def test_archive_actions__wrong_state__400(console: ContractClient) -> None:
    _create(console)
    assert console.put(f"{METRIC}/cancel_archive").json()["message"] == (
        "Invalid request. Metric 'Checkouts::event_count_custom' has no scheduled archive to cancel"
    )
    assert console.put(f"{METRIC}/unarchive").json()["message"] == (
        "Invalid request. Metric 'Checkouts::event_count_custom' is not archived"
    )
    console.put(f"{METRIC}/schedule_archive")
    assert (
        console.put(f"{METRIC}/unarchive")
        .json()["message"]
        .startswith("Invalid request. Metric 'Checkouts::event_count_custom' is not archived yet")
    )
    for action in ("schedule_archive", "cancel_archive", "unarchive"):
        assert console.put(f"{BASE}/nope::sum/{action}").status_code == 404


def test_schedule_archive__permanent__400(console: ContractClient) -> None:
    body = {
        "name": "Checkouts",
        "type": "event_count_custom",
        "metricEvents": [{"name": "c"}],
        "isPermanent": True,
    }
    console.post(BASE, json=body)
    response = console.put(f"{METRIC}/schedule_archive")
    assert response.status_code == 400
    assert "is permanent" in response.json()["message"]
