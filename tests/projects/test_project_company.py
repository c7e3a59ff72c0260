"""``/project`` and ``/company``."""

from __future__ import annotations

from lockgate.domains.projects.service import Bootstrap
from tests.contract.client import ContractClient


def test_project__bootstrapped__returns_its_id(console: ContractClient, project: Bootstrap) -> None:
    response = console.get("/console/v1/project")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == project.project.id


def test_company__bootstrapped__not_warehouse_native(console: ContractClient) -> None:
    data = console.get("/console/v1/company").json()["data"]
    assert data["companyName"] == "Lockgate" and data["isWarehouseNative"] is False
