"""Ids are unique across the kinds that share an SDK payload map."""

from __future__ import annotations

import pytest

from tests.contract.client import ContractClient

AUTOTUNE = {
    "name": "shared_name",
    "variants": [{"name": "a", "json": {}}, {"name": "b", "json": {}}],
    "successEvent": "purchase",
    "explorationWindow": "24hr",
    "attributionWindow": "24hr",
    "winnerThreshold": "95%",
}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            ("/console/v1/gates", {"name": "shared_name"}),
            ("/console/v1/holdouts", {"name": "shared_name"}),
        ),
        (
            ("/console/v1/holdouts", {"name": "shared_name"}),
            ("/console/v1/gates", {"name": "shared_name"}),
        ),
        (
            ("/console/v1/dynamic_configs", {"name": "shared_name"}),
            ("/console/v1/experiments", {"name": "shared_name"}),
        ),
        (("/console/v1/experiments", {"name": "shared_name"}), ("/console/v1/autotunes", AUTOTUNE)),
        (
            ("/console/v1/autotunes", AUTOTUNE),
            ("/console/v1/dynamic_configs", {"name": "shared_name"}),
        ),
    ],
)
def test_create__id_taken_in_shared_payload_map__name_in_use(
    console: ContractClient,
    first: tuple[str, dict[str, object]],
    second: tuple[str, dict[str, object]],
) -> None:
    assert console.post(first[0], json=first[1]).status_code in (200, 201)
    response = console.post(second[0], json=second[1])
    assert response.json() == {"status": 400, "message": "Name is already in use"}
